// Small text rules of HTTP and URIs that many files share: case-insensitive names and percent
// encoding. No I/O, no Asio: parsers and fuzz targets use it alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace onda::http {

// ASCII case-insensitive equality, as header names compare (RFC 9110 §5.1).
bool iequals(std::string_view a, std::string_view b);

// `text` without the optional whitespace (SP, HTAB) around it (RFC 9110 §5.6.3).
std::string_view trim_ows(std::string_view text);

// Calls fn(element) for each non-empty element of a comma-separated list (RFC 9110 §5.6.1), with
// the whitespace around it trimmed.
template <class Fn>
void for_each_list_element(std::string_view list, Fn fn) {
    for (;;) {
        auto const comma = list.find(',');
        auto const element = trim_ows(list.substr(0, comma));
        if (!element.empty()) fn(element);
        if (comma == std::string_view::npos) return;
        list.remove_prefix(comma + 1);
    }
}

// Whether the comma-separated `list` holds `token`, case-insensitively ("Connection: keep-alive, Upgrade").
bool has_token(std::string_view list, std::string_view token);

// `value` in digits appended to `out` (std::to_chars: no fmt on paths every response takes).
void append_number(std::string& out, std::uint64_t value, int base = 10);

// Percent-decodes `text` (RFC 3986 §2.1); with `plus_is_space`, '+' becomes ' ' (form encoding).
// nullopt for a bad escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);
// Percent-encodes every byte outside RFC 3986 unreserved characters.
std::string percent_encode(std::string_view text);

}  // namespace onda::http
