#include "core/text.hpp"

#include <gtest/gtest.h>

namespace onda {
namespace {

TEST(IsValidUtf8, AcceptsAsciiAndEveryEncodingLength) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain"));
    EXPECT_TRUE(is_valid_utf8("\xC3\x89pisode"));    // É
    EXPECT_TRUE(is_valid_utf8("\xE2\x84\x96"));      // №
    EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x8E\xB5"));  // 🎵
    EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(IsValidUtf8, RejectsLatin1AndTruncatedSequences) {
    EXPECT_FALSE(is_valid_utf8("caf\xE9"));
    EXPECT_FALSE(is_valid_utf8("\xE2\x84"));
    EXPECT_FALSE(is_valid_utf8("\x80"));
}

TEST(IsValidUtf8, RejectsOverlongSurrogatesAndBeyondUnicode) {
    EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // U+D800, a surrogate
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // U+110000
    EXPECT_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
}

TEST(ReplaceInvalidUtf8, KeepsGoodCharactersAndMarksEachBadByte) {
    EXPECT_EQ(replace_invalid_utf8("caf\xE9.wav"), "caf_.wav");
    EXPECT_EQ(replace_invalid_utf8("\xC3\x89t\xE9"), "\xC3\x89t_");
    EXPECT_EQ(replace_invalid_utf8("\xED\xA0\x80"), "___");
    EXPECT_EQ(replace_invalid_utf8("ok"), "ok");
}

}  // namespace
}  // namespace onda
