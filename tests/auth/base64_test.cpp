#include "auth/base64.hpp"

#include <array>
#include <string>

#include <gtest/gtest.h>

namespace onda::auth {
namespace {

// RFC 4648 §10 test vectors.
TEST(Base64Encode, MatchesRfc4648Vectors) {
    auto encode = [](std::string_view text) {
        return base64_encode({reinterpret_cast<unsigned char const*>(text.data()), text.size()});
    };
    EXPECT_EQ(encode(""), "");
    EXPECT_EQ(encode("f"), "Zg==");
    EXPECT_EQ(encode("fo"), "Zm8=");
    EXPECT_EQ(encode("foo"), "Zm9v");
    EXPECT_EQ(encode("foob"), "Zm9vYg==");
    EXPECT_EQ(encode("fooba"), "Zm9vYmE=");
    EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Decode, MatchesRfc4648Vectors) {
    EXPECT_EQ(base64_decode(""), "");
    EXPECT_EQ(base64_decode("Zg=="), "f");
    EXPECT_EQ(base64_decode("Zm8="), "fo");
    EXPECT_EQ(base64_decode("Zm9v"), "foo");
    EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
    EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
    EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
}

TEST(Base64Url, UsesDashAndUnderscoreWithoutPadding) {
    std::array<unsigned char, 4> const bytes = {0xfb, 0xff, 0xbf, 0xfe};
    EXPECT_EQ(base64_encode(bytes), "+/+//g==");
    EXPECT_EQ(base64url_encode(bytes), "-_-__g");
    EXPECT_EQ(base64url_decode("-_-__g"), std::string("\xfb\xff\xbf\xfe"));
}

TEST(Base64Url, RoundTripsEveryByteValueAtEveryLength) {
    std::string bytes;
    for (int i = 0; i < 256; ++i) {
        bytes += static_cast<char>(i);
        EXPECT_EQ(base64url_decode(base64url_encode(bytes)), bytes) << "length " << bytes.size();
    }
}

TEST(Base64UrlDecode, RejectsPadding) {
    EXPECT_FALSE(base64url_decode("Zg=="));
    EXPECT_FALSE(base64url_decode("Zm8="));
}

TEST(Base64UrlDecode, RejectsStandardAlphabetCharacters) { EXPECT_FALSE(base64url_decode("+/+//g")); }

TEST(Base64UrlDecode, RejectsWhitespace) {
    EXPECT_FALSE(base64url_decode("Zm9v YmFy"));
    EXPECT_FALSE(base64url_decode("Zm9vYmFy\n"));
}

TEST(Base64UrlDecode, RejectsALoneTrailingCharacter) { EXPECT_FALSE(base64url_decode("Zm9vY")); }

TEST(Base64UrlDecode, RejectsNonZeroUnusedBits) {
    // "Zg" is the only encoding of "f"; "Zh" carries the same byte with a stray low bit set.
    EXPECT_EQ(base64url_decode("Zg"), "f");
    EXPECT_FALSE(base64url_decode("Zh"));
    EXPECT_FALSE(base64url_decode("Zm9"));
}

TEST(Base64UrlDecode, RejectsNulAndHighBytes) {
    EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4)));
    EXPECT_FALSE(base64url_decode("Zm\xc3\xa9v"));
}

TEST(Base64Decode, RejectsMissingPadding) {
    EXPECT_FALSE(base64_decode("Zg"));
    EXPECT_FALSE(base64_decode("Zm8"));
}

TEST(Base64Decode, RejectsPaddingInTheMiddle) {
    EXPECT_FALSE(base64_decode("Zg==Zm9v"));
    EXPECT_FALSE(base64_decode("Z=g="));
}

TEST(Base64Decode, RejectsThreePaddingCharacters) {
    EXPECT_FALSE(base64_decode("Z==="));
    EXPECT_FALSE(base64_decode("===="));
}

TEST(Base64Decode, RejectsUrlAlphabetCharacters) { EXPECT_FALSE(base64_decode("-_-__g==")); }

}  // namespace
}  // namespace onda::auth
