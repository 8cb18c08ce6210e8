// Random identifiers: a short type prefix and 20 base62 characters (about 119 bits), e.g.
// "m_2xK9aQ…" for media. Only ids of this exact shape are accepted from outside, which also keeps
// ids safe to use in storage keys and paths.
#pragma once

#include <string>
#include <span>
#include <string_view>

namespace onda {

// 'prefix' is one lowercase word, e.g. "m" for media, "u" for uploads, "r" for requests.
std::string make_id(std::string_view prefix);

// True when `id` is `prefix_` followed by exactly 20 base62 characters.
bool is_valid_id(std::string_view id, std::string_view prefix);

// Fills `out` with cryptographically random bytes (getrandom(2)).
void random_bytes(std::span<unsigned char> out);

}  // namespace onda
