#include "realtime/room.hpp"

#include <string>

#include <gtest/gtest.h>

#include "realtime/event.hpp"

namespace onda::realtime {
namespace {

TEST(ParseRoom, KnownKindsWithAnId) {
    auto user = parse_room("user:alice");
    ASSERT_TRUE(user);
    EXPECT_EQ(user->kind, RoomKind::user);
    EXPECT_EQ(user->id, "alice");
    EXPECT_EQ(parse_room("upload:u_x")->kind, RoomKind::upload);
    EXPECT_EQ(parse_room("media:m_2xK9")->kind, RoomKind::media);
    EXPECT_EQ(parse_room("chat:s1")->kind, RoomKind::chat);
    EXPECT_EQ(parse_room("stream:live-1")->kind, RoomKind::stream);
    EXPECT_EQ(parse_room("tts:S.1")->kind, RoomKind::tts);
    EXPECT_TRUE(parse_room("user:bob@example.com"));
}

TEST(ParseRoom, RejectsUnknownKindsAndMissingIds) {
    EXPECT_FALSE(parse_room(""));
    EXPECT_FALSE(parse_room("alice"));
    EXPECT_FALSE(parse_room("admin:alice"));
    EXPECT_FALSE(parse_room("User:alice"));
    EXPECT_FALSE(parse_room("user:"));
    EXPECT_FALSE(parse_room(":alice"));
}

TEST(ParseRoom, RejectsCharactersOutsideTheIdSet) {
    for (std::string bad : {"user:a b", "user:a,b", "user:a:b", "chat:../x", "chat:a/b", "chat:a\nb", "chat:é"})
        EXPECT_FALSE(parse_room(bad)) << bad;
    EXPECT_FALSE(parse_room(std::string("chat:a\0b", 8)));
}

TEST(ParseRoom, IdsAreAtMost128Characters) {
    EXPECT_TRUE(parse_room("chat:" + std::string(128, 'x')));
    EXPECT_FALSE(parse_room("chat:" + std::string(129, 'x')));
}

TEST(EventId, RoundTrips) {
    auto id = format_event_id("3f9c01a2b7de", 42);
    EXPECT_EQ(id, "3f9c01a2b7de-42");
    auto position = parse_event_id(id);
    ASSERT_TRUE(position);
    EXPECT_EQ(position->epoch, "3f9c01a2b7de");
    EXPECT_EQ(position->seq, 42u);
    EXPECT_EQ(parse_event_id("e-0")->seq, 0u);
}

TEST(EventId, RejectsMalformedIds) {
    std::vector<std::string> bad_ids{"",     "42",   "-42", "e-",    "e--1",  "e-+1",
                                     "e-01", "e-1x", "E-1", "e f-1", "e-1-2", "e-99999999999999999999"};
    bad_ids.push_back(std::string(33, 'a').append("-1"));  // an epoch one character too long
    for (std::string const& bad : bad_ids) EXPECT_FALSE(parse_event_id(bad)) << bad;
}

}  // namespace
}  // namespace onda::realtime
