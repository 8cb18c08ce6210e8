// The in-process event hub: rooms, their recent history, and the subscribers listening to them.
// Modules publish through core's EventSink ("user:alice", "upload_progress", {...}); doors (SSE now,
// Socket.IO later) subscribe a client to a set of rooms.
//
// Ids and resuming. Every event gets the next number of one hub-wide sequence (`seq`, from 1), and
// its id is "<epoch>-<seq>" where the epoch is random per Hub, i.e. per server start. Each room keeps
// its last `history_size` events and a floor: every event of that room with a higher seq is still
// in its history. A client that reconnects with Last-Event-ID "<epoch>-<S>" is resumed exactly when
// the epoch is this hub's, S is not ahead of the hub, and S >= the floor of each room it asks for:
// it then gets, in seq order, every event of those rooms after S, and nothing twice, whichever
// subset of the rooms the events came from. Otherwise the subscription starts with Start::reset:
// an id from before a restart (another epoch), a malformed one, or one older than what is kept.
// Rooms not present have a floor too (`forgotten_`): every event of a room the hub dropped had a
// seq at or below it, so a room that is new again resumes exactly from any S at or above it.
//
// Memory follows activity: sweep() drops rooms with no subscribers whose last event is older than
// `room_ttl`. Subscribers' queues are bounded (see Subscriber).
//
// Threads: publish(), subscribe(), sweep() and close() may be called from any thread. One mutex
// guards the rooms; it is held for a room's bookkeeping and for handing the event to that room's
// subscribers (a queue push each), never while waiting on a listener. (Issue 5 shards subscribers
// per thread for 10k connections; the interface stays.)
//
// Example:
//   Hub hub({.history_size = 100}, clock, &metrics);
//   auto subscriber = hub.subscribe(executor, {"user:alice"}, request.header("Last-Event-ID"));
//   auto batch = co_await subscriber->next(std::chrono::steady_clock::now() + 15s);
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "core/clock.hpp"
#include "core/events.hpp"
#include "core/metrics.hpp"
#include "realtime/event.hpp"
#include "realtime/subscriber.hpp"

namespace onda::realtime {

struct HubOptions {
    std::size_t history_size = 100;      // events kept per room for resuming
    std::size_t max_backlog = 1024;      // events waiting per subscriber before it is ended
    std::chrono::seconds room_ttl{600};  // an unwatched room is dropped this long after its last event
    std::string epoch;                   // empty: random (tests pass one to play a restart)
};

class Hub final : public EventSink {
public:
    // `clock` (and `metrics`, when given) must outlive the hub; so must every subscriber's executor.
    Hub(HubOptions options, Clock const& clock, MetricsRegistry* metrics = nullptr);
    ~Hub() override;  // every subscriber must be gone by then
    Hub(Hub const&) = delete;
    Hub& operator=(Hub const&) = delete;

    // EventSink: serialises `data` once and offers the event to the room's subscribers.
    void publish(std::string_view room, std::string_view event, boost::json::object data) override;

    // Subscribes to `rooms` (duplicates ignored), resuming after `last_event_id` when it is not
    // empty (see above). `executor` is where the subscriber's next() runs. After close() the
    // subscriber is born ended.
    std::shared_ptr<Subscriber> subscribe(net::any_io_executor executor, std::vector<std::string> rooms,
                                          std::string_view last_event_id = {});

    // Adds a room to (or removes one from) a subscription, for doors whose clients join and leave
    // rooms as they go (Socket.IO). Joining answers with what the room kept and how many subscribers
    // it has now (this one included): events published after the join reach the subscriber, those
    // before it are in `history`, none in both. Call on the subscriber's executor.
    struct Joined {
        std::vector<EventPtr> history;  // oldest first
        std::size_t subscribers = 0;
    };
    Joined add_room(Subscriber& subscriber, std::string const& room);
    void remove_room(Subscriber& subscriber, std::string const& room);

    // Ends every subscription now and every later one at birth (shutdown: an open event stream must
    // not hold up the server's drain). Events already queued are still handed out.
    void close();
    bool is_closed() const;

    // Drops unwatched, idle rooms; returns how many. Call periodically (e.g. every minute).
    std::size_t sweep();

    std::string const& epoch() const { return epoch_; }
    // The id of the last event published, or "<epoch>-0" before the first.
    std::string position() const;

private:
    friend class Subscriber;
    struct Room {
        std::deque<EventPtr> history;
        std::uint64_t floor = 0;  // every event of this room with seq > floor is in `history`
        std::vector<Subscriber*> subscribers;
        SystemTime last_active{};  // last event, or last subscriber leaving
    };
    struct Metrics {
        Counter* published;
        Counter* overflows;
        Gauge* subscribers;
        Gauge* rooms;
        Gauge* queued;  // events waiting in subscriber queues, all together
    };

    void leave(Subscriber& subscriber);  // from ~Subscriber
    // With mutex_ held: whether every event of `rooms` after `seq` is still kept.
    bool can_resume_locked(std::vector<std::string> const& rooms, std::uint64_t seq) const;
    Room& room_locked(std::string const& name);

    HubOptions options_;
    Clock const& clock_;
    std::unique_ptr<MetricsRegistry> own_metrics_;  // when the caller passes none
    Metrics metrics_;
    std::string epoch_;

    mutable std::mutex mutex_;  // guards what follows
    std::map<std::string, Room, std::less<>> rooms_;
    std::unordered_set<Subscriber*> subscribers_;
    std::uint64_t seq_ = 0;
    std::uint64_t forgotten_ = 0;  // every event of a room not in rooms_ has seq <= forgotten_
    bool closed_ = false;
};

}  // namespace onda::realtime
