// Signed link check, in this order: parse `exp` (canonical decimal), decode `sig` (base64url, 32
// bytes), compare it in constant time with the HMAC of path "\n" rendition "\n" exp, and only then
// look at the clock. Every malformed input is bad_signature, so a caller cannot tell a broken exp
// from a forged one.
#include "auth/signed_url.hpp"

#include <charconv>
#include <optional>

#include "auth/base64.hpp"
#include "auth/detail/hmac.hpp"

namespace onda::auth {
namespace {

std::string signed_message(std::string_view path, std::string_view rendition, std::int64_t exp_unix_seconds) {
    std::string message;
    message.reserve(path.size() + rendition.size() + 22);
    message += path;
    message += '\n';
    message += rendition;
    message += '\n';
    message += std::to_string(exp_unix_seconds);
    return message;
}

// Only the exact text url_signature signs: digits, no sign, no leading zero, within int64. Any other
// spelling of the same number ("+5", "05") is refused rather than normalised, so one link has one form.
std::optional<std::int64_t> parse_exp(std::string_view text) {
    // Digits only, no leading zero: one link has one spelling of its expiry ("-0", "+5", "05" are not).
    if (text.empty() || text.front() < '0' || text.front() > '9' || (text.size() > 1 && text.front() == '0'))
        return std::nullopt;
    std::int64_t value = 0;
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 0) return std::nullopt;
    return value;
}

Error bad_signature() { return Error(Errc::bad_signature, "bad signature"); }

}  // namespace

std::string url_signature(std::string_view secret, std::string_view path, std::string_view rendition,
                          std::int64_t exp_unix_seconds) {
    return base64url_encode(detail::hmac_sha256(secret, signed_message(path, rendition, exp_unix_seconds)));
}

Result<void> verify_url_signature(std::string_view secret, std::string_view path, std::string_view rendition,
                                  std::string_view exp_text, std::string_view sig_text, SystemTime now) {
    auto const exp = parse_exp(exp_text);
    if (!exp) return bad_signature();
    auto const sig = base64url_decode(sig_text);
    if (!sig) return bad_signature();
    auto const expected = detail::hmac_sha256(secret, signed_message(path, rendition, *exp));
    if (!detail::equal_in_constant_time(expected, {reinterpret_cast<unsigned char const*>(sig->data()), sig->size()}))
        return bad_signature();

    // An exp past what SystemTime holds (year 2262) is far enough in the future never to expire.
    constexpr auto max_seconds = std::chrono::duration_cast<std::chrono::seconds>(SystemTime::duration::max()).count();
    if (*exp < max_seconds && now > SystemTime(std::chrono::seconds(*exp))) return Error(Errc::expired, "link expired");
    return ok();
}

}  // namespace onda::auth
