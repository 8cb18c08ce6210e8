// Base64 (RFC 4648 §4) and base64url without padding (RFC 4648 §5), as JWTs and signatures use.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace onda::auth {

std::string base64url_encode(std::span<unsigned char const> bytes);
std::string base64url_encode(std::string_view bytes);
// Strict: rejects padding, whitespace and characters outside the url alphabet.
std::optional<std::string> base64url_decode(std::string_view text);

std::string base64_encode(std::span<unsigned char const> bytes);
std::string base64_encode(std::string_view bytes);
// Accepts padded standard base64; rejects anything else.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace onda::auth
