#include "realtime/hub.hpp"

#include <algorithm>
#include <array>

#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "realtime/detail/hub_shard.hpp"

namespace onda::realtime {
namespace {

// 12 hex digits (48 random bits): two server starts sharing an epoch is not a practical concern.
std::string random_epoch() {
    std::array<unsigned char, 6> bytes{};
    random_bytes(bytes);
    std::string epoch;
    for (unsigned char b : bytes) epoch += fmt::format("{:02x}", b);
    return epoch;
}

}  // namespace

Hub::Hub(HubOptions options, Clock const& clock, MetricsRegistry* metrics, Broker* broker)
    : options_(std::move(options)),
      clock_(clock),
      epoch_(options_.epoch.empty() ? random_epoch() : options_.epoch),
      broker_(broker ? *broker : own_broker_) {
    ONDA_ASSERT(parse_event_id(format_event_id(epoch_, 0)), "an epoch is 1 to 32 of [0-9a-z]");
    if (!metrics) {
        own_metrics_ = std::make_unique<MetricsRegistry>();
        metrics = own_metrics_.get();
    }
    metrics_ = Metrics{
        .published = &metrics->counter("onda_realtime_events_total", "Events published to the hub", {}),
        .overflows =
            &metrics->counter("onda_realtime_overflows_total", "Subscribers ended because their queue was full", {}),
        .subscribers = &metrics->gauge("onda_realtime_subscribers", "Subscribers connected now", {}),
        .rooms = &metrics->gauge("onda_realtime_rooms", "Rooms kept now (watched or with recent history)", {}),
        .queued = &metrics->gauge("onda_realtime_queued_events", "Events waiting in subscriber queues", {}),
    };
    broker_.start([this](std::string_view room, std::string_view event, std::string data, std::string_view except) {
        deliver(room, event, std::move(data), except);
    });
}

Hub::~Hub() {
    std::lock_guard lock(mutex_);
    ONDA_ASSERT(subscribers_ == 0, "subscribers leave the hub before it is destroyed");
    metrics_.rooms->add(-static_cast<std::int64_t>(rooms_.size()));
}

Hub::Room& Hub::room_locked(std::string const& name) {
    auto it = rooms_.find(name);
    if (it == rooms_.end()) {
        it = rooms_.try_emplace(name, options_.history.of(name), forgotten_).first;
        it->second.last_active = clock_.now();
        metrics_.rooms->add(1);
    }
    return it->second;
}

std::shared_ptr<detail::HubShard> Hub::shard_locked(net::any_io_executor const& executor) {
    // A handful of threads (the server's, and a test's): a scan is cheapest.
    for (auto const& shard : shards_)
        if (shard->executor() == executor) return shard;
    return shards_.emplace_back(std::make_shared<detail::HubShard>(executor));
}

void Hub::enter_locked(Room& room, Subscriber& subscriber) {
    ++room.subscribers;
    if (!subscriber.member().empty()) ++room.members[subscriber.member()];
    auto it = std::find_if(room.shards.begin(), room.shards.end(),
                           [&subscriber](auto const& entry) { return entry.first == subscriber.shard_; });
    if (it == room.shards.end())
        room.shards.emplace_back(subscriber.shard_, 1);
    else
        ++it->second;
}

void Hub::exit_locked(Room& room, Subscriber& subscriber, SystemTime now) {
    --room.subscribers;
    if (!subscriber.member().empty()) {
        auto member = room.members.find(subscriber.member());
        if (member != room.members.end() && --member->second == 0) room.members.erase(member);
    }
    auto it = std::find_if(room.shards.begin(), room.shards.end(),
                           [&subscriber](auto const& entry) { return entry.first == subscriber.shard_; });
    if (it != room.shards.end() && --it->second == 0) room.shards.erase(it);
    if (room.subscribers == 0) room.last_active = std::max(room.last_active, now);
}

void Hub::publish(std::string_view room, std::string_view event, boost::json::object data) {
    publish_except(room, event, std::move(data), {});
}

void Hub::publish_except(std::string_view room, std::string_view event, boost::json::object data,
                         std::string_view except) {
    metrics_.published->add();
    broker_.publish(room, event, boost::json::serialize(data), except);
}

void Hub::deliver(std::string_view room, std::string_view event, std::string data, std::string_view except) {
    // Built outside the lock; only the numbers, the id and the time are filled in under it.
    auto built = std::make_shared<Event>();
    built->room = std::string(room);
    built->name = std::string(event);
    built->data = std::move(data);
    built->except = std::string(except);

    std::lock_guard lock(mutex_);
    auto const now = clock_.now();
    Room& target = room_locked(built->room);
    built->seq = ++seq_;
    built->offset = ++target.offset;
    built->id = format_event_id(epoch_, built->seq);
    built->published_at = now;
    EventPtr shared = std::move(built);
    target.last_active = now;
    if (shared->except.empty()) target.history.append(shared, now);  // see Event::except
    // Under the lock, so each thread's queue holds the events in seq order.
    for (auto const& [shard, count] : target.shards)
        net::post(shard->executor(), [shard = shard, shared] { shard->deliver(shared); });
}

bool Hub::can_resume_locked(std::vector<std::string> const& rooms, std::uint64_t seq) {
    if (seq > seq_) return false;  // not an id this hub gave out
    auto const now = clock_.now();
    for (auto const& name : rooms) {
        auto it = rooms_.find(name);
        if (it != rooms_.end()) it->second.history.expire(now);
        std::uint64_t const floor = it == rooms_.end() ? forgotten_ : it->second.history.floor();
        if (seq < floor) return false;
    }
    return true;
}

std::shared_ptr<Subscriber> Hub::subscribe(net::any_io_executor executor, std::vector<std::string> rooms,
                                           std::string_view last_event_id, std::string member) {
    std::sort(rooms.begin(), rooms.end());
    rooms.erase(std::unique(rooms.begin(), rooms.end()), rooms.end());
    std::shared_ptr<Subscriber> subscriber(
        new Subscriber(*this, std::move(rooms), options_.max_backlog, std::move(member)));

    std::uint64_t after_seq = 0;
    {
        std::lock_guard lock(mutex_);
        subscriber->shard_ = shard_locked(executor);
        after_seq = seq_;
        subscriber->position_ = format_event_id(epoch_, seq_);
        if (!last_event_id.empty()) {
            auto position = parse_event_id(last_event_id);
            bool const resumable =
                position && position->epoch == epoch_ && can_resume_locked(subscriber->rooms_, position->seq);
            subscriber->start_ = resumable ? Subscriber::Start::resumed : Subscriber::Start::reset;
            if (resumable) {
                // Everything after the client's position, from every room, in publication order.
                std::vector<EventPtr> backlog;
                for (auto const& name : subscriber->rooms_) {
                    auto it = rooms_.find(name);
                    if (it == rooms_.end()) continue;
                    for (auto const& event : it->second.history.events())
                        if (event->seq > position->seq) backlog.push_back(event);
                }
                std::sort(backlog.begin(), backlog.end(),
                          [](EventPtr const& a, EventPtr const& b) { return a->seq < b->seq; });
                subscriber->limit_ += backlog.size();
                metrics_.queued->add(static_cast<std::int64_t>(backlog.size()));
                subscriber->queue_ = std::move(backlog);  // no one else sees the subscriber yet
            }
        }
        ++subscribers_;
        metrics_.subscribers->add(1);
        if (closed_) {
            subscriber->end_ = Subscriber::End::closed;
            subscriber->rooms_.clear();  // it is in none: nothing will reach it
        }
        for (auto const& name : subscriber->rooms_) enter_locked(room_locked(name), *subscriber);
    }
    // On the subscriber's thread: its shard learns about it before any event posted from now on runs.
    subscriber->shard_->add(*subscriber);
    for (auto const& name : subscriber->rooms_) subscriber->shard_->join(name, *subscriber, after_seq);
    return subscriber;
}

void Hub::leave(Subscriber& subscriber) {
    {
        std::lock_guard lock(mutex_);
        --subscribers_;
        metrics_.subscribers->add(-1);
        auto const now = clock_.now();
        for (auto const& name : subscriber.rooms_) {
            auto it = rooms_.find(name);
            if (it != rooms_.end()) exit_locked(it->second, subscriber, now);
        }
    }
    if (subscriber.shard_) subscriber.shard_->remove(subscriber);
}

Hub::Joined Hub::add_room(Subscriber& subscriber, std::string const& room) {
    auto& rooms = subscriber.rooms_;
    auto at = std::lower_bound(rooms.begin(), rooms.end(), room);
    bool const joins = at == rooms.end() || *at != room;
    Joined joined;
    std::uint64_t after_seq = 0;
    {
        std::lock_guard lock(mutex_);
        Room& target = room_locked(room);
        target.history.expire(clock_.now());
        if (joins && !closed_ && subscriber.end_reason() == Subscriber::End::none) {
            rooms.insert(at, room);
            enter_locked(target, subscriber);
        } else {
            // Already in it, or ended: nothing to register.
            at = rooms.end();
        }
        after_seq = seq_;
        auto const& kept = target.history.events();
        joined = Joined{
            .history = {kept.begin(), kept.end()}, .subscribers = target.subscribers, .members = target.members.size()};
    }
    if (joins && at != rooms.end()) subscriber.shard_->join(room, subscriber, after_seq);
    return joined;
}

void Hub::remove_room(Subscriber& subscriber, std::string const& room) {
    auto& rooms = subscriber.rooms_;
    auto at = std::lower_bound(rooms.begin(), rooms.end(), room);
    if (at == rooms.end() || *at != room) return;
    {
        std::lock_guard lock(mutex_);
        auto it = rooms_.find(room);
        if (it != rooms_.end()) exit_locked(it->second, subscriber, clock_.now());
    }
    rooms.erase(at);
    subscriber.shard_->leave(room, subscriber);
}

Presence Hub::presence(std::string_view room) const {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return {};
    Presence presence{.subscribers = it->second.subscribers};
    presence.members.reserve(it->second.members.size());
    for (auto const& [user, count] : it->second.members) presence.members.push_back(user);
    return presence;
}

void Hub::close() {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    for (auto const& shard : shards_) net::post(shard->executor(), [shard = shard] { shard->close_all(); });
}

bool Hub::is_closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

std::size_t Hub::sweep() {
    std::lock_guard lock(mutex_);
    auto const now = clock_.now();
    auto const cutoff = now - options_.room_ttl;
    std::size_t dropped = 0;
    for (auto it = rooms_.begin(); it != rooms_.end();) {
        Room& room = it->second;
        room.history.expire(now);
        if (room.subscribers > 0 || room.last_active > cutoff) {
            ++it;
            continue;
        }
        // What this room still knew is forgotten with it: a later resume across it must reset.
        forgotten_ = std::max(forgotten_, room.history.last_seq());
        it = rooms_.erase(it);
        ++dropped;
    }
    metrics_.rooms->add(-static_cast<std::int64_t>(dropped));
    return dropped;
}

std::string Hub::position() const {
    std::lock_guard lock(mutex_);
    return format_event_id(epoch_, seq_);
}

}  // namespace onda::realtime
