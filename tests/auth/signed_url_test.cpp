#include "auth/signed_url.hpp"

#include <string>

#include <gtest/gtest.h>

#include "auth/base64.hpp"
#include "auth/detail/hmac.hpp"

namespace onda::auth {
namespace {

using std::chrono::seconds;

constexpr std::string_view secret = "url-secret-77d0";
constexpr std::string_view path = "/v1/media/m_2xK9aQbCdEfGhIjKlMnO/stream";
constexpr std::int64_t exp_unix = 1'800'003'600;

SystemTime at(std::int64_t unix_seconds) { return SystemTime(seconds(unix_seconds)); }
SystemTime const now = at(1'800'000'000);

// "ok", or the error's code and message.
std::string outcome(Result<void> const& result) {
    if (result) return "ok";
    return std::string(code_name(result.error().code())) + ": " + result.error().message();
}

std::string signature() { return url_signature(secret, path, "mp3-192", exp_unix); }

TEST(UrlSignature, IsHmacSha256OfPathRenditionAndExpInBase64Url) {
    std::string message(path);
    message += "\nmp3-192\n1800003600";
    auto const expected = detail::hmac_sha256(secret, message);
    EXPECT_EQ(signature(), base64url_encode(expected));
    EXPECT_EQ(signature().size(), 43u);
}

TEST(UrlSignature, DiffersWhenTheRenditionMovesIntoThePath) {
    // The separators keep ("/a\nb", "") and ("/a", "b") apart.
    EXPECT_NE(url_signature(secret, "/a", "b", exp_unix), url_signature(secret, "/ab", "", exp_unix));
    EXPECT_NE(url_signature(secret, "/a\nb", "", exp_unix), url_signature(secret, "/a", "b", exp_unix));
}

TEST(VerifyUrlSignature, AcceptsAValidLink) {
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "1800003600", signature(), now)), "ok");
}

TEST(VerifyUrlSignature, AcceptsAValidLinkWithoutRendition) {
    auto sig = url_signature(secret, path, "", exp_unix);
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "", "1800003600", sig, now)), "ok");
}

TEST(VerifyUrlSignature, AcceptsTheLinkAtItsExpirySecond) {
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "1800003600", signature(), at(exp_unix))), "ok");
}

TEST(VerifyUrlSignature, RejectsATamperedPath) {
    std::string other = std::string(path);
    other[12] = other[12] == 'x' ? 'y' : 'x';
    EXPECT_EQ(outcome(verify_url_signature(secret, other, "mp3-192", "1800003600", signature(), now)),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsATamperedRendition) {
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "flac", "1800003600", signature(), now)),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsADroppedRendition) {
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "", "1800003600", signature(), now)),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsATamperedExpAsBadSignatureEvenWhenLater) {
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "1900000000", signature(), at(1'850'000'000))),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsATamperedSignature) {
    std::string sig = signature();
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "1800003600", sig, now)),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsATruncatedSignature) {
    std::string sig = signature().substr(0, 40);
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "1800003600", sig, now)),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsAnEmptySignature) {
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "1800003600", "", now)),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsAPaddedSignature) {
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "1800003600", signature() + "=", now)),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsAnotherSecret) {
    EXPECT_EQ(outcome(verify_url_signature("other-secret", path, "mp3-192", "1800003600", signature(), now)),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsAnExpiredLinkAsExpired) {
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "1800003600", signature(),
                                           at(exp_unix) + std::chrono::milliseconds(1))),
              "expired: link expired");
}

TEST(VerifyUrlSignature, RejectsExpWithTrailingLetters) {
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "12a", signature(), now)),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsAnEmptyExp) {
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "", signature(), now)),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsANegativeExpEvenWhenSigned) {
    auto sig = url_signature(secret, path, "mp3-192", -5);
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "-5", sig, now)), "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsMinusZeroAsASecondSpellingOfZero) {
    auto sig = url_signature(secret, path, "mp3-192", 0);
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "-0", sig, now)), "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsAnExpThatOverflowsInt64) {
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "99999999999999999999", signature(), now)),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsAnExpWithALeadingZero) {
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "01800003600", signature(), now)),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, RejectsAnExpWithAPlusSign) {
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "mp3-192", "+1800003600", signature(), now)),
              "bad_signature: bad signature");
}

TEST(VerifyUrlSignature, AcceptsAnExpFarBeyondWhatTheClockCanHold) {
    constexpr std::int64_t far = 9'000'000'000'000'000'000;
    auto sig = url_signature(secret, path, "", far);
    EXPECT_EQ(outcome(verify_url_signature(secret, path, "", "9000000000000000000", sig, now)), "ok");
}

}  // namespace
}  // namespace onda::auth
