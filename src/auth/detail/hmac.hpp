// HMAC-SHA256 (RFC 2104, FIPS 180-4) and a constant-time comparison: the two primitives JWTs and
// signed URLs share. Private to the auth module. Pure functions, safe on any thread.
#pragma once

#include <array>
#include <span>
#include <string_view>

namespace onda::auth::detail {

using Sha256Digest = std::array<unsigned char, 32>;

// `key` must not be empty: an empty secret would let anyone sign (checked with ONDA_ASSERT).
Sha256Digest hmac_sha256(std::string_view key, std::string_view message);

// True when both hold the same bytes. The time taken depends only on the lengths, which are public
// (a digest is always 32 bytes), never on where the first difference is.
bool equal_in_constant_time(std::span<unsigned char const> a, std::span<unsigned char const> b);

}  // namespace onda::auth::detail
