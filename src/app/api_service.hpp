// The http::Service of `onda serve`: everything that happens to every request around its handler.
// In order: CORS preflight, route lookup (404/405), identity (401 for a bad token, unless the route
// reads tokens itself), the API rate limit (429 with Retry-After), the handler, CORS response headers, per-route metrics and a debug
// log line with the request id.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auth/identity.hpp"
#include "auth/rate_limit.hpp"
#include "core/metrics.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

namespace onda::app {

class ApiService final : public http::Service {
public:
    // Every reference must outlive the service. Routes must all be added before construction.
    ApiService(http::Router const& router, auth::Authenticator const& authenticator, auth::RateLimiter& limiter,
               std::vector<std::string> allowed_origins, MetricsRegistry& metrics);

    Task<http::Response> handle(http::Request& request) override;

private:
    struct RouteMetrics {
        Histogram* latency;
        std::array<Counter*, 5> by_class;  // 1xx..5xx
    };
    // Everything before the handler: the answer when the request ends here (preflight, 404, 405,
    // 401, 429), else nothing, with the caller's identity and the route's parameters set on the
    // request. Not a coroutine: one frame fewer per request.
    std::optional<http::Response> admit(http::Request& request, http::RouteMatch& match);
    bool origin_allowed(std::string_view origin) const;  // listed, or "*" is configured
    bool is_listed(std::string_view origin) const;       // named exactly in cors.allowed_origins
    void add_cors_headers(http::Request const& request, http::Response& response) const;
    void record(std::size_t route_index, http::Response const& response, double seconds);

    http::Router const& router_;
    auth::Authenticator const& authenticator_;
    auth::RateLimiter& limiter_;
    std::vector<std::string> allowed_origins_;
    std::vector<RouteMetrics> route_metrics_;  // one per route, then one for unmatched requests
};

}  // namespace onda::app
