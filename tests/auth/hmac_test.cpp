#include "auth/detail/hmac.hpp"

#include <string>

#include <gtest/gtest.h>

namespace onda::auth::detail {
namespace {

std::string hex(Sha256Digest const& digest) {
    constexpr std::string_view digits = "0123456789abcdef";
    std::string out;
    for (unsigned char b : digest) {
        out += digits[b >> 4];
        out += digits[b & 0x0f];
    }
    return out;
}

// RFC 4231 §4.3, test case 2: a key shorter than the block.
TEST(HmacSha256, MatchesRfc4231ShortKeyVector) {
    EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// RFC 4231 §4.7, test case 6: a key longer than the 64-byte block is hashed first.
TEST(HmacSha256, MatchesRfc4231LongKeyVector) {
    std::string const key(131, '\xaa');
    EXPECT_EQ(hex(hmac_sha256(key, "Test Using Larger Than Block-Size Key - Hash Key First")),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256, EmptySecretIsABug) { EXPECT_DEATH(hmac_sha256("", "message"), "never empty"); }

TEST(EqualInConstantTime, AcceptsEqualBytes) {
    auto const a = hmac_sha256("k", "m");
    auto const b = hmac_sha256("k", "m");
    EXPECT_TRUE(equal_in_constant_time(a, b));
}

TEST(EqualInConstantTime, RejectsADifferenceInTheLastByte) {
    auto const a = hmac_sha256("k", "m");
    auto b = a;
    b.back() ^= 0x01;
    EXPECT_FALSE(equal_in_constant_time(a, b));
}

TEST(EqualInConstantTime, RejectsAPrefix) {
    auto const a = hmac_sha256("k", "m");
    EXPECT_FALSE(equal_in_constant_time(a, std::span(a).first(31)));
    EXPECT_FALSE(equal_in_constant_time(a, std::span<unsigned char const>()));
}

}  // namespace
}  // namespace onda::auth::detail
