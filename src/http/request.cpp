#include "http/request.hpp"

#include <charconv>

#include <fmt/format.h>

namespace onda::http {
namespace {

// application/x-www-form-urlencoded pairs; a pair whose escapes are broken is dropped.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> pairs;
    while (!query.empty()) {
        auto amp = query.find('&');
        auto item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (item.empty()) continue;
        auto eq = item.find('=');
        auto name = percent_decode(item.substr(0, eq), true);
        auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1), true);
        if (name && value) pairs.emplace_back(std::move(*name), std::move(*value));
    }
    return pairs;
}

}  // namespace

Request::Request(std::string method, std::string target, std::vector<Header> const& headers, std::string remote_address,
                 std::string id, BodySource* body, std::size_t worker)
    : remote_address_(std::move(remote_address)), id_(std::move(id)), body_(body), worker_(worker) {
    // Everything in one string, then views into it (text_ no longer changes).
    std::size_t total = method.size() + target.size();
    for (auto const& [name, value] : headers) total += name.size() + value.size();
    text_.reserve(total);
    text_ += method;
    text_ += target;
    for (auto const& [name, value] : headers) {
        text_ += name;
        text_ += value;
    }
    std::string_view all = text_;
    method_ = all.substr(0, method.size());
    target_ = all.substr(method.size(), target.size());
    std::size_t at = method.size() + target.size();
    for (auto const& [name, value] : headers) {
        headers_.emplace_back(all.substr(at, name.size()), all.substr(at + name.size(), value.size()));
        at += name.size() + value.size();
    }
    parse_target();
}

Request::Request(std::string_view head, std::string_view method, std::string_view target,
                 std::span<HeaderView const> headers, std::string remote_address, std::string id, BodySource* body,
                 std::size_t worker)
    : text_(head), remote_address_(std::move(remote_address)), id_(std::move(id)), body_(body), worker_(worker) {
    std::string_view const all = text_;
    auto rebase = [&](std::string_view view) {
        return all.substr(static_cast<std::size_t>(view.data() - head.data()), view.size());
    };
    method_ = rebase(method);
    target_ = rebase(target);
    for (auto const& [name, value] : headers) headers_.emplace_back(rebase(name), rebase(value));
    parse_target();
}

void Request::parse_target() {
    auto question = target_.find('?');
    path_ = target_.substr(0, question);
    if (question != std::string_view::npos) query_ = parse_query(target_.substr(question + 1));
}

std::optional<std::string> Request::query(std::string_view name) const {
    for (auto const& [key, value] : query_)
        if (key == name) return value;
    return std::nullopt;
}

std::string_view Request::header(std::string_view name) const {
    for (auto const& [key, value] : headers_)
        if (iequals(key, name)) return value;
    return {};
}

bool Request::has_header(std::string_view name) const {
    for (auto const& [key, value] : headers_)
        if (iequals(key, name)) return true;
    return false;
}

std::optional<std::string> Request::cookie(std::string_view name) const {
    // Cookie: a=1; b=2 (RFC 6265 §4.2.1)
    std::string_view cookies = header("Cookie");
    while (!cookies.empty()) {
        auto semi = cookies.find(';');
        auto item = cookies.substr(0, semi);
        cookies = semi == std::string_view::npos ? std::string_view{} : cookies.substr(semi + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        auto eq = item.find('=');
        if (eq == std::string_view::npos || item.substr(0, eq) != name) continue;
        auto value = item.substr(eq + 1);
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        return std::string(value);
    }
    return std::nullopt;
}

std::string_view Request::param(std::string_view name) const {
    for (auto const& [key, value] : params_)
        if (key == name) return value;
    return {};
}

std::optional<std::uint64_t> Request::content_length() const {
    auto text = header("Content-Length");
    if (text.empty()) return std::nullopt;
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

bool Request::has_body() const {
    if (auto length = content_length()) return *length > 0;
    return !header("Transfer-Encoding").empty();
}

Task<Result<std::size_t>> Request::read_some(std::span<char> out) {
    if (!body_) co_return std::size_t{0};
    co_return co_await body_->read_some(out);
}

Task<Result<std::string>> Request::read_body(std::size_t limit) {
    std::string body;
    if (auto length = content_length(); length && *length > limit)
        co_return Error(Errc::too_large, fmt::format("request body is larger than {} bytes", limit));
    char chunk[16 * 1024];
    for (;;) {
        auto n = co_await read_some(chunk);
        if (!n) co_return n.error();
        if (*n == 0) break;
        if (body.size() + *n > limit)
            co_return Error(Errc::too_large, fmt::format("request body is larger than {} bytes", limit));
        body.append(chunk, *n);
    }
    co_return body;
}

}  // namespace onda::http
