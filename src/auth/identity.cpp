#include "auth/identity.hpp"

#include <any>

namespace onda::auth {

std::string Authenticator::token_of(http::Request const& request) {
    auto authorization = request.header("Authorization");
    constexpr std::string_view bearer = "Bearer ";
    if (authorization.size() > bearer.size() && http::iequals(authorization.substr(0, bearer.size()), bearer))
        return std::string(authorization.substr(bearer.size()));
    if (auto query = request.query("token"); query && !query->empty()) return *query;
    if (auto cookie = request.cookie("onda_token"); cookie && !cookie->empty()) return *cookie;
    return {};
}

Result<Identity> Authenticator::identify(http::Request const& request) const {
    return identify_token(token_of(request));
}

Result<Identity> Authenticator::identify_token(std::string_view token) const {
    auto claims = claims_of(token);
    if (!claims) return claims.error();
    return identity_from(*claims);
}

Result<Claims> Authenticator::claims_of(std::string_view token) const {
    if (token.empty()) return Claims{};
    return verify_jwt(token, secret_, clock_.now());
}

Identity identity_from(Claims const& claims) { return Identity{.user = claims.sub, .role = claims.role}; }

Identity const& identity_of(http::Request const& request) {
    static Identity const anonymous;
    if (auto const* identity = std::any_cast<Identity>(&request.context())) return *identity;
    return anonymous;
}

Result<void> require_role(Identity const& identity, Role role) {
    if (identity.is_anonymous()) return Error(Errc::unauthenticated, "a token is required");
    if (!has_role(identity.role, role))
        return Error(Errc::forbidden, "this needs the " + std::string(role_name(role)) + " role");
    return ok();
}

}  // namespace onda::auth
