#include "http/router.hpp"

namespace onda::http {
namespace {

// "/a/b/" -> {"a", "b", ""}; the path must start with '/'.
std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> segments;
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

bool matches(Route const& route, std::vector<std::string_view> const& path,
             std::vector<std::pair<std::string, std::string>>* params) {
    if (route.segments.size() != path.size()) return false;
    for (std::size_t i = 0; i < path.size(); ++i) {
        auto const& segment = route.segments[i];
        if (is_capture(segment)) {
            if (path[i].empty()) return false;
            if (params) {
                auto decoded = percent_decode(path[i], false);
                if (!decoded) return false;
                params->emplace_back(segment.substr(1, segment.size() - 2), std::move(*decoded));
            }
        } else if (segment != path[i]) {
            return false;
        }
    }
    return true;
}

}  // namespace

void Router::add(std::string method, std::string pattern, std::string name, Handler handler, RouteOptions options) {
    Route route{std::move(method), std::move(pattern), std::move(name), std::move(handler), options, {}};
    for (auto segment : split_path(route.pattern)) route.segments.emplace_back(segment);
    routes_.push_back(std::move(route));
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
    if (path.empty() || path.front() != '/') return {};
    auto const parts = split_path(path);

    RouteMatch result;
    int best = -1;
    std::vector<std::string> allowed;
    for (std::size_t i = 0; i < routes_.size(); ++i) {
        auto const& route = routes_[i];
        if (!matches(route, parts, nullptr)) continue;
        int score = specificity(route);
        bool method_ok = route.method == method;
        if (method_ok || (method == "HEAD" && route.method == "GET")) {
            // An explicit HEAD route beats the GET fallback of the same specificity.
            if (score > best || (score == best && route.method == "HEAD")) {
                best = score;
                result.kind = RouteMatch::Kind::found;
                result.route = &route;
                result.index = i;
            }
        }
        if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) allowed.push_back(route.method);
        if (route.method == "GET" && std::find(allowed.begin(), allowed.end(), "HEAD") == allowed.end())
            allowed.push_back("HEAD");
    }
    if (result.kind == RouteMatch::Kind::found) {
        matches(*result.route, parts, &result.params);
        return result;
    }
    if (!allowed.empty()) {
        // The path names a resource, but not with this method: 405 lists the ones it has (RFC 9110 §15.5.6).
        result.kind = RouteMatch::Kind::method_not_allowed;
        std::sort(allowed.begin(), allowed.end());
        for (auto const& m : allowed) result.allow += (result.allow.empty() ? "" : ", ") + m;
    }
    return result;
}

}  // namespace onda::http
