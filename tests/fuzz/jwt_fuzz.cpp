// Fuzzes auth::verify_jwt and auth::sign_jwt (src/auth/jwt.hpp). The first input byte picks a mode:
//   0: the rest is a token, verified as it stands (a forger's view: no secret);
//   1: the rest is a header JSON text, "\" and one more character, then a payload JSON text; both are
//      base64url-encoded and signed with the secret, so claim reading is reached with any JSON;
//   2: the rest makes Claims (sub, exp, role, name, avatar, subscriber, device) and a "now";
//      sign_jwt then verify_jwt must give exactly those claims back.
// Properties of every accepted token: sub non-empty, now < exp, a known role, the header names
// alg HS256 and no crit (RFC 8725 §3.1), another secret refuses it, and its claims signed again
// verify to the same claims. Every refusal is Errc::unauthenticated.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>
#include <fuzzer/FuzzedDataProvider.h>

#include "auth/base64.hpp"
#include "auth/detail/hmac.hpp"
#include "auth/jwt.hpp"
#include "core/text.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace onda;
using namespace onda::auth;
using std::chrono::seconds;

constexpr std::string_view secret = "fuzz-secret-4f1c2a9e";
constexpr std::string_view other_secret = "fuzz-secret-4f1c2a9f";
SystemTime const fixed_now = SystemTime(seconds(1'800'000'000));
// The largest NumericDate verify_jwt accepts: SystemTime's range in whole seconds, less one.
constexpr std::int64_t max_seconds = 9'223'372'035;

bool same_claims(Claims const& a, Claims const& b) {
    return a.sub == b.sub && a.exp == b.exp && a.role == b.role && a.name == b.name && a.avatar == b.avatar &&
           a.subscriber == b.subscriber && a.device == b.device;
}

SystemTime whole_seconds(SystemTime t) { return std::chrono::floor<seconds>(t); }

// The header of an accepted token pins the algorithm: it is an object with "alg": "HS256", no "crit".
void check_pinned_algorithm(std::string_view token) {
    auto const header_text = base64url_decode(token.substr(0, token.find('.')));
    ONDA_FUZZ_CHECK(header_text.has_value(), "an accepted header is base64url");
    boost::system::error_code ec;
    boost::json::value const header = boost::json::parse(*header_text, ec);
    ONDA_FUZZ_CHECK(!ec && header.is_object(), "an accepted header is a JSON object");
    auto const* alg = header.as_object().if_contains("alg");
    ONDA_FUZZ_CHECK(alg && alg->is_string() && alg->get_string() == "HS256", "an accepted header says HS256");
    ONDA_FUZZ_CHECK(!header.as_object().contains("crit"), "an accepted header has no crit");
}

// Checks what holds for any token, and returns the outcome.
Result<Claims> verify_and_check(std::string_view token, SystemTime now) {
    auto verified = verify_jwt(token, secret, now);
    if (!verified) {
        ONDA_FUZZ_CHECK(verified.error().code() == Errc::unauthenticated, "every refusal is unauthenticated");
        return verified;
    }
    Claims const& claims = *verified;
    ONDA_FUZZ_CHECK(!claims.sub.empty(), "an accepted token has a sub");
    ONDA_FUZZ_CHECK(now < claims.exp, "an accepted token has not expired");
    ONDA_FUZZ_CHECK(claims.role >= Role::viewer && claims.role <= Role::admin, "an accepted role is known");
    check_pinned_algorithm(token);
    ONDA_FUZZ_CHECK(!verify_jwt(token, other_secret, now), "another secret refuses the token");

    // sign_jwt writes exp in whole seconds, so the claims come back with exp rounded down.
    Claims expected = claims;
    expected.exp = whole_seconds(claims.exp);
    if (now < expected.exp) {
        auto const again = verify_jwt(sign_jwt(claims, secret, now), secret, now);
        ONDA_FUZZ_CHECK(again && same_claims(*again, expected), "accepted claims, signed again, verify the same");
    }
    return verified;
}

std::string signed_token(std::string_view header_json, std::string_view payload_json) {
    std::string token = base64url_encode(header_json) + '.' + base64url_encode(payload_json);
    auto const signature = auth::detail::hmac_sha256(secret, token);
    return token + '.' + base64url_encode(signature);
}

void round_trip(FuzzedDataProvider& input) {
    Claims claims;
    claims.sub = input.ConsumeRandomLengthString(64);
    claims.exp = SystemTime(seconds(input.ConsumeIntegralInRange<std::int64_t>(-max_seconds, max_seconds)));
    claims.role = static_cast<Role>(input.ConsumeIntegralInRange<int>(0, 3));
    claims.subscriber = input.ConsumeBool();
    claims.name = input.ConsumeRandomLengthString(64);
    claims.avatar = input.ConsumeRandomLengthString(64);
    claims.device = input.ConsumeRandomLengthString(64);
    auto const now_seconds = input.ConsumeIntegralInRange<std::int64_t>(-max_seconds, max_seconds - 1);
    auto const now_nanos = input.ConsumeIntegralInRange<int>(0, 999'999'999);
    SystemTime const now = SystemTime(seconds(now_seconds) + std::chrono::nanoseconds(now_nanos));
    auto const issued_seconds = input.ConsumeIntegralInRange<std::int64_t>(-max_seconds, max_seconds);
    SystemTime const issued_at = SystemTime(seconds(issued_seconds));

    std::string const token = sign_jwt(claims, secret, issued_at);
    auto const verified = verify_and_check(token, now);
    // sign_jwt's contract: string claims are UTF-8 (JSON text); others make a token verify_jwt refuses.
    bool const utf8 = is_valid_utf8(claims.sub) && is_valid_utf8(claims.name) && is_valid_utf8(claims.avatar) &&
                      is_valid_utf8(claims.device);
    bool const should_verify = utf8 && !claims.sub.empty() && now < claims.exp;
    ONDA_FUZZ_CHECK(bool(verified) == should_verify,
                    "a signed token verifies exactly when its claims are UTF-8 and it has a sub, unexpired");
    if (verified) ONDA_FUZZ_CHECK(same_claims(*verified, claims), "verify_jwt gives back the claims that were signed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    if (size < 1) return 0;
    std::uint8_t const mode = data[0] % 3;
    FuzzedDataProvider input(data + 1, size - 1);
    switch (mode) {
    case 0: verify_and_check(input.ConsumeRemainingBytesAsString(), fixed_now); break;
    case 1: {
        std::string const header = input.ConsumeRandomLengthString();
        std::string const payload = input.ConsumeRemainingBytesAsString();
        verify_and_check(signed_token(header, payload), fixed_now);
        break;
    }
    case 2: round_trip(input); break;
    }
    return 0;
}
