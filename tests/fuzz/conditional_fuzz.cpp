// Fuzzes http::evaluate_preconditions and http::if_range_matches (src/http/conditional.hpp) with
// arbitrary header values against a current representation whose validators come from the input.
// Properties, for any input:
//   - no condition header means proceed;
//   - OWS around a (non-empty) field value changes nothing (RFC 9110 §5.5);
//   - If-None-Match: * never proceeds (§13.1.2: there is a current representation);
//   - a value that passes If-Match (strong comparison) also matches as If-None-Match (weak, §8.8.3.2).
// When the current entity-tag is a well-formed one built from the input:
//   - echoing it back: If-None-Match matches, If-Match and If-Range match exactly when it is strong.
// For Last-Modified echoed back as an HTTP-date (whole seconds, §5.6.7):
//   - If-Range matches; If-Modified-Since gives 304; If-Unmodified-Since proceeds;
//   - one second earlier: If-Modified-Since proceeds and If-Unmodified-Since fails.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "core/clock.hpp"
#include "fuzz_check.hpp"
#include "http/conditional.hpp"

namespace {

using namespace onda;
using namespace onda::http;
using std::chrono::seconds;

bool is_etagc(char c) {
    auto const byte = static_cast<unsigned char>(c);
    return byte == 0x21 || (byte >= 0x23 && byte <= 0x7E) || byte >= 0x80;
}

std::string padded(std::string_view value) { return value.empty() ? std::string() : " \t" + std::string(value) + " "; }

Precondition evaluate(ConditionalHeaders const& headers, Validators const& current, bool is_get_or_head) {
    return evaluate_preconditions(headers, current, is_get_or_head);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    FuzzedDataProvider input(data, size);

    // Last-Modified anywhere SystemTime (nanoseconds) can hold, with a fraction of a second.
    Validators current;
    auto const modified_seconds = input.ConsumeIntegralInRange<std::int64_t>(-9'000'000'000, 9'000'000'000);
    auto const modified_nanos = input.ConsumeIntegralInRange<std::int64_t>(0, 999'999'999);
    current.last_modified = SystemTime(seconds(modified_seconds) + std::chrono::nanoseconds(modified_nanos));

    bool const well_formed_etag = input.ConsumeBool();
    bool const weak_etag = input.ConsumeBool();
    bool const is_get_or_head = input.ConsumeBool();
    if (well_formed_etag) {
        std::string opaque;
        for (char c : input.ConsumeRandomLengthString(64))
            if (is_etagc(c)) opaque += c;
        current.etag = (weak_etag ? "W/\"" : "\"") + opaque + "\"";
    } else {
        current.etag = input.ConsumeRandomLengthString(64);
    }
    std::string const if_match = input.ConsumeRandomLengthString(256);
    std::string const if_none_match = input.ConsumeRandomLengthString(256);
    std::string const if_modified_since = input.ConsumeRandomLengthString(64);
    std::string const if_unmodified_since = input.ConsumeRandomLengthString(64);
    std::string const if_range = input.ConsumeRandomLengthString(256);

    ConditionalHeaders const headers{if_match, if_none_match, if_modified_since, if_unmodified_since};
    Precondition const result = evaluate(headers, current, is_get_or_head);
    bool const range_matches = if_range_matches(if_range, current);

    ONDA_FUZZ_CHECK(evaluate({}, current, is_get_or_head) == Precondition::proceed, "no conditions: proceed");
    ONDA_FUZZ_CHECK(if_range_matches("", current), "no If-Range: the Range is honoured");

    std::string const padded_match = padded(if_match), padded_none_match = padded(if_none_match),
                      padded_modified = padded(if_modified_since), padded_unmodified = padded(if_unmodified_since);
    ConditionalHeaders const padded_headers{padded_match, padded_none_match, padded_modified, padded_unmodified};
    ONDA_FUZZ_CHECK(evaluate(padded_headers, current, is_get_or_head) == result, "OWS around values is ignored");
    ONDA_FUZZ_CHECK(if_range_matches(padded(if_range), current) == range_matches, "OWS around If-Range is ignored");

    ConditionalHeaders any_tag = headers;
    any_tag.if_none_match = "*";
    ONDA_FUZZ_CHECK(evaluate(any_tag, current, is_get_or_head) != Precondition::proceed,
                    "If-None-Match: * never proceeds");

    if (!if_match.empty() && evaluate({.if_match = if_match}, current, is_get_or_head) == Precondition::proceed)
        ONDA_FUZZ_CHECK(evaluate({.if_none_match = if_match}, current, true) == Precondition::not_modified,
                        "a strong match is also a weak match");

    if (well_formed_etag) {
        Precondition const echoed_match = evaluate({.if_match = current.etag}, current, is_get_or_head);
        ONDA_FUZZ_CHECK(echoed_match == (weak_etag ? Precondition::failed : Precondition::proceed),
                        "If-Match: its own tag matches exactly when strong");
        ONDA_FUZZ_CHECK(evaluate({.if_none_match = current.etag}, current, true) == Precondition::not_modified,
                        "If-None-Match: its own tag matches, 304 for GET");
        ONDA_FUZZ_CHECK(evaluate({.if_none_match = current.etag}, current, false) == Precondition::failed,
                        "If-None-Match: its own tag matches, 412 for other methods");
        ONDA_FUZZ_CHECK(if_range_matches(current.etag, current) == !weak_etag,
                        "If-Range: its own tag matches exactly when strong");
    }

    std::string const date = format_http_date(current.last_modified);
    std::string const second_before = format_http_date(current.last_modified - seconds(1));
    ONDA_FUZZ_CHECK(if_range_matches(date, current), "If-Range: Last-Modified echoed back matches");
    ONDA_FUZZ_CHECK(!if_range_matches(second_before, current), "If-Range: a different date does not match");
    ONDA_FUZZ_CHECK(evaluate({.if_modified_since = date}, current, true) == Precondition::not_modified,
                    "If-Modified-Since: not modified since its own date");
    ONDA_FUZZ_CHECK(evaluate({.if_modified_since = second_before}, current, true) == Precondition::proceed,
                    "If-Modified-Since: modified since a second earlier");
    ONDA_FUZZ_CHECK(evaluate({.if_unmodified_since = date}, current, is_get_or_head) == Precondition::proceed,
                    "If-Unmodified-Since: unmodified since its own date");
    ONDA_FUZZ_CHECK(evaluate({.if_unmodified_since = second_before}, current, is_get_or_head) == Precondition::failed,
                    "If-Unmodified-Since: modified after a second earlier");
    return 0;
}
