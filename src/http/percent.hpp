// Small text rules of HTTP and URIs that many files share: case-insensitive names and percent
// encoding. No I/O, no Asio: parsers and fuzz targets use it alone.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace onda::http {

// ASCII case-insensitive equality, as header names compare (RFC 9110 §5.1).
bool iequals(std::string_view a, std::string_view b);

// Percent-decodes `text` (RFC 3986 §2.1); with `plus_is_space`, '+' becomes ' ' (form encoding).
// nullopt for a bad escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);
// Percent-encodes every byte outside RFC 3986 unreserved characters.
std::string percent_encode(std::string_view text);

}  // namespace onda::http
