#include "realtime/history.hpp"

namespace onda::realtime {

HistoryLimit const& HistoryLimits::of(std::string_view room) const {
    auto const kind = room.substr(0, room.find(':'));
    for (auto const& [name, limit] : by_kind)
        if (name == kind) return limit;
    return fallback;
}

void RoomHistory::drop_front() {
    floor_ = events_.front()->seq;
    events_.pop_front();
}

void RoomHistory::append(EventPtr event, SystemTime now) {
    if (limit_.size == 0) {
        floor_ = event->seq;  // nothing is kept, so nothing up to this event can be replayed
        return;
    }
    events_.push_back(std::move(event));
    while (events_.size() > limit_.size) drop_front();
    expire(now);
}

void RoomHistory::expire(SystemTime now) {
    if (limit_.max_age.count() <= 0) return;
    auto const oldest = now - limit_.max_age;
    while (!events_.empty() && events_.front()->published_at < oldest) drop_front();
}

}  // namespace onda::realtime
