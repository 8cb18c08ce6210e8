// A subscriber: one client's view of the hub, whatever door it came through (SSE now, Socket.IO
// later). It holds a bounded queue of events for its rooms and a way to wait for them on its own
// executor. Made by Hub::subscribe; leaving the rooms happens in the destructor.
//
// Threads: the hub offers events from any thread (under its lock); next() and the destructor run
// on the subscriber's executor, which must be single-threaded (an io_context run by one thread, as
// every server thread is, or a strand). A waiting next() is woken by a post to that executor: the
// timer it waits on is only ever touched there.
//
// Backpressure (STYLE.md "realtime outbox"): at most `max_backlog` events wait beyond what the
// subscription replayed at its start; one more ends the subscriber (`End::overflow`) and drops its
// queue. The client reconnects with its Last-Event-ID and resumes from the room histories.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/task.hpp"
#include "realtime/event.hpp"

namespace onda::realtime {

class Hub;

class Subscriber : public std::enable_shared_from_this<Subscriber> {
public:
    // How the subscription began, given the client's Last-Event-ID.
    enum class Start {
        fresh,    // no Last-Event-ID: live events from now on
        resumed,  // every event after the Last-Event-ID was still kept and is queued first
        reset,    // the id is unknown (another epoch, malformed, or older than what is kept)
    };
    enum class End { none, closed, overflow, stopped };

    // What next() returns: events in publication order, or none when the deadline passed, or
    // `ended` once the subscriber is over and its queue is empty.
    struct Batch {
        std::vector<EventPtr> events;
        bool ended = false;
    };

    ~Subscriber();  // leaves its rooms; on the subscriber's executor
    Subscriber(Subscriber const&) = delete;
    Subscriber& operator=(Subscriber const&) = delete;

    // Waits until events are queued, the subscriber ends, or `deadline`; takes everything queued.
    // One next() at a time.
    Task<Batch> next(std::chrono::steady_clock::time_point deadline);

    // Ends the subscription from the door's side (its client left): a waiting next() returns
    // `ended` at once. On the subscriber's executor.
    void stop() { end(End::stopped); }

    Start start() const { return start_; }
    // The hub position when the subscription began ("<epoch>-<seq>"): a client that stores it as its
    // Last-Event-ID misses nothing published afterwards.
    std::string const& position() const { return position_; }
    std::vector<std::string> const& rooms() const { return rooms_; }
    End end_reason() const;

private:
    friend class Hub;
    Subscriber(Hub& hub, net::any_io_executor executor, std::vector<std::string> rooms, std::size_t max_backlog);

    // Called by the hub with its lock held, from any thread.
    void offer(EventPtr event);
    void end(End why);
    void wake_locked();  // with mutex_ held: posts a wake-up if next() is waiting
    void on_wake();      // on the executor

    Hub& hub_;
    net::any_io_executor executor_;
    std::vector<std::string> rooms_;  // sorted, distinct
    std::size_t limit_;               // max_backlog plus what was replayed at the start
    Start start_ = Start::fresh;
    std::string position_;
    net::steady_timer timer_;  // executor only

    mutable std::mutex mutex_;  // guards what follows
    std::vector<EventPtr> queue_;
    End end_ = End::none;
    bool waiting_ = false;
    bool wake_posted_ = false;
};

}  // namespace onda::realtime
