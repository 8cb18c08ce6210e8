#include "realtime/history.hpp"

#include <gtest/gtest.h>

namespace onda::realtime {
namespace {

using namespace std::chrono_literals;

SystemTime const t0 = SystemTime{} + std::chrono::hours(24 * 365 * 50);

EventPtr event_at(std::uint64_t seq, SystemTime at) {
    auto event = std::make_shared<Event>();
    event->seq = seq;
    event->published_at = at;
    return event;
}

std::vector<std::uint64_t> seqs(RoomHistory const& history) {
    std::vector<std::uint64_t> out;
    for (auto const& event : history.events()) out.push_back(event->seq);
    return out;
}

TEST(RoomHistory, KeepsTheLastSizeEventsAndRaisesTheFloorPastTheDropped) {
    RoomHistory history({.size = 3, .max_age = 0ms}, 0);
    for (std::uint64_t seq = 1; seq <= 5; ++seq) history.append(event_at(seq, t0), t0);
    EXPECT_EQ(seqs(history), (std::vector<std::uint64_t>{3, 4, 5}));
    EXPECT_EQ(history.floor(), 2u);
    EXPECT_EQ(history.last_seq(), 5u);
}

TEST(RoomHistory, DropsEventsOlderThanMaxAge) {
    RoomHistory history({.size = 100, .max_age = 300s}, 0);
    history.append(event_at(1, t0), t0);
    history.append(event_at(2, t0 + 200s), t0 + 200s);
    history.expire(t0 + 300s);  // exactly 300 s old: still kept
    EXPECT_EQ(seqs(history), (std::vector<std::uint64_t>{1, 2}));
    history.expire(t0 + 301s);
    EXPECT_EQ(seqs(history), (std::vector<std::uint64_t>{2}));
    EXPECT_EQ(history.floor(), 1u);
    history.append(event_at(3, t0 + 600s), t0 + 600s);  // appending expires too
    EXPECT_EQ(seqs(history), (std::vector<std::uint64_t>{3}));
    EXPECT_EQ(history.floor(), 2u);
}

TEST(RoomHistory, ZeroMaxAgeKeepsEventsWhateverTheirAge) {
    RoomHistory history({.size = 2, .max_age = 0ms}, 0);
    history.append(event_at(1, t0), t0);
    history.expire(t0 + std::chrono::hours(24 * 365));
    EXPECT_EQ(seqs(history), (std::vector<std::uint64_t>{1}));
}

TEST(RoomHistory, SizeZeroKeepsNothingButMovesTheFloor) {
    RoomHistory history({.size = 0, .max_age = 0ms}, 7);
    history.append(event_at(9, t0), t0);
    EXPECT_TRUE(history.events().empty());
    EXPECT_EQ(history.floor(), 9u);  // an id before 9 cannot be resumed exactly here
    EXPECT_EQ(history.last_seq(), 9u);
}

TEST(RoomHistory, AnEmptyHistoryStartsAtTheFloorItWasGiven) {
    RoomHistory history({}, 41);
    EXPECT_EQ(history.floor(), 41u);
    EXPECT_EQ(history.last_seq(), 41u);
}

TEST(HistoryLimits, ChoosesTheLimitByTheRoomKind) {
    HistoryLimits limits{.fallback = {.size = 10, .max_age = 60s},
                         .by_kind = {{"chat", {.size = 100, .max_age = 300s}}}};
    EXPECT_EQ(limits.of("chat:s1").size, 100u);
    EXPECT_EQ(limits.of("chat:s1").max_age, 300s);
    EXPECT_EQ(limits.of("user:alice").size, 10u);
    EXPECT_EQ(limits.of("chatter:x").size, 10u);  // the kind is the whole prefix, not its start
    EXPECT_EQ(limits.of("no-colon").size, 10u);
}

}  // namespace
}  // namespace onda::realtime
