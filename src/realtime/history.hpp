// A room's recent events, bounded by count and by age, and the floor that says what is still known:
// every event of the room with a seq above floor() is in the history. Resuming (Hub) and a join's
// answer read it. Pure bookkeeping: no locks, no clock of its own (the hub passes `now`).
//
// Limits are chosen per room kind (HistoryLimits, from config `realtime.history.<kind>.size` and
// `.max_age`): chat keeps 100 messages for 300 s by default, so a viewer who joins sees the last few
// minutes of the conversation and nothing older.
//
// Example:
//   RoomHistory history({.size = 100, .max_age = 300s}, /*floor=*/0);
//   history.append(event, now);
//   for (auto const& kept : history.events(now)) …
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "realtime/event.hpp"

namespace onda::realtime {

struct HistoryLimit {
    std::size_t size = 100;                      // events kept; 0 keeps none
    std::chrono::milliseconds max_age{300'000};  // an event older than this is dropped; 0: no age limit
};

// The limit of each room kind ("chat", "user", …: the part of a room name before ':'), and the
// default for kinds not listed.
struct HistoryLimits {
    HistoryLimit fallback;
    std::vector<std::pair<std::string, HistoryLimit>> by_kind;  // a handful: a scan is enough

    HistoryLimit const& of(std::string_view room) const;
};

class RoomHistory {
public:
    RoomHistory(HistoryLimit limit, std::uint64_t floor) : limit_(limit), floor_(floor) {}

    // Appends (events come in seq order) and drops what the limits no longer allow.
    void append(EventPtr event, SystemTime now);
    // Drops events older than max_age at `now`.
    void expire(SystemTime now);

    // What is kept, oldest first (expire() first for an exact age).
    std::deque<EventPtr> const& events() const { return events_; }
    std::uint64_t floor() const { return floor_; }
    // The highest seq this room ever had (or its floor when it had none kept).
    std::uint64_t last_seq() const { return events_.empty() ? floor_ : events_.back()->seq; }

private:
    void drop_front();

    HistoryLimit limit_;
    std::uint64_t floor_;  // every event of this room with seq > floor_ is in events_
    std::deque<EventPtr> events_;
};

}  // namespace onda::realtime
