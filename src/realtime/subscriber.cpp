#include "realtime/subscriber.hpp"

#include <boost/asio/post.hpp>

#include "realtime/hub.hpp"

namespace onda::realtime {

Subscriber::Subscriber(Hub& hub, net::any_io_executor executor, std::vector<std::string> rooms, std::size_t max_backlog)
    : hub_(hub), executor_(std::move(executor)), rooms_(std::move(rooms)), limit_(max_backlog), timer_(executor_) {}

Subscriber::~Subscriber() {
    hub_.leave(*this);
    std::lock_guard lock(mutex_);
    hub_.metrics_.queued->add(-static_cast<std::int64_t>(queue_.size()));
}

Subscriber::End Subscriber::end_reason() const {
    std::lock_guard lock(mutex_);
    return end_;
}

void Subscriber::offer(EventPtr event) {
    std::lock_guard lock(mutex_);
    if (end_ != End::none) return;
    if (queue_.size() >= limit_) {
        // Too slow: cut loose rather than grow. Dropping the queue frees its memory now; the client
        // resumes from the room histories when it reconnects.
        end_ = End::overflow;
        hub_.metrics_.overflows->add();
        hub_.metrics_.queued->add(-static_cast<std::int64_t>(queue_.size()));
        queue_.clear();
        queue_.shrink_to_fit();
        wake_locked();
        return;
    }
    queue_.push_back(std::move(event));
    hub_.metrics_.queued->add(1);
    wake_locked();
}

void Subscriber::end(End why) {
    std::lock_guard lock(mutex_);
    if (end_ != End::none) return;
    end_ = why;
    wake_locked();
}

void Subscriber::wake_locked() {
    if (!waiting_ || wake_posted_) return;
    wake_posted_ = true;
    // A weak pointer: a wake-up that arrives after the subscriber is gone does nothing. (Called
    // with the hub's lock held, so the subscriber cannot finish leaving meanwhile.)
    net::post(executor_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->on_wake();
    });
}

void Subscriber::on_wake() {
    {
        std::lock_guard lock(mutex_);
        wake_posted_ = false;
    }
    timer_.cancel();  // ends a pending wait in next(); without one it does nothing
}

Task<Subscriber::Batch> Subscriber::next(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            waiting_ = false;
            Batch batch;
            if (!queue_.empty()) {
                hub_.metrics_.queued->add(-static_cast<std::int64_t>(queue_.size()));
                batch.events.swap(queue_);
            } else if (end_ != End::none) {
                batch.ended = true;
            } else if (std::chrono::steady_clock::now() < deadline) {
                waiting_ = true;
            }
            if (!waiting_) co_return batch;
        }
        // Ends at the deadline, or earlier when on_wake() cancels it; either way look again (a
        // wake-up meant for an earlier wait can end this one early, which the loop absorbs).
        timer_.expires_at(deadline);
        co_await timer_.async_wait(use_result);
    }
}

}  // namespace onda::realtime
