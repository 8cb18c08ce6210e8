// Who is calling: read from the request's token (API.md: `Authorization: Bearer …`, else the
// `token` query parameter, else the `onda_token` cookie). No token is an anonymous viewer; a token
// that is present but invalid is an error (401), never silently anonymous.
#pragma once

#include <string>
#include <string_view>

#include "auth/jwt.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "http/request.hpp"

namespace onda::auth {

// Only what access decisions need: a Socket.IO connection keeps one for as long as it lives (the
// other claims stay in Claims, for who asks verify()).
struct Identity {
    std::string user;  // `sub`; empty when anonymous
    Role role = Role::viewer;

    bool is_anonymous() const { return user.empty(); }
    bool is_admin() const { return role == Role::admin; }
    // The owner of a resource, or an admin.
    bool may_manage(std::string_view owner) const { return is_admin() || (!is_anonymous() && user == owner); }
};

class Authenticator {
public:
    // `secret` and `clock` must outlive the authenticator.
    Authenticator(std::string const& secret, Clock const& clock) : secret_(secret), clock_(clock) {}

    // unauthenticated (with the reason) when a token is present but does not verify.
    Result<Identity> identify(http::Request const& request) const;
    // The same for a token found elsewhere (e.g. Socket.IO's `auth.token`); "" is anonymous.
    Result<Identity> identify_token(std::string_view token) const;
    // All the claims of a token, with the same checks; "" is no token: empty claims, whose identity
    // (identity_from) is anonymous.
    Result<Claims> claims_of(std::string_view token) const;

    // The token text as found, or "" when none.
    static std::string token_of(http::Request const& request);

    std::string const& secret() const { return secret_; }
    Clock const& clock() const { return clock_; }

private:
    std::string const& secret_;
    Clock const& clock_;
};

// The identity the service attached to the request (anonymous when none was).
// The identity a token's claims make.
Identity identity_from(Claims const& claims);

// The identity the API layer found for the request (anonymous when it set none).
Identity const& identity_of(http::Request const& request);

// unauthenticated for anonymous callers, forbidden for callers below `role`.
Result<void> require_role(Identity const& identity, Role role);

}  // namespace onda::auth
