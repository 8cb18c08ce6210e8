// JWS compact serialisation (RFC 7515 §7.1), as JWTs use it (RFC 7519 §7):
//
//   token   = header "." payload "." signature        each part base64url without padding
//   header  = JSON object, "alg": "HS256" (RFC 7518 §3.1); "typ" optional and ignored
//   payload = JSON object of claims (RFC 7519 §4)
//   signature = HMAC-SHA256(secret, ASCII(header "." payload))   (RFC 7518 §3.2)
//
// Verification follows RFC 7519 §7.2: split, decode and parse the header, check `alg`, check the
// signature over the bytes as received, and only then decode the payload and read its claims.
#include "auth/jwt.hpp"

#include <array>
#include <cmath>
#include <optional>

#include <boost/json.hpp>

#include "auth/base64.hpp"
#include "auth/detail/hmac.hpp"

namespace onda::auth {
namespace json = boost::json;
using std::chrono::seconds;

namespace {

// Far above any token onda issues (about 300 bytes) and below header limits, so a hostile client
// cannot make the server parse megabytes of JSON per request.
constexpr std::size_t max_token_bytes = 8 * 1024;

constexpr std::array<std::string_view, 4> role_names = {"viewer", "creator", "moderator", "admin"};

Error unauthenticated(std::string message) { return Error(Errc::unauthenticated, std::move(message)); }

std::int64_t unix_seconds(SystemTime t) { return std::chrono::floor<seconds>(t.time_since_epoch()).count(); }

// Parses one base64url part as a JSON object; nullopt for anything else. Never throws on input:
// Boost.JSON reports syntax errors, bad UTF-8 and excessive nesting through the error code.
std::optional<json::object> decode_json_object(std::string_view part) {
    auto text = base64url_decode(part);
    if (!text) return std::nullopt;
    boost::system::error_code ec;
    json::value value = json::parse(*text, ec);
    if (ec || !value.is_object()) return std::nullopt;
    return std::move(value.as_object());
}

// A NumericDate (RFC 7519 §2): seconds since the epoch, possibly fractional. nullopt when it is
// not a number or lies outside what SystemTime can hold (about ±292 years around 1970).
std::optional<SystemTime> numeric_date(json::value const& value) {
    constexpr auto max_seconds = std::chrono::duration_cast<seconds>(SystemTime::duration::max()).count() - 1;
    if (auto const* i = value.if_int64()) {
        if (*i < -max_seconds || *i > max_seconds) return std::nullopt;
        return SystemTime(seconds(*i));
    }
    if (auto const* u = value.if_uint64()) {
        if (*u > static_cast<std::uint64_t>(max_seconds)) return std::nullopt;
        return SystemTime(seconds(static_cast<std::int64_t>(*u)));
    }
    if (auto const* d = value.if_double()) {
        if (!std::isfinite(*d) || std::fabs(*d) > static_cast<double>(max_seconds)) return std::nullopt;
        return SystemTime(std::chrono::duration_cast<SystemTime::duration>(std::chrono::duration<double>(*d)));
    }
    return std::nullopt;
}

// Reads an optional string claim into `out`; false when present with another type.
bool read_optional_string(json::object const& payload, std::string_view key, std::string& out) {
    json::value const* value = payload.if_contains(key);
    if (!value) return true;
    json::string const* text = value->if_string();
    if (!text) return false;
    out.assign(text->data(), text->size());
    return true;
}

Result<Claims> read_claims(json::object const& payload, SystemTime now) {
    Claims claims;

    json::value const* sub = payload.if_contains("sub");
    json::string const* sub_text = sub ? sub->if_string() : nullptr;
    if (!sub_text || sub_text->empty()) return unauthenticated("missing sub");
    claims.sub.assign(sub_text->data(), sub_text->size());

    json::value const* exp = payload.if_contains("exp");
    if (!exp) return unauthenticated("missing exp");
    auto exp_time = numeric_date(*exp);
    if (!exp_time) return unauthenticated("exp must be a NumericDate");
    claims.exp = *exp_time;
    if (now >= claims.exp) return unauthenticated("token expired");  // RFC 7519 §4.1.4: "on or after"

    // RFC 7519 §4.1.5: a token must not be accepted before `nbf`. onda never writes it, but tokens
    // minted by another service holding the secret may.
    if (json::value const* nbf = payload.if_contains("nbf")) {
        auto nbf_time = numeric_date(*nbf);
        if (!nbf_time) return unauthenticated("nbf must be a NumericDate");
        if (now < *nbf_time) return unauthenticated("token not yet valid");
    }

    if (json::value const* role = payload.if_contains("role")) {
        json::string const* role_text = role->if_string();
        auto parsed = role_text ? parse_role(std::string_view(role_text->data(), role_text->size())) : std::nullopt;
        if (!parsed) return unauthenticated("unknown role");
        claims.role = *parsed;
    }

    if (!read_optional_string(payload, "name", claims.name)) return unauthenticated("name must be a string");
    if (!read_optional_string(payload, "avatar", claims.avatar)) return unauthenticated("avatar must be a string");
    if (!read_optional_string(payload, "device", claims.device)) return unauthenticated("device must be a string");
    if (json::value const* subscriber = payload.if_contains("subscriber")) {
        bool const* flag = subscriber->if_bool();
        if (!flag) return unauthenticated("subscriber must be a boolean");
        claims.subscriber = *flag;
    }
    return claims;
}

}  // namespace

std::string_view role_name(Role role) { return role_names[static_cast<std::size_t>(role)]; }

std::optional<Role> parse_role(std::string_view name) {
    for (std::size_t i = 0; i < role_names.size(); ++i)
        if (role_names[i] == name) return static_cast<Role>(i);
    return std::nullopt;
}

std::string sign_jwt(Claims const& claims, std::string_view secret, SystemTime issued_at) {
    json::object payload;
    payload["sub"] = claims.sub;
    payload["exp"] = unix_seconds(claims.exp);  // whole seconds, rounded down: never later than asked
    payload["iat"] = unix_seconds(issued_at);
    payload["role"] = role_name(claims.role);
    // Optional claims are left out when unset, which keeps tokens short in query strings.
    if (!claims.name.empty()) payload["name"] = claims.name;
    if (!claims.avatar.empty()) payload["avatar"] = claims.avatar;
    if (claims.subscriber) payload["subscriber"] = true;
    if (!claims.device.empty()) payload["device"] = claims.device;

    std::string token = base64url_encode(std::string_view(R"({"alg":"HS256","typ":"JWT"})"));
    token += '.';
    token += base64url_encode(json::serialize(payload));
    auto const signature = detail::hmac_sha256(secret, token);
    token += '.';
    token += base64url_encode(signature);
    return token;
}

Result<Claims> verify_jwt(std::string_view token, std::string_view secret, SystemTime now) {
    if (token.size() > max_token_bytes) return unauthenticated("malformed token");

    // Exactly three parts (RFC 7515 §7.2.1 step 1); a JWE has five and is not accepted.
    std::size_t const first_dot = token.find('.');
    if (first_dot == std::string_view::npos) return unauthenticated("malformed token");
    std::size_t const second_dot = token.find('.', first_dot + 1);
    if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos)
        return unauthenticated("malformed token");
    std::string_view const header_part = token.substr(0, first_dot);
    std::string_view const payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
    std::string_view const signature_part = token.substr(second_dot + 1);
    std::string_view const signing_input = token.substr(0, second_dot);

    auto header = decode_json_object(header_part);
    if (!header) return unauthenticated("malformed token");
    // The algorithm is fixed by the server, never chosen by the token (RFC 8725 §3.1): this refuses
    // "none" and every algorithm-confusion attack.
    json::value const* alg = header->if_contains("alg");
    if (!alg || !alg->is_string() || alg->get_string() != "HS256") return unauthenticated("alg must be HS256");
    // RFC 7515 §4.1.11: extensions listed in "crit" must be understood; onda understands none.
    if (header->contains("crit")) return unauthenticated("malformed token");

    auto const signature = base64url_decode(signature_part);
    auto const expected = detail::hmac_sha256(secret, signing_input);
    if (!signature || !detail::equal_in_constant_time(
                          expected, {reinterpret_cast<unsigned char const*>(signature->data()), signature->size()}))
        return unauthenticated("bad signature");

    auto payload = decode_json_object(payload_part);
    if (!payload) return unauthenticated("malformed token");
    return read_claims(*payload, now);
}

}  // namespace onda::auth
