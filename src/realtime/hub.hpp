// The in-process event hub: rooms, their recent history, who is in them, and the subscribers
// listening. Modules publish through core's EventSink ("user:alice", "upload_progress", {...});
// doors (SSE, Socket.IO) subscribe a client to a set of rooms.
//
// Publishing. publish() serialises the payload and hands it to the Broker (in-process: straight
// back; Redis later: to every node). The hub then numbers the event under its lock (a hub-wide seq
// and the room's own offset, both monotonic), keeps it in the room's history, and posts it, once,
// to each thread that has subscribers in the room (detail/hub_shard.hpp), still under the lock, so
// every thread receives events in seq order. The delivery to the sockets happens on those threads
// with no lock at all; the one lock covers O(1) bookkeeping and one post per thread per event.
// Each door's encoding of the event is made once and shared (Event::socketio_frame, sse_text).
//
// Ids and resuming. An event's id is "<epoch>-<seq>" where the epoch is random per Hub, i.e. per
// server start. Each room keeps its history (by count and age: HistoryLimits) and a floor: every
// event of that room with a higher seq is still kept. A client that reconnects with Last-Event-ID
// "<epoch>-<S>" is resumed exactly when the epoch is this hub's, S is not ahead of the hub, and S >=
// the floor of each room it asks for: it then gets, in seq order, every event of those rooms after
// S, and nothing twice. Otherwise the subscription starts with Start::reset: an id from before a
// restart, a malformed one, or one older than what is kept. Rooms not present have a floor too
// (`forgotten_`), so a room that is new again resumes exactly from any S at or above it.
//
// Presence: each room counts its subscribers and, by user, its members (Subscriber::member()).
//
// Memory follows activity: sweep() drops rooms with no subscribers whose last event is older than
// `room_ttl`, and expires old history everywhere. Subscribers' queues are bounded (see Subscriber).
//
// Threads: publish(), close(), sweep(), presence() and position() from any thread. subscribe(),
// add_room(), remove_room() and releasing a subscriber on the subscriber's thread.
//
// Example:
//   Hub hub({.history = {.fallback = {.size = 100, .max_age = 300s}}}, clock, &metrics);
//   auto subscriber = hub.subscribe(executor, {"user:alice"}, request.header("Last-Event-ID"));
//   auto batch = co_await subscriber->next(std::chrono::steady_clock::now() + 15s);
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "core/clock.hpp"
#include "core/events.hpp"
#include "core/metrics.hpp"
#include "realtime/broker.hpp"
#include "realtime/event.hpp"
#include "realtime/history.hpp"
#include "realtime/subscriber.hpp"

namespace onda::realtime {

namespace detail {
class HubShard;
}

struct HubOptions {
    HistoryLimits history;               // events kept per room, by room kind
    std::size_t max_backlog = 1024;      // events waiting per queued subscriber before it is ended
    std::chrono::seconds room_ttl{600};  // an unwatched room is dropped this long after its last event
    std::string epoch;                   // empty: random (tests pass one to play a restart)
};

// Who is in a room now.
struct Presence {
    std::size_t subscribers = 0;       // every subscriber, anonymous ones included
    std::vector<std::string> members;  // the distinct users among them, sorted
};

class Hub final : public EventSink {
public:
    // `clock` (and `metrics`, when given; and `broker`, when given) must outlive the hub; so must
    // every subscriber's executor. Without a broker the hub is a single node.
    Hub(HubOptions options, Clock const& clock, MetricsRegistry* metrics = nullptr, Broker* broker = nullptr);
    ~Hub() override;  // every subscriber must be gone by then
    Hub(Hub const&) = delete;
    Hub& operator=(Hub const&) = delete;

    // EventSink: serialises `data` once and sends the event through the broker to the room.
    void publish(std::string_view room, std::string_view event, boost::json::object data) override;
    // The same, to every Socket.IO socket in the room but `except` (a socket id), and nowhere else:
    // not kept in the room's history, not on SSE (Event::except).
    void publish_except(std::string_view room, std::string_view event, boost::json::object data,
                        std::string_view except);

    // Subscribes to `rooms` (duplicates ignored), resuming after `last_event_id` when it is not
    // empty (see above). `executor` is the subscriber's thread. `member` is who it is for presence
    // (a user id; "" anonymous). After close() the subscriber is born ended.
    std::shared_ptr<Subscriber> subscribe(net::any_io_executor executor, std::vector<std::string> rooms,
                                          std::string_view last_event_id = {}, std::string member = {});

    // Adds a room to (or removes one from) a subscription, for doors whose clients join and leave
    // rooms as they go (Socket.IO). Joining answers with what the room kept and who is in it now
    // (this one included): events published after the join reach the subscriber, those before it
    // are in `history`, none in both.
    struct Joined {
        std::vector<EventPtr> history;  // oldest first
        std::size_t subscribers = 0;
        std::size_t members = 0;  // distinct users
    };
    Joined add_room(Subscriber& subscriber, std::string const& room);
    void remove_room(Subscriber& subscriber, std::string const& room);

    Presence presence(std::string_view room) const;

    // Ends every subscription now and every later one at birth (shutdown: an open event stream must
    // not hold up the server's drain). Events already queued are still handed out.
    void close();
    bool is_closed() const;

    // Drops unwatched, idle rooms and expires old history; returns how many rooms went. Call
    // periodically (e.g. every minute).
    std::size_t sweep();

    std::string const& epoch() const { return epoch_; }
    // The id of the last event published, or "<epoch>-0" before the first.
    std::string position() const;

private:
    friend class Subscriber;
    struct Room {
        Room(HistoryLimit limit, std::uint64_t floor) : history(limit, floor) {}
        RoomHistory history;
        std::uint64_t offset = 0;  // of the room's last event
        // Threads with subscribers here, and how many each: a publish posts to these.
        std::vector<std::pair<std::shared_ptr<detail::HubShard>, std::size_t>> shards;
        std::size_t subscribers = 0;
        std::map<std::string, std::size_t, std::less<>> members;  // user -> subscribers
        SystemTime last_active{};                                 // last event, or last subscriber leaving
    };
    struct Metrics {
        Counter* published;
        Counter* overflows;
        Gauge* subscribers;
        Gauge* rooms;
        Gauge* queued;  // events waiting in subscriber queues, all together
    };

    // From the broker: numbers, keeps and posts the event.
    void deliver(std::string_view room, std::string_view event, std::string data, std::string_view except);
    void leave(Subscriber& subscriber);  // from ~Subscriber
    // With mutex_ held.
    bool can_resume_locked(std::vector<std::string> const& rooms, std::uint64_t seq);
    Room& room_locked(std::string const& name);
    std::shared_ptr<detail::HubShard> shard_locked(net::any_io_executor const& executor);
    void enter_locked(Room& room, Subscriber& subscriber);
    void exit_locked(Room& room, Subscriber& subscriber, SystemTime now);

    HubOptions options_;
    Clock const& clock_;
    std::unique_ptr<MetricsRegistry> own_metrics_;  // when the caller passes none
    Metrics metrics_;
    std::string epoch_;
    InProcessBroker own_broker_;  // when the caller passes none
    Broker& broker_;

    mutable std::mutex mutex_;  // guards what follows
    std::map<std::string, Room, std::less<>> rooms_;
    std::vector<std::shared_ptr<detail::HubShard>> shards_;
    std::size_t subscribers_ = 0;  // alive; none may be left when the hub goes
    std::uint64_t seq_ = 0;
    std::uint64_t forgotten_ = 0;  // every event of a room not in rooms_ has seq <= forgotten_
    bool closed_ = false;
};

}  // namespace onda::realtime
