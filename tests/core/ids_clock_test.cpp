#include <set>

#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "core/ids.hpp"

namespace onda {
namespace {

TEST(MakeId, HasPrefixAndValidatesAndIsUnique) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        auto id = make_id("m");
        EXPECT_TRUE(is_valid_id(id, "m")) << id;
        EXPECT_TRUE(seen.insert(id).second);
    }
}

TEST(IsValidId, RejectsPathTraversalAndWrongShapes) {
    EXPECT_FALSE(is_valid_id("m_../../../etc/passwd", "m"));
    EXPECT_FALSE(is_valid_id("m_aaaaaaaaaaaaaaaaaaa/", "m"));
    EXPECT_FALSE(is_valid_id("u_aaaaaaaaaaaaaaaaaaaa", "m"));
    EXPECT_FALSE(is_valid_id("m_aaaaaaaaaaaaaaaaaaa", "m"));
    EXPECT_FALSE(is_valid_id("", "m"));
    EXPECT_TRUE(is_valid_id("m_aaaaaaaaaaaaaaaaaaaa", "m"));
}

TEST(HttpDate, FormatsAndParsesImfFixdate) {
    auto t = std::chrono::system_clock::from_time_t(784111777);  // RFC 9110's example
    EXPECT_EQ(format_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), t);
    EXPECT_EQ(format_rfc3339(t), "1994-11-06T08:49:37Z");
}

TEST(HttpDate, RejectsObsoleteAndMalformedForms) {
    EXPECT_FALSE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"));
    EXPECT_FALSE(parse_http_date("Sun Nov  6 08:49:37 1994"));
    EXPECT_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"));
    EXPECT_FALSE(parse_http_date("Sun, 36 Nov 1994 08:49:37 GMT"));
    EXPECT_FALSE(parse_http_date(""));
}

TEST(HttpDate, YearsSystemTimeCannotHoldAreNotDates) {
    EXPECT_FALSE(parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"));
    EXPECT_FALSE(parse_http_date("Mon, 01 Jan 0500 00:00:00 GMT"));
    EXPECT_TRUE(parse_http_date("Sat, 01 Jan 2261 00:00:00 GMT"));
}

TEST(HttpDate, InstantsBefore1970RoundDownToTheirSecond) {
    auto half_second_before_epoch = SystemTime(std::chrono::milliseconds(-500));
    EXPECT_EQ(format_http_date(half_second_before_epoch), "Wed, 31 Dec 1969 23:59:59 GMT");
}

}  // namespace
}  // namespace onda
