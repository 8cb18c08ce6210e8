// Content-Disposition, RFC 6266 §4.1, with the RFC 8187 §3.2 ext-value for non-ASCII names:
//   content-disposition = disposition-type *( OWS ";" OWS disposition-parm )
//   filename-parm       = "filename" "=" value / "filename*" "=" ext-value
//   ext-value           = charset "'" [ language ] "'" value-chars
//   value-chars         = *( pct-encoded / attr-char )
//   attr-char           = ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
// RFC 6266 Appendix D: `filename` goes before `filename*`, so that recipients which only know the first
// still find a usable name and those that know both prefer `filename*` (§4.3).
#include "http/content_disposition.hpp"

#include "core/error.hpp"

namespace onda::http {
namespace {

bool is_alpha_or_digit(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// RFC 8187 §3.2.1 attr-char.
bool is_attr_char(unsigned char c) {
    if (is_alpha_or_digit(c)) return true;
    constexpr std::string_view others = "!#$&+-.^_`|~";
    return others.find(static_cast<char>(c)) != std::string_view::npos;
}

// The quoted-string fallback (RFC 9110 §5.6.4): only printable ASCII, and none of the characters that
// would need escaping, so every recipient reads it the same way.
std::string ascii_fallback(std::string_view filename) {
    std::string out;
    out.reserve(filename.size());
    for (char c : filename) {
        auto const byte = static_cast<unsigned char>(c);
        bool const printable_ascii = byte >= 0x20 && byte < 0x7F;
        out.push_back(printable_ascii && c != '"' && c != '\\' ? c : '_');
    }
    return out;
}

// RFC 8187 §3.2.1 value-chars: every byte outside attr-char becomes %XX (uppercase hex, §3.2.1 note).
std::string percent_encode(std::string_view filename) {
    constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(filename.size() * 3);
    for (char c : filename) {
        auto const byte = static_cast<unsigned char>(c);
        if (is_attr_char(byte)) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(hex[byte >> 4]);
            out.push_back(hex[byte & 0x0F]);
        }
    }
    return out;
}

}  // namespace

std::string content_disposition(std::string_view disposition, std::string_view filename) {
    ONDA_ASSERT(disposition == "attachment" || disposition == "inline", "callers pass one of the two types");
    std::string out(disposition);
    if (filename.empty()) return out;
    out += "; filename=\"";
    out += ascii_fallback(filename);
    // RFC 8187 §3.2.1: the charset is required; UTF-8 is the one every recipient must support.
    out += "\"; filename*=UTF-8''";
    out += percent_encode(filename);
    return out;
}

}  // namespace onda::http
