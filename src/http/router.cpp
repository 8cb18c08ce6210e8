#include "http/router.hpp"

#include <boost/container/small_vector.hpp>

namespace onda::http {
namespace {

// Request paths are split once per request: short ones without a heap allocation.
using Segments = boost::container::small_vector<std::string_view, 8>;

// "/a/b/" -> {"a", "b", ""}; the path must start with '/'.
Segments split_path(std::string_view path) {
    Segments segments;
    std::size_t start = 1;  // skip the leading '/'
    while (start <= path.size()) {
        auto slash = path.find('/', start);
        if (slash == std::string_view::npos) slash = path.size();
        segments.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return segments;
}

bool is_capture(std::string const& segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// How specific a match is: literal segments count more than captures.
int specificity(Route const& route) {
    int score = 0;
    for (auto const& segment : route.segments) score = score * 2 + (is_capture(segment) ? 0 : 1);
    return score;
}

bool matches(Route const& route, Segments const& path) {
    if (route.segments.size() != path.size()) return false;
    // From the last segment back: routes of one length mostly differ at the end ("/v1/media/{id}/stream"
    // and ".../download"), so a mismatch is found at the first comparison.
    for (std::size_t i = path.size(); i-- > 0;) {
        auto const& segment = route.segments[i];
        if (is_capture(segment) ? path[i].empty() : segment != path[i]) return false;
    }
    return true;
}

// The captures of a route that matches, percent-decoded, in pattern order. A capture that is not valid
// percent-encoding ends the list: the handler finds no such parameter and answers as for an unknown id.
void capture(Route const& route, Segments const& path, std::vector<std::pair<std::string, std::string>>& params) {
    for (std::size_t i = 0; i < path.size(); ++i) {
        auto const& segment = route.segments[i];
        if (!is_capture(segment)) continue;
        auto decoded = percent_decode(path[i], false);
        if (!decoded) return;
        params.emplace_back(segment.substr(1, segment.size() - 2), std::move(*decoded));
    }
}

}  // namespace

void Router::add(std::string method, std::string pattern, std::string name, Handler handler, RouteOptions options) {
    Route route{std::move(method), std::move(pattern), std::move(name), std::move(handler), options, {}, 0};
    for (auto segment : split_path(route.pattern)) route.segments.emplace_back(segment);
    route.specificity = specificity(route);
    std::size_t const length = route.segments.size();
    if (by_length_.size() <= length) by_length_.resize(length + 1);
    by_length_[length].push_back(routes_.size());
    routes_.push_back(std::move(route));
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
    if (path.empty() || path.front() != '/') return {};
    auto const parts = split_path(path);
    if (parts.size() >= by_length_.size()) return {};
    auto const& candidates = by_length_[parts.size()];  // a route matches only paths of its length

    RouteMatch result;
    int best = -1;
    bool path_known = false;
    for (std::size_t i : candidates) {
        auto const& route = routes_[i];
        if (!matches(route, parts)) continue;
        path_known = true;
        if (route.method == method || (method == "HEAD" && route.method == "GET")) {
            // An explicit HEAD route beats the GET fallback of the same specificity.
            if (route.specificity > best || (route.specificity == best && route.method == "HEAD")) {
                best = route.specificity;
                result.kind = RouteMatch::Kind::found;
                result.route = &route;
                result.index = i;
            }
        }
    }
    if (result.kind == RouteMatch::Kind::found) {
        capture(*result.route, parts, result.params);
        return result;
    }
    if (!path_known) return result;
    // The path names a resource, but not with this method: 405 lists the ones it has (RFC 9110 §15.5.6).
    std::vector<std::string> allowed;
    for (std::size_t i : candidates) {
        auto const& route = routes_[i];
        if (!matches(route, parts)) continue;
        if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) allowed.push_back(route.method);
        if (route.method == "GET" && std::find(allowed.begin(), allowed.end(), "HEAD") == allowed.end())
            allowed.push_back("HEAD");
    }
    result.kind = RouteMatch::Kind::method_not_allowed;
    std::sort(allowed.begin(), allowed.end());
    for (auto const& m : allowed) result.allow += (result.allow.empty() ? "" : ", ") + m;
    return result;
}

}  // namespace onda::http
