// Routes by method and path pattern. A pattern is a path whose segments are literals or `{name}`
// captures ("/v1/media/{id}/stream"); a capture matches one non-empty segment. Literal segments win
// over captures when both could match. Routes are added at start-up, before the server runs; after
// that the router is read-only and shared by every thread.
//
// Example:
//   router.add("GET", "/v1/media/{id}", "media.get", [&library](Request& r) { return library.get(r); });
//   auto match = router.match("GET", "/v1/media/m_123");
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/task.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace onda::http {

using Handler = std::function<Task<Response>(Request&)>;

struct RouteOptions {
    // API.md: the per-user/IP rate applies to API routes; media bytes, playlists and segments are
    // not counted.
    bool rate_limited = true;
    // The service verifies the caller's token before the handler runs (a bad one is a 401). Off for
    // routes that read and judge tokens themselves (Socket.IO answers a bad one in its own protocol).
    bool verify_token = true;
};

struct Route {
    std::string method;
    std::string pattern;
    std::string name;  // a stable label for metrics and logs, e.g. "media.stream"
    Handler handler;
    RouteOptions options;
    std::vector<std::string> segments;
    int specificity = 0;  // literal segments count more than captures (router.cpp)
};

struct RouteMatch {
    enum class Kind { found, not_found, method_not_allowed };
    Kind kind = Kind::not_found;
    Route const* route = nullptr;
    std::size_t index = 0;  // the route's position, for per-route metrics
    std::vector<std::pair<std::string, std::string>> params;
    std::string allow;  // for method_not_allowed: "GET, HEAD, PATCH"
};

class Router {
public:
    // A GET route also answers HEAD unless a HEAD route is added for the same pattern.
    void add(std::string method, std::string pattern, std::string name, Handler handler, RouteOptions options = {});
    RouteMatch match(std::string_view method, std::string_view path) const;
    std::vector<Route> const& routes() const { return routes_; }

private:
    std::vector<Route> routes_;
    std::vector<std::vector<std::size_t>> by_length_;  // route indexes by number of path segments
};

}  // namespace onda::http
