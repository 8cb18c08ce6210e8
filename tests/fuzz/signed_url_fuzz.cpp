// Fuzzes auth::verify_url_signature and auth::url_signature (src/auth/signed_url.hpp).
// Input (FuzzedDataProvider): path, rendition, exp text, sig text, a "now", and which signature to
// present. Properties:
//   - a link signed with url_signature verifies: ok while now <= exp, Errc::expired after; another
//     secret, or the next exp, is bad_signature;
//   - one exp has one accepted spelling: with a valid signature for the number the exp text spells
//     ("05", "+5", " 5" spell 5 too), the link is accepted exactly when the text is std::to_string of it;
//   - an arbitrary sig is accepted only if it is exactly url_signature's (base64url is canonical);
//   - every refusal is bad_signature or expired.
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <fuzzer/FuzzedDataProvider.h>

#include "auth/signed_url.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace onda;
using namespace onda::auth;

constexpr std::string_view secret = "fuzz-secret-4f1c2a9e";
constexpr std::string_view other_secret = "fuzz-secret-4f1c2a9f";

struct Now {
    std::int64_t seconds;
    std::int64_t nanos;  // 0..999'999'999
    SystemTime time() const { return SystemTime(std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos)); }
    bool is_after(std::int64_t exp) const { return seconds > exp || (seconds == exp && nanos > 0); }
};

// The number an exp text most plausibly means: its digits, negated if a '-' comes first; nullopt when
// it has no digits or they overflow. Lenient on purpose, to produce non-canonical spellings.
std::optional<std::int64_t> lenient_number(std::string_view text) {
    std::string digits;
    bool negative = false;
    for (char c : text) {
        if (c >= '0' && c <= '9')
            digits += c;
        else if (c == '-' && digits.empty())
            negative = true;
    }
    if (digits.empty()) return std::nullopt;
    if (negative) digits.insert(0, "-");
    std::int64_t value = 0;
    auto const [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
    return value;
}

Result<void> verify(std::string_view path, std::string_view rendition, std::string_view exp_text,
                    std::string_view sig_text, Now now) {
    auto result = verify_url_signature(secret, path, rendition, exp_text, sig_text, now.time());
    if (!result)
        ONDA_FUZZ_CHECK(result.error().code() == Errc::bad_signature || result.error().code() == Errc::expired,
                        "every refusal is bad_signature or expired");
    return result;
}

bool is_accepted(Result<void> const& result) { return result || result.error().code() == Errc::expired; }

void check_signed_link(std::string_view path, std::string_view rendition, std::int64_t exp, Now now) {
    std::string const sig = url_signature(secret, path, rendition, exp);
    std::string const exp_text = std::to_string(exp);
    auto const result = verify(path, rendition, exp_text, sig, now);
    if (exp < 0) {
        ONDA_FUZZ_CHECK(!result && result.error().code() == Errc::bad_signature, "a negative exp is never accepted");
        return;
    }
    if (now.is_after(exp)) {
        // Past SystemTime's range (year 2262) a link never expires.
        constexpr auto max_seconds =
            std::chrono::duration_cast<std::chrono::seconds>(SystemTime::duration::max()).count();
        if (exp < max_seconds)
            ONDA_FUZZ_CHECK(!result && result.error().code() == Errc::expired, "a signed link expires after exp");
        else
            ONDA_FUZZ_CHECK(bool(result), "a link past year 2262 does not expire");
    } else {
        ONDA_FUZZ_CHECK(bool(result), "a signed link verifies until exp");
    }
    auto const forged = verify_url_signature(other_secret, path, rendition, exp_text, sig, now.time());
    ONDA_FUZZ_CHECK(!forged && forged.error().code() == Errc::bad_signature, "another secret refuses the link");
    if (exp < std::numeric_limits<std::int64_t>::max()) {
        auto const later = verify(path, rendition, std::to_string(exp + 1), sig, now);
        ONDA_FUZZ_CHECK(!later && later.error().code() == Errc::bad_signature, "a changed exp is bad_signature");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    FuzzedDataProvider input(data, size);
    std::string const path = input.ConsumeRandomLengthString(128);
    std::string const rendition = input.ConsumeRandomLengthString(32);
    std::string const exp_text = input.ConsumeRandomLengthString(32);
    std::string const sig_text = input.ConsumeRandomLengthString(64);
    constexpr std::int64_t max_now = 9'000'000'000;  // inside SystemTime's range
    Now const now{input.ConsumeIntegralInRange<std::int64_t>(-max_now, max_now),
                  input.ConsumeIntegralInRange<std::int64_t>(0, 999'999'999)};
    std::int64_t const exp = input.ConsumeIntegral<std::int64_t>();

    check_signed_link(path, rendition, exp, now);

    // A valid signature for the number exp_text spells: accepted only in its canonical spelling.
    if (auto const number = lenient_number(exp_text)) {
        std::string const sig = url_signature(secret, path, rendition, *number);
        bool const canonical = *number >= 0 && exp_text == std::to_string(*number);
        ONDA_FUZZ_CHECK(is_accepted(verify(path, rendition, exp_text, sig, now)) == canonical,
                        "an exp is accepted in exactly one spelling");
    }

    // An arbitrary signature: accepted only if it is the one url_signature makes.
    auto const result = verify(path, rendition, exp_text, sig_text, now);
    if (is_accepted(result)) {
        std::int64_t value = -1;
        auto const [end, ec] = std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), value);
        ONDA_FUZZ_CHECK(ec == std::errc{} && end == exp_text.data() + exp_text.size(), "an accepted exp is a number");
        ONDA_FUZZ_CHECK(sig_text == url_signature(secret, path, rendition, value), "only the exact signature passes");
    }
    return 0;
}
