// Range header parsing, RFC 9110 §14.1 and §14.2:
//   Range          = ranges-specifier
//   ranges-specifier = range-unit "=" range-set
//   range-set      = 1#range-spec                 ; §5.6.1: OWS "," OWS, empty elements skipped
//   range-spec     = int-range / suffix-range
//   int-range      = first-pos "-" [ last-pos ]
//   suffix-range   = "-" suffix-length
//   first-pos, last-pos, suffix-length = 1*DIGIT
#include "http/range.hpp"

#include <limits>
#include <optional>

#include "http/percent.hpp"

namespace onda::http {
namespace {

constexpr std::uint64_t max_value = std::numeric_limits<std::uint64_t>::max();

// §14.1: range units are compared case-insensitively.
bool is_bytes_unit(std::string_view unit) {
    constexpr std::string_view bytes = "bytes";
    if (unit.size() != bytes.size()) return false;
    for (std::size_t i = 0; i < unit.size(); ++i) {
        char c = unit[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != bytes[i]) return false;
    }
    return true;
}

// 1*DIGIT as an unsigned 64-bit value; nullopt for an empty string, a non-digit, or a value that
// does not fit (a position no representation can reach, so the header is treated as malformed).
std::optional<std::uint64_t> parse_digits(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        auto const digit = static_cast<std::uint64_t>(c - '0');
        if (value > (max_value - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

// One range-spec, already clipped to the representation. `satisfiable` is false for a well-formed
// spec that selects no byte of it.
struct ParsedSpec {
    bool satisfiable = false;
    ByteRange range;
};

std::optional<ParsedSpec> parse_spec(std::string_view spec, std::uint64_t size) {
    auto const dash = spec.find('-');
    if (dash == std::string_view::npos) return std::nullopt;

    if (dash == 0) {
        // §14.1.1 suffix-range: the last suffix-length bytes; a suffix longer than the body selects all
        // of it, and a zero suffix-length (or an empty body) selects nothing.
        auto const suffix = parse_digits(spec.substr(1));
        if (!suffix) return std::nullopt;
        if (*suffix == 0 || size == 0) return ParsedSpec{};
        std::uint64_t const first = *suffix >= size ? 0 : size - *suffix;
        return ParsedSpec{.satisfiable = true, .range = {first, size - 1}};
    }

    // §14.1.1 int-range: first-pos "-" [ last-pos ].
    auto const first = parse_digits(spec.substr(0, dash));
    if (!first) return std::nullopt;
    std::uint64_t last = max_value;
    if (dash + 1 < spec.size()) {
        auto const parsed_last = parse_digits(spec.substr(dash + 1));
        if (!parsed_last) return std::nullopt;
        last = *parsed_last;
    }
    // §14.1.1: a range-spec is invalid if last-pos is present and less than first-pos.
    if (last < *first) return std::nullopt;
    // §14.1.1: an int-range is satisfiable only if first-pos is less than the current length.
    if (*first >= size) return ParsedSpec{};
    // §14.1.1: a last-pos at or past the end means the remainder of the representation.
    return ParsedSpec{.satisfiable = true, .range = {*first, std::min(last, size - 1)}};
}

}  // namespace

RangeRequest parse_range(std::string_view header, std::uint64_t size, std::size_t max_ranges) {
    RangeRequest const whole{};
    header = trim_ows(header);

    // §14.1: ranges-specifier = range-unit "=" range-set. §14.2: a server ignores a Range header whose
    // unit it does not understand, and may ignore an invalid one; both mean the whole body.
    auto const equals = header.find('=');
    if (equals == std::string_view::npos || !is_bytes_unit(header.substr(0, equals))) return whole;

    RangeRequest result;
    std::size_t spec_count = 0;
    bool any_spec_seen = false;
    std::uint64_t const byte_budget = size <= max_value / 2 ? 2 * size : max_value;
    std::uint64_t bytes_requested = 0;

    std::string_view rest = header.substr(equals + 1);
    for (;;) {
        auto const comma = rest.find(',');
        std::string_view const element = trim_ows(rest.substr(0, comma));
        // §5.6.1.2: empty list elements do not count and are skipped.
        if (!element.empty()) {
            any_spec_seen = true;
            // §14.2: a server may ignore a Range with many ranges; stop before doing the work of parsing
            // a hostile header of thousands of elements.
            if (++spec_count > max_ranges) return whole;
            auto const spec = parse_spec(element, size);
            if (!spec) return whole;
            if (spec->satisfiable) {
                // §14.2 and §17.15: overlapping ranges that ask for far more than the body are a denial
                // of service pattern; ranges lie inside the body, so this total exceeds it only by overlap.
                std::uint64_t const length = spec->range.length();
                if (length > byte_budget - bytes_requested) return whole;
                bytes_requested += length;
                result.ranges.push_back(spec->range);
            }
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }

    // §14.1.1: range-set = 1#range-spec, so at least one element is required.
    if (!any_spec_seen) return whole;
    // §14.1.1 and §15.5.17: a valid set in which no range is satisfiable gets 416.
    result.kind = result.ranges.empty() ? RangeRequest::Kind::unsatisfiable : RangeRequest::Kind::partial;
    return result;
}

}  // namespace onda::http
