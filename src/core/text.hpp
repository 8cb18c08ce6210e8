// Text checks shared by every module that takes strings from outside.
#pragma once

#include <string>
#include <string_view>

namespace onda {

// Well-formed UTF-8 (RFC 3629 §4): no overlong forms, no surrogates (U+D800..U+DFFF), nothing past
// U+10FFFF, no truncated sequence. JSON text must be UTF-8 (RFC 8259 §8.1), so strings that go into
// JSON we sign or store are checked with this first.
bool is_valid_utf8(std::string_view text);

// `text` with each byte that does not begin a well-formed UTF-8 character replaced by '_'.
std::string replace_invalid_utf8(std::string_view text);

}  // namespace onda
