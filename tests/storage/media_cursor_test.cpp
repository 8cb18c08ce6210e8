#include <gtest/gtest.h>

#include "storage/detail/media_cursor.hpp"
#include "storage/detail/sqlite.hpp"

namespace onda::storage::detail {
namespace {

using Micros = std::chrono::sys_time<std::chrono::microseconds>;

TEST(MediaCursor, FormatsAsMicrosColonId) {
    MediaCursor const cursor{.created_at = Micros(std::chrono::microseconds(1795780800000001)), .id = "m_2xK9"};
    EXPECT_EQ(format_media_cursor(cursor), "1795780800000001:m_2xK9");
}

TEST(MediaCursor, ParsesWhatItFormats) {
    for (std::int64_t micros : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{1795780800123456},
                                std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
        MediaCursor const cursor{.created_at = Micros(std::chrono::microseconds(micros)), .id = "m_a:b"};
        auto parsed = parse_media_cursor(format_media_cursor(cursor));
        ASSERT_TRUE(parsed) << micros;
        EXPECT_EQ(parsed->created_at, cursor.created_at);
        EXPECT_EQ(parsed->id, "m_a:b");  // the id is everything after the first ':'
    }
}

TEST(MediaCursor, RejectsNonCanonicalNumbers) {
    EXPECT_FALSE(parse_media_cursor("007:m_1"));
    EXPECT_FALSE(parse_media_cursor("+7:m_1"));
    EXPECT_FALSE(parse_media_cursor("-0:m_1"));
    EXPECT_FALSE(parse_media_cursor(" 7:m_1"));
    EXPECT_FALSE(parse_media_cursor("7 :m_1"));
    EXPECT_FALSE(parse_media_cursor("7.0:m_1"));
    EXPECT_FALSE(parse_media_cursor("0x7:m_1"));
}

TEST(MediaCursor, RejectsNumbersPastInt64) {
    EXPECT_FALSE(parse_media_cursor("9223372036854775808:m_1"));
    EXPECT_FALSE(parse_media_cursor("-9223372036854775809:m_1"));
}

TEST(MediaCursor, RejectsMissingParts) {
    EXPECT_FALSE(parse_media_cursor(""));
    EXPECT_FALSE(parse_media_cursor(":"));
    EXPECT_FALSE(parse_media_cursor("7"));
    EXPECT_FALSE(parse_media_cursor("7:"));
    EXPECT_FALSE(parse_media_cursor(":m_1"));
    EXPECT_FALSE(parse_media_cursor("m_1"));
}

TEST(LikeContainsPattern, EscapesWildcardsAndTheEscapeCharacter) {
    EXPECT_EQ(like_contains_pattern("abc"), "%abc%");
    EXPECT_EQ(like_contains_pattern(""), "%%");
    EXPECT_EQ(like_contains_pattern("100%"), "%100\\%%");
    EXPECT_EQ(like_contains_pattern("a_b"), "%a\\_b%");
    EXPECT_EQ(like_contains_pattern("a\\b"), "%a\\\\b%");
}

}  // namespace
}  // namespace onda::storage::detail
