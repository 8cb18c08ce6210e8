#include "http/range.hpp"

#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace onda::http {
namespace {

using Kind = RangeRequest::Kind;
using Ranges = std::vector<ByteRange>;

constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();

TEST(ParseRange, SingleRangeSelectsThoseBytes) {
    auto r = parse_range("bytes=2-5", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{2, 5}}));
    EXPECT_EQ(r.ranges[0].length(), 4u);
}

TEST(ParseRange, SingleByteRangeHasLengthOne) {
    auto r = parse_range("bytes=3-3", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{3, 3}}));
    EXPECT_EQ(r.ranges[0].length(), 1u);
}

TEST(ParseRange, OpenEndedRangeRunsToTheLastByte) {
    auto r = parse_range("bytes=5-", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{5, 9}}));
}

TEST(ParseRange, SuffixRangeSelectsTheLastBytes) {
    auto r = parse_range("bytes=-3", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{7, 9}}));
}

TEST(ParseRange, SuffixLongerThanBodyReturnsWholeBody) {
    auto r = parse_range("bytes=-50", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{0, 9}}));
}

TEST(ParseRange, SuffixEqualToBodyReturnsWholeBody) {
    auto r = parse_range("bytes=-10", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{0, 9}}));
}

TEST(ParseRange, LastPastTheEndIsClipped) {
    auto r = parse_range("bytes=5-100", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{5, 9}}));
}

TEST(ParseRange, LargestLastPosIsClipped) {
    auto r = parse_range("bytes=0-18446744073709551615", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{0, 9}}));
}

TEST(ParseRange, MultipleRangesKeepRequestOrder) {
    auto r = parse_range("bytes=6-7,0-1,-2", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{6, 7}, {0, 1}, {8, 9}}));
}

TEST(ParseRange, WhitespaceAroundCommasIsAccepted) {
    auto r = parse_range("bytes=0-1 ,\t3-4 ,  6-7", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{0, 1}, {3, 4}, {6, 7}}));
}

TEST(ParseRange, WhitespaceAroundTheFieldValueIsAccepted) {
    auto r = parse_range("  bytes=0-1\t", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{0, 1}}));
}

TEST(ParseRange, EmptyListElementsAreSkipped) {
    auto r = parse_range("bytes=0-1,,3-4", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{0, 1}, {3, 4}}));
}

TEST(ParseRange, LeadingAndTrailingEmptyElementsAreSkipped) {
    auto r = parse_range("bytes=, ,0-1, ,", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{0, 1}}));
}

TEST(ParseRange, RangeSetOfOnlyEmptyElementsIsIgnored) {
    EXPECT_EQ(parse_range("bytes=, ,", 10).kind, Kind::whole);
    EXPECT_EQ(parse_range("bytes=", 10).kind, Kind::whole);
}

TEST(ParseRange, UnitIsCaseInsensitive) {
    EXPECT_EQ(parse_range("BYTES=0-1", 10).ranges, (Ranges{{0, 1}}));
    EXPECT_EQ(parse_range("Bytes=0-1", 10).ranges, (Ranges{{0, 1}}));
}

TEST(ParseRange, OtherUnitsAreIgnored) {
    auto r = parse_range("items=0-1", 10);
    EXPECT_EQ(r.kind, Kind::whole);
    EXPECT_TRUE(r.ranges.empty());
    EXPECT_EQ(parse_range("byte=0-1", 10).kind, Kind::whole);
    EXPECT_EQ(parse_range("bytesx=0-1", 10).kind, Kind::whole);
}

TEST(ParseRange, EmptyHeaderMeansWholeBody) { EXPECT_EQ(parse_range("", 10).kind, Kind::whole); }

TEST(ParseRange, MissingEqualsSignIsIgnored) { EXPECT_EQ(parse_range("bytes 0-1", 10).kind, Kind::whole); }

TEST(ParseRange, WhitespaceAroundEqualsSignIsIgnored) { EXPECT_EQ(parse_range("bytes =0-1", 10).kind, Kind::whole); }

TEST(ParseRange, FirstGreaterThanLastIsIgnored) { EXPECT_EQ(parse_range("bytes=5-3", 10).kind, Kind::whole); }

TEST(ParseRange, OneInvalidSpecMakesTheWholeHeaderIgnored) {
    EXPECT_EQ(parse_range("bytes=0-1,5-3", 10).kind, Kind::whole);
}

TEST(ParseRange, NonDigitsAreIgnored) {
    EXPECT_EQ(parse_range("bytes=a-b", 10).kind, Kind::whole);
    EXPECT_EQ(parse_range("bytes=1-2x", 10).kind, Kind::whole);
    EXPECT_EQ(parse_range("bytes=+1-2", 10).kind, Kind::whole);
    EXPECT_EQ(parse_range("bytes=0x1-2", 10).kind, Kind::whole);
    EXPECT_EQ(parse_range("bytes=-+3", 10).kind, Kind::whole);
    EXPECT_EQ(parse_range("bytes=1.5-2", 10).kind, Kind::whole);
}

TEST(ParseRange, WhitespaceInsideASpecIsIgnored) {
    EXPECT_EQ(parse_range("bytes=0 -1", 10).kind, Kind::whole);
    EXPECT_EQ(parse_range("bytes=0- 1", 10).kind, Kind::whole);
}

TEST(ParseRange, SpecWithoutDashIsIgnored) { EXPECT_EQ(parse_range("bytes=5", 10).kind, Kind::whole); }

TEST(ParseRange, LoneDashIsIgnored) { EXPECT_EQ(parse_range("bytes=-", 10).kind, Kind::whole); }

TEST(ParseRange, DoubleDashIsIgnored) {
    EXPECT_EQ(parse_range("bytes=1--2", 10).kind, Kind::whole);
    EXPECT_EQ(parse_range("bytes=--2", 10).kind, Kind::whole);
}

TEST(ParseRange, OverflowingNumbersAreIgnored) {
    EXPECT_EQ(parse_range("bytes=0-99999999999999999999999", 10).kind, Kind::whole);
    EXPECT_EQ(parse_range("bytes=99999999999999999999-", 10).kind, Kind::whole);
    EXPECT_EQ(parse_range("bytes=-99999999999999999999", 10).kind, Kind::whole);
}

TEST(ParseRange, OneMoreThanTheLargestValueIsIgnored) {
    EXPECT_EQ(parse_range("bytes=0-18446744073709551616", 10).kind, Kind::whole);
}

TEST(ParseRange, LeadingZerosAreDigitsLikeAnyOther) {
    auto r = parse_range("bytes=000000000000000000000005-0007", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{5, 7}}));
}

TEST(ParseRange, FirstAtSizeIsUnsatisfiable) {
    auto r = parse_range("bytes=10-20", 10);
    EXPECT_EQ(r.kind, Kind::unsatisfiable);
    EXPECT_TRUE(r.ranges.empty());
}

TEST(ParseRange, FirstBeyondSizeIsUnsatisfiable) { EXPECT_EQ(parse_range("bytes=500-", 10).kind, Kind::unsatisfiable); }

TEST(ParseRange, UnsatisfiableRangesAreDroppedBesideSatisfiableOnes) {
    auto r = parse_range("bytes=20-30,0-1,-0", 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{0, 1}}));
}

TEST(ParseRange, AllUnsatisfiableGivesUnsatisfiable) {
    auto r = parse_range("bytes=10-,20-30,-0", 10);
    EXPECT_EQ(r.kind, Kind::unsatisfiable);
    EXPECT_TRUE(r.ranges.empty());
}

TEST(ParseRange, ZeroSuffixIsUnsatisfiable) { EXPECT_EQ(parse_range("bytes=-0", 10).kind, Kind::unsatisfiable); }

TEST(ParseRange, EmptyRepresentationMakesEveryRangeUnsatisfiable) {
    EXPECT_EQ(parse_range("bytes=0-", 0).kind, Kind::unsatisfiable);
    EXPECT_EQ(parse_range("bytes=0-0", 0).kind, Kind::unsatisfiable);
    EXPECT_EQ(parse_range("bytes=-5", 0).kind, Kind::unsatisfiable);
}

TEST(ParseRange, EmptyRepresentationStillIgnoresMalformedHeaders) {
    EXPECT_EQ(parse_range("bytes=5-3", 0).kind, Kind::whole);
}

TEST(ParseRange, SuffixOnTheLargestSizeDoesNotOverflow) {
    auto r = parse_range("bytes=-1", max_u64);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{max_u64 - 1, max_u64 - 1}}));
}

TEST(ParseRange, RangesUpToTheLimitAreHonoured) {
    std::string header = "bytes=0-0";
    for (int i = 1; i < 16; ++i) header += "," + std::to_string(i) + "-" + std::to_string(i);
    auto r = parse_range(header, 100);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges.size(), 16u);
}

TEST(ParseRange, TooManyRangesAreIgnored) {
    std::string header = "bytes=0-0";
    for (int i = 1; i < 17; ++i) header += "," + std::to_string(i) + "-" + std::to_string(i);
    EXPECT_EQ(parse_range(header, 100).kind, Kind::whole);
}

TEST(ParseRange, MaxRangesArgumentSetsTheLimit) {
    EXPECT_EQ(parse_range("bytes=0-0,2-2", 100, 2).kind, Kind::partial);
    EXPECT_EQ(parse_range("bytes=0-0,2-2,4-4", 100, 2).kind, Kind::whole);
}

TEST(ParseRange, UnsatisfiableRangesCountTowardTheLimit) {
    EXPECT_EQ(parse_range("bytes=0-0,200-,300-", 100, 2).kind, Kind::whole);
}

TEST(ParseRange, EmptyElementsDoNotCountTowardTheLimit) {
    EXPECT_EQ(parse_range("bytes=0-0,,,,,,,,2-2", 100, 2).kind, Kind::partial);
}

TEST(ParseRange, OverlappingDosPatternIsIgnored) {
    // Three copies of the whole body ask for three times its size.
    EXPECT_EQ(parse_range("bytes=0-99,0-99,0-99", 100).kind, Kind::whole);
}

TEST(ParseRange, ManyOverlappingSuffixesAreIgnored) {
    EXPECT_EQ(parse_range("bytes=-60,-60,-60,-60", 100).kind, Kind::whole);
}

TEST(ParseRange, OverlapUpToTwiceTheSizeIsHonoured) {
    auto r = parse_range("bytes=0-99,0-99", 100);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges.size(), 2u);
}

TEST(ParseRange, OneByteBeyondTwiceTheSizeIsIgnored) {
    EXPECT_EQ(parse_range("bytes=0-99,0-99,0-0", 100).kind, Kind::whole);
}

TEST(ParseRange, HostileHeaderOfManyCommasIsStillParsed) {
    std::string header = "bytes=" + std::string(1'000'000, ',') + "0-1" + std::string(1'000'000, ',');
    auto r = parse_range(header, 10);
    EXPECT_EQ(r.kind, Kind::partial);
    EXPECT_EQ(r.ranges, (Ranges{{0, 1}}));
}

TEST(ParseRange, HostileHeaderOfManyRangesIsIgnored) {
    std::string header = "bytes=0-0";
    for (int i = 0; i < 100'000; ++i) header += ",0-0";
    EXPECT_EQ(parse_range(header, 10).kind, Kind::whole);
}

TEST(ParseRange, NulByteIsIgnored) {
    using namespace std::string_view_literals;
    EXPECT_EQ(parse_range("bytes=0-1\0"sv, 10).kind, Kind::whole);
}

}  // namespace
}  // namespace onda::http
