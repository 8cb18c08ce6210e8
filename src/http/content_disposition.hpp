// Content-Disposition (RFC 6266) with a UTF-8 file name (RFC 8187 ext-value), e.g.
//   attachment; filename="Episode ___1.mp3"; filename*=UTF-8''Episode%20%E2%84%961.mp3
// The quoted `filename` is an ASCII fallback: non-ASCII bytes, quotes, backslashes and control
// characters become '_'. The `filename*` percent-encodes every byte outside RFC 8187 attr-char.
#pragma once

#include <string>
#include <string_view>

namespace onda::http {

// `disposition` is "attachment" or "inline". An empty filename yields just the disposition.
std::string content_disposition(std::string_view disposition, std::string_view filename);

}  // namespace onda::http
