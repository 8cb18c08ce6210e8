// JSON Web Tokens (RFC 7519) signed with HMAC-SHA256 (RFC 7518 §3.2), the only algorithm onda
// accepts: a token whose header names any other `alg`, `none` included, is refused.
//
// Claims (API.md "Identity and access"): `sub` (required, non-empty string), `exp` (required,
// NumericDate), `role` (viewer | creator | moderator | admin; default viewer), optional `name`,
// `avatar`, `subscriber` (bool), `device`. `iat` is written by sign_jwt and ignored on reading.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace onda::auth {

// Ordered: each role may do what the roles before it may.
enum class Role { viewer, creator, moderator, admin };

std::string_view role_name(Role role);
std::optional<Role> parse_role(std::string_view name);  // exact, lowercase names only
inline bool has_role(Role have, Role need) { return static_cast<int>(have) >= static_cast<int>(need); }

struct Claims {
    std::string sub;
    SystemTime exp;
    Role role = Role::viewer;
    std::string name;
    std::string avatar;
    bool subscriber = false;
    std::string device;
};

// header.payload.signature in base64url without padding. Every string claim must be valid UTF-8
// (is_valid_utf8 in core/text.hpp): JSON text is UTF-8 (RFC 8259 §8.1), and verify_jwt refuses a
// token whose payload is not.
std::string sign_jwt(Claims const& claims, std::string_view secret, SystemTime issued_at);

// Every failure is Errc::unauthenticated with a message saying why ("token expired", "alg must be
// HS256", "bad signature", "malformed token", "missing sub"). The signature is compared in
// constant time and checked before the payload is trusted. A token is expired when now >= exp.
Result<Claims> verify_jwt(std::string_view token, std::string_view secret, SystemTime now);

}  // namespace onda::auth
