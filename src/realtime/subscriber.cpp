#include "realtime/subscriber.hpp"

#include "realtime/detail/hub_shard.hpp"
#include "realtime/hub.hpp"

namespace onda::realtime {

Subscriber::Subscriber(Hub& hub, std::vector<std::string> rooms, std::size_t max_backlog, std::string member)
    : hub_(hub), rooms_(std::move(rooms)), member_(std::move(member)), limit_(max_backlog) {}

Subscriber::~Subscriber() {
    hub_.leave(*this);
    hub_.metrics_.queued->add(-static_cast<std::int64_t>(queue_.size()));
}

void Subscriber::offer(EventPtr const& event) {
    if (end_reason() != End::none) return;
    if (sink_) return sink_->on_event(event);  // last: the sink may release this subscriber
    if (!event->except.empty()) return;        // for Socket.IO sinks only (Event::except): never queued
    if (queue_.size() >= limit_) {
        // Too slow: cut loose rather than grow. Dropping the queue frees its memory now; the client
        // resumes from the room histories when it reconnects.
        end_.store(End::overflow, std::memory_order_release);
        hub_.metrics_.overflows->add();
        hub_.metrics_.queued->add(-static_cast<std::int64_t>(queue_.size()));
        queue_.clear();
        queue_.shrink_to_fit();
        wake();
        return;
    }
    queue_.push_back(event);
    hub_.metrics_.queued->add(1);
    wake();
}

void Subscriber::end(End why) {
    if (end_reason() != End::none) return;
    end_.store(why, std::memory_order_release);
    if (sink_) {
        if (why == End::closed) sink_->on_end(why);  // last: the sink may release this subscriber
        return;
    }
    wake();
}

void Subscriber::wake() {
    if (waiting_ && timer_) timer_->cancel();  // ends the wait in next(); it looks again
}

void Subscriber::set_sink(Sink* sink) {
    sink_ = sink;
    if (!sink_) return;
    auto queued = std::move(queue_);
    queue_.clear();
    hub_.metrics_.queued->add(-static_cast<std::int64_t>(queued.size()));
    auto const self = shared_from_this();  // the sink may release it while handling these
    for (auto const& event : queued) {
        if (sink_ != sink) return;
        sink->on_event(event);
    }
    if (end_reason() == End::closed && sink_ == sink) sink->on_end(End::closed);
}

Task<Subscriber::Batch> Subscriber::next(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        waiting_ = false;
        Batch batch;
        if (!queue_.empty()) {
            hub_.metrics_.queued->add(-static_cast<std::int64_t>(queue_.size()));
            batch.events.swap(queue_);
            co_return batch;
        }
        if (end_reason() != End::none) {
            batch.ended = true;
            co_return batch;
        }
        if (std::chrono::steady_clock::now() >= deadline) co_return batch;
        if (!timer_) timer_ = std::make_unique<net::steady_timer>(shard_->executor());
        waiting_ = true;
        // Ends at the deadline, or earlier when an offer or the end cancels it; either way look again.
        timer_->expires_at(deadline);
        co_await timer_->async_wait(use_result);
    }
}

}  // namespace onda::realtime
