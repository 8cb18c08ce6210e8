#include "realtime/hub.hpp"

#include <algorithm>
#include <array>

#include <boost/json/serialize.hpp>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "realtime/engineio_packet.hpp"
#include "realtime/socketio_packet.hpp"

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

Hub::Hub(HubOptions options, Clock const& clock, MetricsRegistry* metrics)
    : options_(std::move(options)), clock_(clock), epoch_(options_.epoch.empty() ? random_epoch() : options_.epoch) {
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
}

Hub::~Hub() {
    std::lock_guard lock(mutex_);
    ONDA_ASSERT(subscribers_.empty(), "subscribers leave the hub before it is destroyed");
    metrics_.rooms->add(-static_cast<std::int64_t>(rooms_.size()));
}

Hub::Room& Hub::room_locked(std::string const& name) {
    auto [it, created] = rooms_.try_emplace(name);
    if (created) {
        it->second.floor = forgotten_;
        it->second.last_active = clock_.now();
        metrics_.rooms->add(1);
    }
    return it->second;
}

void Hub::publish(std::string_view room, std::string_view event, boost::json::object data) {
    // Built outside the lock; only the sequence number and id are filled in under it.
    auto built = std::make_shared<Event>();
    built->room = std::string(room);
    built->name = std::string(event);
    built->data = boost::json::serialize(data);
    // An Engine.IO message ('4') holding the Socket.IO EVENT.
    built->socketio.reserve(built->name.size() + built->data.size() + 8);
    built->socketio.push_back(static_cast<char>(EngineType::message));
    append_event(built->socketio, built->name, built->data);
    metrics_.published->add();

    std::lock_guard lock(mutex_);
    built->seq = ++seq_;
    built->id = format_event_id(epoch_, built->seq);
    EventPtr shared = std::move(built);
    Room& target = room_locked(shared->room);
    target.last_active = clock_.now();
    target.history.push_back(shared);
    while (target.history.size() > options_.history_size) {
        target.floor = target.history.front()->seq;
        target.history.pop_front();
    }
    for (Subscriber* subscriber : target.subscribers) subscriber->offer(shared);
}

bool Hub::can_resume_locked(std::vector<std::string> const& rooms, std::uint64_t seq) const {
    if (seq > seq_) return false;  // not an id this hub gave out
    for (auto const& name : rooms) {
        auto it = rooms_.find(name);
        std::uint64_t const floor = it == rooms_.end() ? forgotten_ : it->second.floor;
        if (seq < floor) return false;
    }
    return true;
}

std::shared_ptr<Subscriber> Hub::subscribe(net::any_io_executor executor, std::vector<std::string> rooms,
                                           std::string_view last_event_id) {
    std::sort(rooms.begin(), rooms.end());
    rooms.erase(std::unique(rooms.begin(), rooms.end()), rooms.end());
    std::shared_ptr<Subscriber> subscriber(
        new Subscriber(*this, std::move(executor), std::move(rooms), options_.max_backlog));

    std::lock_guard lock(mutex_);
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
                for (auto const& event : it->second.history)
                    if (event->seq > position->seq) backlog.push_back(event);
            }
            std::sort(backlog.begin(), backlog.end(),
                      [](EventPtr const& a, EventPtr const& b) { return a->seq < b->seq; });
            subscriber->limit_ += backlog.size();
            metrics_.queued->add(static_cast<std::int64_t>(backlog.size()));
            subscriber->queue_ = std::move(backlog);  // no one else sees the subscriber yet
        }
    }
    subscribers_.insert(subscriber.get());
    metrics_.subscribers->add(1);
    if (closed_) {
        subscriber->end_ = Subscriber::End::closed;
        return subscriber;
    }
    for (auto const& name : subscriber->rooms_) room_locked(name).subscribers.push_back(subscriber.get());
    return subscriber;
}

void Hub::leave(Subscriber& subscriber) {
    std::lock_guard lock(mutex_);
    subscribers_.erase(&subscriber);
    metrics_.subscribers->add(-1);
    auto const now = clock_.now();
    for (auto const& name : subscriber.rooms_) {
        auto it = rooms_.find(name);
        if (it == rooms_.end()) continue;
        auto& list = it->second.subscribers;
        list.erase(std::remove(list.begin(), list.end(), &subscriber), list.end());
        if (list.empty()) it->second.last_active = std::max(it->second.last_active, now);
    }
}

Hub::Joined Hub::add_room(Subscriber& subscriber, std::string const& room) {
    std::lock_guard lock(mutex_);
    auto& rooms = subscriber.rooms_;
    auto at = std::lower_bound(rooms.begin(), rooms.end(), room);
    Room& target = room_locked(room);
    if (at == rooms.end() || *at != room) {
        rooms.insert(at, room);
        if (!closed_) target.subscribers.push_back(&subscriber);
    }
    return Joined{.history = {target.history.begin(), target.history.end()}, .subscribers = target.subscribers.size()};
}

void Hub::remove_room(Subscriber& subscriber, std::string const& room) {
    std::lock_guard lock(mutex_);
    auto& rooms = subscriber.rooms_;
    auto at = std::lower_bound(rooms.begin(), rooms.end(), room);
    if (at == rooms.end() || *at != room) return;
    rooms.erase(at);
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return;
    auto& list = it->second.subscribers;
    list.erase(std::remove(list.begin(), list.end(), &subscriber), list.end());
    if (list.empty()) it->second.last_active = std::max(it->second.last_active, clock_.now());
}

void Hub::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (Subscriber* subscriber : subscribers_) subscriber->end(Subscriber::End::closed);
}

bool Hub::is_closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

std::size_t Hub::sweep() {
    std::lock_guard lock(mutex_);
    auto const cutoff = clock_.now() - options_.room_ttl;
    std::size_t dropped = 0;
    for (auto it = rooms_.begin(); it != rooms_.end();) {
        Room const& room = it->second;
        if (!room.subscribers.empty() || room.last_active > cutoff) {
            ++it;
            continue;
        }
        // What this room still knew is forgotten with it: a later resume across it must reset.
        forgotten_ = std::max(forgotten_, room.history.empty() ? room.floor : room.history.back()->seq);
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
