#include "http/request.hpp"

#include <charconv>

namespace onda::http {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

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

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;  // needs two hex digits after '%'
            int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

std::string percent_encode(std::string_view text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                          c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

Request::Request(std::string method, std::string target, std::vector<Header> headers, std::string remote_address,
                 std::string id, BodySource* body, std::size_t worker)
    : method_(std::move(method)),
      target_(std::move(target)),
      headers_(std::move(headers)),
      remote_address_(std::move(remote_address)),
      id_(std::move(id)),
      body_(body),
      worker_(worker) {
    std::string_view target_view = target_;
    auto question = target_view.find('?');
    path_ = target_view.substr(0, question);
    if (question != std::string_view::npos) query_ = parse_query(target_view.substr(question + 1));
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
