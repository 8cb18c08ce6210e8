#include "auth/jwt.hpp"

#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/base64.hpp"
#include "auth/detail/hmac.hpp"

namespace onda::auth {
namespace {

using std::chrono::seconds;

constexpr std::string_view secret = "test-secret-4f1c2a9e";
constexpr std::string_view hs256_header = R"({"alg":"HS256","typ":"JWT"})";

SystemTime at(std::int64_t unix_seconds) { return SystemTime(seconds(unix_seconds)); }

// Every token below expires at 1800003600 unless it says otherwise; "now" is an hour earlier.
SystemTime const now = at(1'800'000'000);
SystemTime const exp_time = at(1'800'003'600);

// A token carrying exactly these header and payload bytes, with a correct HMAC-SHA256 over them,
// so a refusal can only come from what the bytes say.
std::string make_token(std::string_view header_json, std::string_view payload_json, std::string_view key = secret) {
    std::string token = base64url_encode(header_json) + "." + base64url_encode(payload_json);
    token += "." + base64url_encode(detail::hmac_sha256(key, token));
    return token;
}

std::string make_token(std::string_view payload_json) { return make_token(hs256_header, payload_json); }

// "accepted", or the error's code and message, so a failing test shows why a token was refused.
std::string outcome(Result<Claims> const& result) {
    if (result) return "accepted";
    return std::string(code_name(result.error().code())) + ": " + result.error().message();
}

std::vector<std::string> split(std::string const& token) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t dot; (dot = token.find('.', start)) != std::string::npos; start = dot + 1)
        parts.push_back(token.substr(start, dot - start));
    parts.push_back(token.substr(start));
    return parts;
}

Claims alice() { return Claims{.sub = "alice", .exp = exp_time}; }

TEST(RoleName, RoundTripsThroughParseRole) {
    for (Role role : {Role::viewer, Role::creator, Role::moderator, Role::admin})
        EXPECT_EQ(parse_role(role_name(role)), role) << role_name(role);
    EXPECT_EQ(role_name(Role::moderator), "moderator");
}

TEST(ParseRole, RejectsUppercaseNames) {
    EXPECT_FALSE(parse_role("Admin"));
    EXPECT_FALSE(parse_role("VIEWER"));
}

TEST(ParseRole, RejectsUnknownAndEmptyNames) {
    EXPECT_FALSE(parse_role("superuser"));
    EXPECT_FALSE(parse_role(""));
    EXPECT_FALSE(parse_role("admin "));
}

TEST(HasRole, EachRoleIncludesTheOnesBeforeIt) {
    EXPECT_TRUE(has_role(Role::admin, Role::moderator));
    EXPECT_TRUE(has_role(Role::creator, Role::creator));
    EXPECT_TRUE(has_role(Role::creator, Role::viewer));
    EXPECT_FALSE(has_role(Role::creator, Role::moderator));
    EXPECT_FALSE(has_role(Role::viewer, Role::creator));
}

TEST(SignJwt, WritesAnHs256HeaderAndThreeBase64UrlParts) {
    auto parts = split(sign_jwt(alice(), secret, now));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(base64url_decode(parts[0]), hs256_header);
    EXPECT_TRUE(base64url_decode(parts[1]));
    EXPECT_EQ(base64url_decode(parts[2]).value_or("").size(), 32u);
}

TEST(SignJwt, WritesIatAndRoundsExpDownToWholeSeconds) {
    Claims claims = alice();
    claims.exp += std::chrono::milliseconds(999);
    auto parts = split(sign_jwt(claims, secret, now + std::chrono::milliseconds(500)));
    ASSERT_EQ(parts.size(), 3u);
    auto payload = boost::json::parse(base64url_decode(parts[1]).value()).as_object();
    EXPECT_EQ(payload.at("exp").as_int64(), 1'800'003'600);
    EXPECT_EQ(payload.at("iat").as_int64(), 1'800'000'000);
    EXPECT_EQ(payload.at("role").as_string(), "viewer");
}

TEST(VerifyJwt, RoundTripsAllClaims) {
    Claims const claims{.sub = "u_42",
                        .exp = exp_time,
                        .role = Role::moderator,
                        .name = "Ana \"Mod\" Souza",
                        .avatar = "https://cdn.example/a.png",
                        .subscriber = true,
                        .device = "d-phone"};
    auto verified = verify_jwt(sign_jwt(claims, secret, now), secret, now);
    ASSERT_EQ(outcome(verified), "accepted");
    EXPECT_EQ(verified->sub, claims.sub);
    EXPECT_EQ(verified->exp, claims.exp);
    EXPECT_EQ(verified->role, claims.role);
    EXPECT_EQ(verified->name, claims.name);
    EXPECT_EQ(verified->avatar, claims.avatar);
    EXPECT_EQ(verified->subscriber, claims.subscriber);
    EXPECT_EQ(verified->device, claims.device);
}

TEST(VerifyJwt, RoundTripsUnsetOptionalClaimsAsDefaults) {
    auto verified = verify_jwt(sign_jwt(alice(), secret, now), secret, now);
    ASSERT_EQ(outcome(verified), "accepted");
    EXPECT_EQ(verified->role, Role::viewer);
    EXPECT_EQ(verified->name, "");
    EXPECT_EQ(verified->avatar, "");
    EXPECT_FALSE(verified->subscriber);
    EXPECT_EQ(verified->device, "");
}

TEST(VerifyJwt, DefaultsRoleToViewerWhenAbsent) {
    auto verified = verify_jwt(make_token(R"({"sub":"alice","exp":1800003600})"), secret, now);
    ASSERT_EQ(outcome(verified), "accepted");
    EXPECT_EQ(verified->role, Role::viewer);
}

TEST(VerifyJwt, AcceptsAHeaderWithoutTyp) {
    auto token = make_token(R"({"alg":"HS256"})", R"({"sub":"alice","exp":1800003600})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "accepted");
}

TEST(VerifyJwt, AcceptsAFractionalExp) {
    auto verified = verify_jwt(make_token(R"({"sub":"alice","exp":1800003600.5})"), secret, now);
    ASSERT_EQ(outcome(verified), "accepted");
    EXPECT_EQ(verified->exp, exp_time + std::chrono::milliseconds(500));
}

TEST(VerifyJwt, IgnoresIat) {
    auto token = make_token(R"({"sub":"alice","exp":1800003600,"iat":"not a date"})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "accepted");
}

// RFC 7515 Appendix A.1: a foreign HS256 token. Its signature checks out, so verification reaches
// the claims, where the missing `sub` (the example has none) is what refuses it.
TEST(VerifyJwt, ChecksTheRfc7515ExampleSignature) {
    auto const key =
        base64url_decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
    ASSERT_TRUE(key);
    std::string const token =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
        ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    EXPECT_EQ(outcome(verify_jwt(token, *key, at(1'300'000'000))), "unauthenticated: missing sub");
}

TEST(VerifyJwt, RejectsAlgNone) {
    std::string token = base64url_encode(std::string_view(R"({"alg":"none","typ":"JWT"})")) + "." +
                        base64url_encode(std::string_view(R"({"sub":"alice","exp":1800003600,"role":"admin"})")) + ".";
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: alg must be HS256");
}

TEST(VerifyJwt, RejectsHs384EvenWhenTheBytesCarryAnHs256Signature) {
    auto token = make_token(R"({"alg":"HS384","typ":"JWT"})", R"({"sub":"alice","exp":1800003600})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: alg must be HS256");
}

TEST(VerifyJwt, RejectsRs256) {
    auto token = make_token(R"({"alg":"RS256","typ":"JWT"})", R"({"sub":"alice","exp":1800003600})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: alg must be HS256");
}

TEST(VerifyJwt, RejectsMissingAlg) {
    auto token = make_token(R"({"typ":"JWT"})", R"({"sub":"alice","exp":1800003600})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: alg must be HS256");
}

TEST(VerifyJwt, RejectsLowercaseAlg) {
    auto token = make_token(R"({"alg":"hs256"})", R"({"sub":"alice","exp":1800003600})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: alg must be HS256");
}

TEST(VerifyJwt, RejectsAlgThatIsNotAString) {
    auto token = make_token(R"({"alg":["HS256"]})", R"({"sub":"alice","exp":1800003600})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: alg must be HS256");
}

TEST(VerifyJwt, RejectsCriticalHeaderExtensions) {
    auto token = make_token(R"({"alg":"HS256","crit":["exp"]})", R"({"sub":"alice","exp":1800003600})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsTamperedPayload) {
    auto parts = split(sign_jwt(alice(), secret, now));
    ASSERT_EQ(parts.size(), 3u);
    std::string payload = base64url_decode(parts[1]).value();
    auto role = payload.find(R"("role":"viewer")");
    ASSERT_NE(role, std::string::npos);
    payload.replace(role, 15, R"("role":"admin")");
    std::string token = parts[0] + "." + base64url_encode(payload) + "." + parts[2];
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: bad signature");
}

TEST(VerifyJwt, RejectsTamperedSignature) {
    std::string token = sign_jwt(alice(), secret, now);
    std::size_t const middle = token.rfind('.') + 20;
    token[middle] = token[middle] == 'A' ? 'B' : 'A';
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: bad signature");
}

TEST(VerifyJwt, RejectsEmptySignature) {
    std::string token = sign_jwt(alice(), secret, now);
    token.erase(token.rfind('.') + 1);
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: bad signature");
}

TEST(VerifyJwt, RejectsWrongSecret) {
    auto token = sign_jwt(alice(), secret, now);
    EXPECT_EQ(outcome(verify_jwt(token, "another-secret", now)), "unauthenticated: bad signature");
}

TEST(VerifyJwt, RejectsEverySingleCharacterChange) {
    std::string const token = sign_jwt(alice(), secret, now);
    for (std::size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '.') continue;
        std::string changed = token;
        changed[i] = token[i] == 'x' ? 'y' : 'x';
        EXPECT_FALSE(verify_jwt(changed, secret, now)) << "position " << i;
    }
}

TEST(VerifyJwt, AcceptsATokenJustBeforeExp) {
    auto token = sign_jwt(alice(), secret, now);
    EXPECT_EQ(outcome(verify_jwt(token, secret, exp_time - std::chrono::nanoseconds(1))), "accepted");
}

TEST(VerifyJwt, RejectsATokenAtExactlyExp) {
    auto token = sign_jwt(alice(), secret, now);
    EXPECT_EQ(outcome(verify_jwt(token, secret, exp_time)), "unauthenticated: token expired");
}

TEST(VerifyJwt, RejectsATokenAfterExp) {
    auto token = sign_jwt(alice(), secret, now);
    EXPECT_EQ(outcome(verify_jwt(token, secret, exp_time + std::chrono::hours(1))), "unauthenticated: token expired");
}

TEST(VerifyJwt, RejectsATokenBeforeNbf) {
    auto token = make_token(R"({"sub":"alice","exp":1800003600,"nbf":1800000001})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: token not yet valid");
}

TEST(VerifyJwt, AcceptsATokenAtNbf) {
    auto token = make_token(R"({"sub":"alice","exp":1800003600,"nbf":1800000000})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "accepted");
}

TEST(VerifyJwt, RejectsMissingSub) {
    auto token = make_token(R"({"exp":1800003600,"role":"admin"})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: missing sub");
}

TEST(VerifyJwt, RejectsEmptySub) {
    auto token = make_token(R"({"sub":"","exp":1800003600})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: missing sub");
}

TEST(VerifyJwt, RejectsNumericSub) {
    auto token = make_token(R"({"sub":42,"exp":1800003600})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: missing sub");
}

TEST(VerifyJwt, RejectsMissingExp) {
    auto token = make_token(R"({"sub":"alice"})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: missing exp");
}

TEST(VerifyJwt, RejectsExpWrittenAsAString) {
    auto token = make_token(R"({"sub":"alice","exp":"1800003600"})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: exp must be a NumericDate");
}

TEST(VerifyJwt, RejectsNullExp) {
    auto token = make_token(R"({"sub":"alice","exp":null})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: exp must be a NumericDate");
}

TEST(VerifyJwt, RejectsExpBeyondWhatTheClockCanHold) {
    auto token = make_token(R"({"sub":"alice","exp":1e300})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: exp must be a NumericDate");
}

TEST(VerifyJwt, RejectsExpAboveInt64) {
    auto token = make_token(R"({"sub":"alice","exp":18446744073709551615})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: exp must be a NumericDate");
}

TEST(VerifyJwt, RejectsRoleNotInTheList) {
    auto token = make_token(R"({"sub":"alice","exp":1800003600,"role":"superuser"})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: unknown role");
}

TEST(VerifyJwt, RejectsRoleInUppercase) {
    auto token = make_token(R"({"sub":"alice","exp":1800003600,"role":"ADMIN"})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: unknown role");
}

TEST(VerifyJwt, RejectsNullRole) {
    auto token = make_token(R"({"sub":"alice","exp":1800003600,"role":null})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: unknown role");
}

TEST(VerifyJwt, RejectsSubscriberThatIsNotABoolean) {
    auto token = make_token(R"({"sub":"alice","exp":1800003600,"subscriber":"yes"})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: subscriber must be a boolean");
}

TEST(VerifyJwt, RejectsNameThatIsNotAString) {
    auto token = make_token(R"({"sub":"alice","exp":1800003600,"name":{"first":"A"}})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: name must be a string");
}

TEST(VerifyJwt, RejectsEmptyToken) {
    EXPECT_EQ(outcome(verify_jwt("", secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsOneSegment) {
    EXPECT_EQ(outcome(verify_jwt("eyJhbGciOiJIUzI1NiJ9", secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsTwoSegments) {
    auto token = sign_jwt(alice(), secret, now);
    token.erase(token.rfind('.'));
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsFourSegments) {
    auto token = sign_jwt(alice(), secret, now) + ".e30";
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsPaddedBase64InTheHeader) {
    constexpr std::string_view header = R"({"alg":"HS256", "typ":"JWT"})";  // 28 bytes: padded with "=="
    std::string token = base64_encode({reinterpret_cast<unsigned char const*>(header.data()), header.size()});
    ASSERT_TRUE(token.ends_with("=="));
    token += "." + base64url_encode(std::string_view(R"({"sub":"alice","exp":1800003600})"));
    token += "." + base64url_encode(detail::hmac_sha256(secret, token));
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsBadBase64UrlInTheSignedPayload) {
    // The signature covers the bytes as sent, so this one matches and decoding is what fails.
    std::string token = base64url_encode(hs256_header) + ".e30*";
    token += "." + base64url_encode(detail::hmac_sha256(secret, token));
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsNonJsonHeader) {
    auto token = make_token("alg=HS256", R"({"sub":"alice","exp":1800003600})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsNonJsonPayload) {
    auto token = make_token("sub=alice;exp=1800003600");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsJsonArrayHeader) {
    auto token = make_token(R"(["alg","HS256"])", R"({"sub":"alice","exp":1800003600})");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsJsonArrayPayload) {
    auto token = make_token(R"([{"sub":"alice","exp":1800003600}])");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsTrailingBytesAfterThePayloadObject) {
    auto token = make_token(R"({"sub":"alice","exp":1800003600}x)");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsInvalidUtf8InThePayload) {
    auto token = make_token("{\"sub\":\"al\xff\xfeice\",\"exp\":1800003600}");
    EXPECT_EQ(outcome(verify_jwt(token, secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsDeeplyNestedJsonWithoutCrashing) {
    std::string nested = R"({"sub":"alice","exp":1800003600,"x":)";
    nested.append(2000, '[');
    nested.append(2000, ']');
    nested += '}';
    EXPECT_EQ(outcome(verify_jwt(make_token(nested), secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsAHugeToken) {
    std::string huge(400'000, 'a');
    huge += '.';
    huge.append(400'000, 'b');
    huge += '.';
    huge.append(43, 'c');
    EXPECT_EQ(outcome(verify_jwt(huge, secret, now)), "unauthenticated: malformed token");
}

TEST(VerifyJwt, RejectsAValidlySignedTokenPastTheSizeLimit) {
    Claims claims = alice();
    claims.name = std::string(10'000, 'n');
    EXPECT_EQ(outcome(verify_jwt(sign_jwt(claims, secret, now), secret, now)), "unauthenticated: malformed token");
}

}  // namespace
}  // namespace onda::auth
