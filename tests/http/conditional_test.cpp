#include "http/conditional.hpp"

#include <gtest/gtest.h>

namespace onda::http {
namespace {

using namespace std::chrono_literals;

SystemTime const modified = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
Validators const current{.etag = "\"v1\"", .last_modified = modified};

std::string date(SystemTime t) { return format_http_date(t); }

Precondition evaluate_get(ConditionalHeaders const& headers, Validators const& validators = current) {
    return evaluate_preconditions(headers, validators, true);
}

Precondition evaluate_put(ConditionalHeaders const& headers, Validators const& validators = current) {
    return evaluate_preconditions(headers, validators, false);
}

TEST(EvaluatePreconditions, NoConditionalHeadersProceed) {
    EXPECT_EQ(evaluate_get({}), Precondition::proceed);
    EXPECT_EQ(evaluate_put({}), Precondition::proceed);
}

TEST(EvaluatePreconditions, IfMatchWithTheCurrentStrongTagProceeds) {
    EXPECT_EQ(evaluate_put({.if_match = "\"v1\""}), Precondition::proceed);
}

TEST(EvaluatePreconditions, IfMatchWithAnotherTagFails) {
    EXPECT_EQ(evaluate_put({.if_match = "\"v2\""}), Precondition::failed);
}

TEST(EvaluatePreconditions, IfMatchWithAWeakTagFailsStrongComparison) {
    EXPECT_EQ(evaluate_put({.if_match = "W/\"v1\""}), Precondition::failed);
}

TEST(EvaluatePreconditions, IfMatchAgainstAWeakCurrentTagFails) {
    Validators const weak{.etag = "W/\"v1\"", .last_modified = modified};
    EXPECT_EQ(evaluate_put({.if_match = "\"v1\""}, weak), Precondition::failed);
    EXPECT_EQ(evaluate_put({.if_match = "W/\"v1\""}, weak), Precondition::failed);
}

TEST(EvaluatePreconditions, IfMatchComparesTagsCaseSensitively) {
    EXPECT_EQ(evaluate_put({.if_match = "\"V1\""}), Precondition::failed);
}

TEST(EvaluatePreconditions, IfMatchStarProceedsWhenARepresentationExists) {
    EXPECT_EQ(evaluate_put({.if_match = "*"}), Precondition::proceed);
    EXPECT_EQ(evaluate_put({.if_match = " * "}), Precondition::proceed);
}

TEST(EvaluatePreconditions, IfMatchFindsTheTagInAListWithSpacesAndEmptyElements) {
    EXPECT_EQ(evaluate_put({.if_match = " \"a\" ,\t\"v1\" ,, \"b\","}), Precondition::proceed);
}

TEST(EvaluatePreconditions, IfMatchCommaInsideQuotesDoesNotSplitTheTag) {
    EXPECT_EQ(evaluate_put({.if_match = "\"x,\"v1\""}), Precondition::failed);
    EXPECT_EQ(evaluate_put({.if_match = "\"v1,x\""}), Precondition::failed);
}

TEST(EvaluatePreconditions, IfMatchWithGarbageAfterATagFails) {
    EXPECT_EQ(evaluate_put({.if_match = "\"v1\" junk"}), Precondition::failed);
}

TEST(EvaluatePreconditions, IfMatchWithAnUnterminatedTagFails) {
    EXPECT_EQ(evaluate_put({.if_match = "\"v1"}), Precondition::failed);
}

TEST(EvaluatePreconditions, IfMatchWithAnUnquotedTagFails) {
    EXPECT_EQ(evaluate_put({.if_match = "v1"}), Precondition::failed);
}

TEST(EvaluatePreconditions, IfMatchWithLowercaseWeakPrefixIsMalformed) {
    EXPECT_EQ(evaluate_put({.if_match = "w/\"v1\""}), Precondition::failed);
}

TEST(EvaluatePreconditions, IfMatchStarInsideAListIsMalformed) {
    EXPECT_EQ(evaluate_put({.if_match = "\"a\", *"}), Precondition::failed);
}

TEST(EvaluatePreconditions, IfMatchFailsWhenTheRepresentationHasNoTag) {
    Validators const untagged{.etag = "", .last_modified = modified};
    EXPECT_EQ(evaluate_put({.if_match = "\"v1\""}, untagged), Precondition::failed);
    EXPECT_EQ(evaluate_put({.if_match = "*"}, untagged), Precondition::proceed);
}

TEST(EvaluatePreconditions, IfUnmodifiedSinceBeforeLastModifiedFails) {
    EXPECT_EQ(evaluate_put({.if_unmodified_since = date(modified - 1s)}), Precondition::failed);
}

TEST(EvaluatePreconditions, IfUnmodifiedSinceAtLastModifiedProceeds) {
    EXPECT_EQ(evaluate_put({.if_unmodified_since = date(modified)}), Precondition::proceed);
}

TEST(EvaluatePreconditions, IfUnmodifiedSinceAfterLastModifiedProceeds) {
    EXPECT_EQ(evaluate_put({.if_unmodified_since = date(modified + 1h)}), Precondition::proceed);
}

TEST(EvaluatePreconditions, IfUnmodifiedSinceIsIgnoredWhenIfMatchIsPresent) {
    EXPECT_EQ(evaluate_put({.if_match = "\"v1\"", .if_unmodified_since = date(modified - 1h)}), Precondition::proceed);
}

TEST(EvaluatePreconditions, InvalidIfUnmodifiedSinceIsIgnored) {
    EXPECT_EQ(evaluate_put({.if_unmodified_since = "yesterday"}), Precondition::proceed);
    EXPECT_EQ(evaluate_put({.if_unmodified_since = "Sunday, 06-Nov-94 08:49:37 GMT"}), Precondition::proceed);
}

TEST(EvaluatePreconditions, IfNoneMatchWithTheCurrentTagIsNotModifiedForGet) {
    EXPECT_EQ(evaluate_get({.if_none_match = "\"v1\""}), Precondition::not_modified);
}

TEST(EvaluatePreconditions, IfNoneMatchUsesWeakComparison) {
    EXPECT_EQ(evaluate_get({.if_none_match = "W/\"v1\""}), Precondition::not_modified);
    Validators const weak{.etag = "W/\"v1\"", .last_modified = modified};
    EXPECT_EQ(evaluate_get({.if_none_match = "\"v1\""}, weak), Precondition::not_modified);
}

TEST(EvaluatePreconditions, IfNoneMatchWithTheCurrentTagFailsForOtherMethods) {
    EXPECT_EQ(evaluate_put({.if_none_match = "\"v1\""}), Precondition::failed);
}

TEST(EvaluatePreconditions, IfNoneMatchStarIsNotModifiedForGet) {
    EXPECT_EQ(evaluate_get({.if_none_match = "*"}), Precondition::not_modified);
}

TEST(EvaluatePreconditions, IfNoneMatchStarFailsForOtherMethods) {
    EXPECT_EQ(evaluate_put({.if_none_match = "*"}), Precondition::failed);
}

TEST(EvaluatePreconditions, IfNoneMatchWithOtherTagsProceeds) {
    EXPECT_EQ(evaluate_get({.if_none_match = "\"a\", \"b\""}), Precondition::proceed);
}

TEST(EvaluatePreconditions, IfNoneMatchFindsTheTagInAList) {
    EXPECT_EQ(evaluate_get({.if_none_match = "\"a\",W/\"v1\" , \"b\""}), Precondition::not_modified);
}

TEST(EvaluatePreconditions, MalformedIfNoneMatchProceeds) {
    EXPECT_EQ(evaluate_get({.if_none_match = "\"v1\" \"v2\""}), Precondition::proceed);
    EXPECT_EQ(evaluate_get({.if_none_match = "v1"}), Precondition::proceed);
}

TEST(EvaluatePreconditions, IfMatchFailureComesBeforeIfNoneMatch) {
    EXPECT_EQ(evaluate_get({.if_match = "\"v2\"", .if_none_match = "\"v1\""}), Precondition::failed);
}

TEST(EvaluatePreconditions, IfMatchSuccessThenIfNoneMatchIsNotModified) {
    EXPECT_EQ(evaluate_get({.if_match = "\"v1\"", .if_none_match = "\"v1\""}), Precondition::not_modified);
}

TEST(EvaluatePreconditions, IfUnmodifiedSinceFailureComesBeforeIfNoneMatch) {
    EXPECT_EQ(evaluate_get({.if_none_match = "\"v1\"", .if_unmodified_since = date(modified - 1s)}),
              Precondition::failed);
}

TEST(EvaluatePreconditions, IfModifiedSinceAtLastModifiedIsNotModified) {
    EXPECT_EQ(evaluate_get({.if_modified_since = date(modified)}), Precondition::not_modified);
}

TEST(EvaluatePreconditions, IfModifiedSinceAfterLastModifiedIsNotModified) {
    EXPECT_EQ(evaluate_get({.if_modified_since = date(modified + 1h)}), Precondition::not_modified);
}

TEST(EvaluatePreconditions, IfModifiedSinceBeforeLastModifiedProceeds) {
    EXPECT_EQ(evaluate_get({.if_modified_since = date(modified - 1s)}), Precondition::proceed);
}

TEST(EvaluatePreconditions, SubSecondLastModifiedComparesAtWholeSeconds) {
    Validators const precise{.etag = "\"v1\"", .last_modified = modified + 900ms};
    EXPECT_EQ(evaluate_get({.if_modified_since = date(modified)}, precise), Precondition::not_modified);
    EXPECT_EQ(evaluate_put({.if_unmodified_since = date(modified)}, precise), Precondition::proceed);
}

TEST(EvaluatePreconditions, IfModifiedSinceIsIgnoredWhenIfNoneMatchIsPresent) {
    EXPECT_EQ(evaluate_get({.if_none_match = "\"other\"", .if_modified_since = date(modified + 1h)}),
              Precondition::proceed);
}

TEST(EvaluatePreconditions, IfModifiedSinceIsIgnoredForOtherMethods) {
    EXPECT_EQ(evaluate_put({.if_modified_since = date(modified + 1h)}), Precondition::proceed);
}

TEST(EvaluatePreconditions, InvalidIfModifiedSinceIsIgnored) {
    EXPECT_EQ(evaluate_get({.if_modified_since = "Sun Nov  6 08:49:37 1994"}), Precondition::proceed);
    EXPECT_EQ(evaluate_get({.if_modified_since = "not a date"}), Precondition::proceed);
}

TEST(EvaluatePreconditions, IfModifiedSinceWithTwoDatesIsIgnored) {
    std::string const two = date(modified + 1h) + ", " + date(modified + 1h);
    EXPECT_EQ(evaluate_get({.if_modified_since = two}), Precondition::proceed);
}

TEST(EvaluatePreconditions, IfModifiedSinceAcceptsSurroundingWhitespace) {
    std::string const padded = " " + date(modified) + " ";
    EXPECT_EQ(evaluate_get({.if_modified_since = padded}), Precondition::not_modified);
}

TEST(IfRangeMatches, AbsentIfRangeHonoursTheRange) { EXPECT_TRUE(if_range_matches("", current)); }

TEST(IfRangeMatches, TheCurrentStrongTagMatches) { EXPECT_TRUE(if_range_matches("\"v1\"", current)); }

TEST(IfRangeMatches, AnotherTagDoesNotMatch) { EXPECT_FALSE(if_range_matches("\"v2\"", current)); }

TEST(IfRangeMatches, AWeakTagNeverMatches) { EXPECT_FALSE(if_range_matches("W/\"v1\"", current)); }

TEST(IfRangeMatches, AWeakCurrentTagNeverMatches) {
    Validators const weak{.etag = "W/\"v1\"", .last_modified = modified};
    EXPECT_FALSE(if_range_matches("\"v1\"", weak));
}

TEST(IfRangeMatches, AListOfTagsDoesNotMatch) { EXPECT_FALSE(if_range_matches("\"v1\", \"v2\"", current)); }

TEST(IfRangeMatches, StarDoesNotMatch) { EXPECT_FALSE(if_range_matches("*", current)); }

TEST(IfRangeMatches, UnterminatedTagDoesNotMatch) { EXPECT_FALSE(if_range_matches("\"v1", current)); }

TEST(IfRangeMatches, TheExactLastModifiedDateMatches) { EXPECT_TRUE(if_range_matches(date(modified), current)); }

TEST(IfRangeMatches, ALaterDateDoesNotMatch) { EXPECT_FALSE(if_range_matches(date(modified + 1s), current)); }

TEST(IfRangeMatches, AnEarlierDateDoesNotMatch) { EXPECT_FALSE(if_range_matches(date(modified - 1s), current)); }

TEST(IfRangeMatches, SubSecondLastModifiedMatchesItsHttpDate) {
    Validators const precise{.etag = "\"v1\"", .last_modified = modified + 250ms};
    EXPECT_TRUE(if_range_matches(date(modified), precise));
}

TEST(IfRangeMatches, GarbageDoesNotMatch) {
    EXPECT_FALSE(if_range_matches("garbage", current));
    EXPECT_FALSE(if_range_matches("Sunday, 06-Nov-94 08:49:37 GMT", current));
}

TEST(IfRangeMatches, SurroundingWhitespaceIsIgnored) { EXPECT_TRUE(if_range_matches(" \"v1\"\t", current)); }

}  // namespace
}  // namespace onda::http
