// A subscriber: one client's view of the hub, whatever door it came through. Made by
// Hub::subscribe; leaves its rooms in its destructor. Events reach it in one of two ways:
//   - a queue that next() empties (the SSE door): at most `max_backlog` events wait beyond what the
//     subscription replayed at its start; one more ends the subscriber (End::overflow) and drops its
//     queue (STYLE.md "realtime outbox"); the client reconnects with its Last-Event-ID;
//   - a Sink (the Socket.IO door) that is handed each event as it arrives and queues it in the
//     connection's own bounded send queue.
//
// Threads: a subscriber belongs to the thread that runs its executor (a single-threaded io_context,
// as every server thread is). The hub delivers there: a publish posts the event once to each thread
// with subscribers in the room, and that thread's shard offers it to its subscribers, so nothing here
// is locked. Make it, use it and release it on that thread (or while no thread runs the executor);
// end_reason() alone may be read from anywhere.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/task.hpp"
#include "realtime/event.hpp"

namespace onda::realtime {

class Hub;
namespace detail {
class HubShard;
}

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

    // Takes events as they arrive, on the subscriber's thread. on_end is called once, when the hub
    // closes (End::closed); a sink is never told about overflow (it bounds its own queue) or stop().
    class Sink {
    public:
        virtual ~Sink() = default;
        virtual void on_event(EventPtr const& event) = 0;
        virtual void on_end(End why) = 0;
    };

    ~Subscriber();  // leaves its rooms
    Subscriber(Subscriber const&) = delete;
    Subscriber& operator=(Subscriber const&) = delete;

    // Waits until events are queued, the subscriber ends, or `deadline`; takes everything queued.
    // One next() at a time; not with a sink.
    Task<Batch> next(std::chrono::steady_clock::time_point deadline);

    // From now on events go to `sink` (which must outlive the subscriber or be reset with nullptr),
    // starting with what is queued. A subscriber ended already tells the sink at once.
    void set_sink(Sink* sink);

    // Ends the subscription from the door's side (its client left): a waiting next() returns
    // `ended` at once.
    void stop() { end(End::stopped); }

    Start start() const { return start_; }
    // The hub position when the subscription began ("<epoch>-<seq>"): a client that stores it as its
    // Last-Event-ID misses nothing published afterwards.
    std::string const& position() const { return position_; }
    std::vector<std::string> const& rooms() const { return rooms_; }
    // Who this is for presence (a user id), or "" for an anonymous client.
    std::string const& member() const { return member_; }
    End end_reason() const { return end_.load(std::memory_order_acquire); }

private:
    friend class Hub;
    friend class detail::HubShard;
    Subscriber(Hub& hub, std::vector<std::string> rooms, std::size_t max_backlog, std::string member);

    // On the subscriber's thread, from its shard. Touches nothing after handing the event to a sink
    // (the sink may release the subscriber).
    void offer(EventPtr const& event);
    void end(End why);
    void wake();

    Hub& hub_;
    std::shared_ptr<detail::HubShard> shard_;  // this thread's (its executor is the subscriber's); set by the hub
    std::vector<std::string> rooms_;           // sorted, distinct
    std::string member_;
    std::size_t limit_;  // max_backlog plus what was replayed at the start
    Start start_ = Start::fresh;
    std::string position_;

    std::vector<EventPtr> queue_;
    Sink* sink_ = nullptr;
    // Made by the first next() that waits; by pointer, so a Socket.IO subscriber (a sink, never
    // waiting) keeps no room for it.
    std::unique_ptr<net::steady_timer> timer_;
    bool waiting_ = false;
    std::atomic<End> end_{End::none};
};

}  // namespace onda::realtime
