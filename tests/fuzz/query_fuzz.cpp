// Fuzzes http::percent_decode and http::percent_encode (src/http/request.hpp).
// Properties, for any bytes x:
//   - percent_encode(x) holds only RFC 3986 unreserved characters and "%" HEXDIG HEXDIG (upper case);
//   - percent_decode(percent_encode(x)) == x, with or without plus_is_space (encode escapes '+'),
//     and with the escapes' hex digits in lower case (RFC 3986 §2.1);
//   - percent_decode(x) succeeds the same with and without plus_is_space, the two results differ
//     only where x has '+', and a decoded text is never longer than x.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/percent.hpp"

namespace {

bool is_unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

bool is_upper_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    using onda::http::percent_decode;
    using onda::http::percent_encode;
    std::string_view const text(reinterpret_cast<char const*>(data), size);

    std::string const encoded = percent_encode(text);
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        if (encoded[i] == '%') {
            ONDA_FUZZ_CHECK(i + 2 < encoded.size() && is_upper_hex(encoded[i + 1]) && is_upper_hex(encoded[i + 2]),
                            "every % is followed by two upper-case hex digits");
            i += 2;
        } else {
            ONDA_FUZZ_CHECK(is_unreserved(encoded[i]), "encode leaves only unreserved characters bare");
        }
    }
    auto const decoded = percent_decode(encoded, false);
    ONDA_FUZZ_CHECK(decoded && *decoded == text, "decode(encode(x)) == x");
    auto const form_decoded = percent_decode(encoded, true);
    ONDA_FUZZ_CHECK(form_decoded && *form_decoded == text, "decode(encode(x)) == x in form decoding too");
    // RFC 3986 §2.1: upper- and lower-case hex digits in an escape are equivalent.
    std::string lower = encoded;
    for (std::size_t i = 0; i < lower.size(); ++i) {
        if (lower[i] != '%') continue;
        for (std::size_t j = i + 1; j <= i + 2; ++j)
            if (lower[j] >= 'A' && lower[j] <= 'F') lower[j] = static_cast<char>(lower[j] - 'A' + 'a');
        i += 2;
    }
    auto const lower_decoded = percent_decode(lower, false);
    ONDA_FUZZ_CHECK(lower_decoded && *lower_decoded == text, "escapes in lower-case hex decode the same");

    auto const plain = percent_decode(text, false);
    auto const form = percent_decode(text, true);
    ONDA_FUZZ_CHECK(plain.has_value() == form.has_value(), "'+' never makes an escape valid or invalid");
    if (plain) {
        ONDA_FUZZ_CHECK(plain->size() <= text.size(), "decoding never lengthens");
        ONDA_FUZZ_CHECK(plain->size() == form->size(), "'+' decodes to one byte either way");
        if (text.find('+') == std::string_view::npos)
            ONDA_FUZZ_CHECK(*plain == *form, "without '+' both decodings agree");
        ONDA_FUZZ_CHECK(percent_decode(percent_encode(*plain), false) == plain, "decoded text round-trips too");
    }
    return 0;
}
