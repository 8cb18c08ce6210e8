#include "app/api_service.hpp"

#include <chrono>

#include "core/log.hpp"

namespace onda::app {
namespace {

constexpr std::string_view cors_allow_headers =
    "Authorization, Content-Type, Range, If-Range, If-None-Match, If-Modified-Since, Upload-Offset, Upload-Length, "
    "Upload-Metadata, Upload-Checksum, Upload-Defer-Length, Upload-Concat, Tus-Resumable, X-HTTP-Method-Override, "
    "X-Requested-With";
constexpr std::string_view cors_expose_headers =
    "Location, Content-Range, Content-Length, Content-Disposition, ETag, Accept-Ranges, Retry-After, X-Request-Id, "
    "Upload-Offset, Upload-Length, Upload-Expires, Upload-Metadata, Tus-Version, Tus-Resumable, Tus-Extension, "
    "Tus-Max-Size, Tus-Checksum-Algorithm, Onda-Media-Id";

}  // namespace

ApiService::ApiService(http::Router const& router, auth::Authenticator const& authenticator, auth::RateLimiter& limiter,
                       std::vector<std::string> allowed_origins, MetricsRegistry& metrics)
    : router_(router), authenticator_(authenticator), limiter_(limiter), allowed_origins_(std::move(allowed_origins)) {
    auto add_metrics = [&](std::string const& name) {
        RouteMetrics m{};
        m.latency = &metrics.histogram("onda_http_request_duration_seconds",
                                       "Time from request head to response, by route", {{"route", name}});
        for (int c = 0; c < 5; ++c)
            m.by_class[c] = &metrics.counter("onda_http_requests_total", "HTTP requests by route and status class",
                                             {{"route", name}, {"status", fmt::format("{}xx", c + 1)}});
        route_metrics_.push_back(m);
    };
    for (auto const& route : router_.routes()) add_metrics(route.name);
    add_metrics("unmatched");
}

bool ApiService::is_listed(std::string_view origin) const {
    return std::find(allowed_origins_.begin(), allowed_origins_.end(), origin) != allowed_origins_.end();
}

bool ApiService::origin_allowed(std::string_view origin) const {
    return is_listed(origin) ||
           std::find(allowed_origins_.begin(), allowed_origins_.end(), "*") != allowed_origins_.end();
}

void ApiService::add_cors_headers(http::Request const& request, http::Response& response) const {
    auto origin = request.header("Origin");
    if (origin.empty() || !origin_allowed(origin)) return;
    response.set_header("Access-Control-Expose-Headers", std::string(cors_expose_headers));
    response.add_header("Vary", "Origin");
    if (is_listed(origin)) {
        // A listed origin may send the user's cookie (onda_token) along.
        response.set_header("Access-Control-Allow-Origin", std::string(origin));
        response.set_header("Access-Control-Allow-Credentials", "true");
    } else {
        // Allowed only through "*": any site may read, but never with the user's credentials, or
        // every page on the web could act as the signed-in user.
        response.set_header("Access-Control-Allow-Origin", "*");
    }
}

void ApiService::record(std::size_t route_index, http::Response const& response, double seconds) {
    auto& m = route_metrics_[route_index];
    m.latency->observe(seconds);
    unsigned const status_class = std::clamp(response.status() / 100, 1u, 5u);
    m.by_class[status_class - 1]->add();
}

Task<http::Response> ApiService::handle(http::Request& request) {
    auto const started = std::chrono::steady_clock::now();
    auto match = router_.match(request.method(), request.path());
    std::size_t const metrics_index =
        match.kind == http::RouteMatch::Kind::found ? match.index : route_metrics_.size() - 1;

    std::optional<http::Response> refusal = admit(request, match);
    http::Response response;
    if (refusal) {
        response = std::move(*refusal);
    } else {
        Task<http::Response> handling = match.route->handler(request);
        response = co_await std::move(handling);
    }

    add_cors_headers(request, response);
    double const seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    record(metrics_index, response, seconds);
    log::debug("req={} {} {} {} {:.3f}ms peer={}", request.id(), request.method(), request.path(), response.status(),
               seconds * 1000, request.remote_address());
    co_return response;
}

std::optional<http::Response> ApiService::admit(http::Request& request, http::RouteMatch& match) {
    // CORS preflight (Fetch standard): answered here for any path, before identity is needed, even
    // where an OPTIONS route exists (tus discovery at /v1/uploads is not a preflight).
    if (request.method() == "OPTIONS" && request.has_header("Origin") &&
        request.has_header("Access-Control-Request-Method")) {
        http::Response preflight(204);
        if (origin_allowed(request.header("Origin"))) {
            // Allow-Origin (and credentials) are added by handle(), as for every response.
            preflight.add_header("Access-Control-Allow-Methods", "GET, HEAD, POST, PATCH, PUT, DELETE, OPTIONS");
            preflight.add_header("Access-Control-Allow-Headers", std::string(cors_allow_headers));
            preflight.add_header("Access-Control-Max-Age", "86400");
        }
        return preflight;
    }
    if (match.kind == http::RouteMatch::Kind::not_found)
        return http::error_response(Error(Errc::not_found, "no route for " + std::string(request.path())));
    if (match.kind == http::RouteMatch::Kind::method_not_allowed) {
        auto response = http::error_response(Error(
            Errc::method_not_allowed, std::string(request.method()) + " is not allowed here; allowed: " + match.allow));
        response.add_header("Allow", match.allow);
        return response;
    }

    auth::Identity identity;  // anonymous unless a token is verified here
    if (match.route->options.verify_token) {
        auto identified = authenticator_.identify(request);
        if (!identified) {
            auto response = http::error_response(identified.error());
            response.add_header("WWW-Authenticate", "Bearer");
            return response;
        }
        identity = std::move(*identified);
    }
    if (match.route->options.rate_limited) {
        std::string key = identity.is_anonymous() ? "ip:" + request.remote_address() : "user:" + identity.user;
        if (auto decision = limiter_.take(key); !decision.allowed) {
            auto response = http::error_response(Error(Errc::rate_limited, "too many requests; slow down"));
            response.add_header("Retry-After", std::to_string(decision.retry_after.count()));
            return response;
        }
    }
    if (!identity.is_anonymous()) request.context() = std::move(identity);  // identity_of() is anonymous without one
    request.set_params(std::move(match.params));
    return std::nullopt;
}

}  // namespace onda::app
