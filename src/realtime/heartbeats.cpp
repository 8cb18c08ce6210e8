#include "realtime/heartbeats.hpp"

#include <algorithm>

namespace onda::realtime {

Heartbeats::Heartbeats(net::any_io_executor executor, EngineOptions const& options)
    : timer_(std::move(executor)), options_(options) {}

Heartbeats::~Heartbeats() {
    // Only at shutdown can sessions still be listed (the timer's wait owns this object while any is):
    // let them go with their thread. Each is unlisted first, so its destructor finds no Heartbeats.
    for (List* list : {&due_ping_, &due_pong_}) {
        while (!list->empty()) {
            EngineIoSession& session = list->front();
            list->pop_front();
            session.heartbeats_ = nullptr;
            auto keep_alive = std::move(session.keep_alive_);
        }
    }
}

void Heartbeats::join(EngineIoSession& session) {
    session.heartbeats_ = this;
    append(due_ping_, session, Clock::now() + options_.ping_interval);
}

void Heartbeats::ponged(EngineIoSession& session) {
    unlink(session);
    append(due_ping_, session, Clock::now() + options_.ping_interval);
}

void Heartbeats::leave(EngineIoSession& session) {
    unlink(session);
    session.heartbeats_ = nullptr;
    // The last one gone: end the wait now rather than at its deadline, so the thread can finish.
    if (size() == 0 && waiting_) timer_.cancel();
}

void Heartbeats::unlink(EngineIoSession& session) {
    if (!session.heartbeat_hook_.is_linked()) return;
    List& list = session.awaiting_pong_ ? due_pong_ : due_ping_;
    list.erase(list.iterator_to(session));
}

void Heartbeats::append(List& list, EngineIoSession& session, Clock::time_point deadline) {
    session.heartbeat_deadline_ = deadline;
    list.push_back(session);
    arm();
}

void Heartbeats::arm() {
    if (due_ping_.empty() && due_pong_.empty()) return;  // the pending wait, if any, ends and lets go
    auto earliest = Clock::time_point::max();
    if (!due_ping_.empty()) earliest = due_ping_.front().heartbeat_deadline_;
    if (!due_pong_.empty()) earliest = std::min(earliest, due_pong_.front().heartbeat_deadline_);
    if (waiting_) {
        // A deadline earlier than the wait's (only when the timeout exceeds the interval): the
        // cancelled wait comes back at once and arms again for it.
        if (earliest < armed_for_) timer_.cancel();
        return;
    }
    waiting_ = true;
    armed_for_ = earliest;
    timer_.expires_at(earliest);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code) { self->fire(); });
}

void Heartbeats::fire() {
    waiting_ = false;
    auto const now = Clock::now();
    // A pong that is late closes its session; each step takes the session off the list first, so
    // what it triggers (closing, the listener's reaction) may touch the lists freely.
    while (!due_pong_.empty() && due_pong_.front().heartbeat_deadline_ <= now) {
        EngineIoSession& session = due_pong_.front();
        due_pong_.pop_front();
        session.heartbeats_ = nullptr;
        session.close(CloseReason::ping_timeout);
    }
    while (!due_ping_.empty() && due_ping_.front().heartbeat_deadline_ <= now) {
        EngineIoSession& session = due_ping_.front();
        due_ping_.pop_front();
        session.awaiting_pong_ = true;
        session.heartbeat_deadline_ = now + options_.ping_timeout;
        due_pong_.push_back(session);
        // A ping that overflows the queue closes the session (slow_consumer), which unlists it.
        session.send_ping();
    }
    arm();
}

}  // namespace onda::realtime
