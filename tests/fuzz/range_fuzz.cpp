// Fuzzes http::parse_range (src/http/range.hpp).
// Input: 8 bytes little-endian representation size, then the Range header value.
// Properties:
//   - partial: 1..max_ranges ranges, each first <= last < size, together at most twice the size;
//     rendering them back as "bytes=f-l,..." parses to the very same ranges (a fixed point).
//   - unsatisfiable and whole carry no ranges; an empty body is never partial.
//   - OWS around the field value changes nothing (RFC 9110 §5.5: it is not part of the value).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/range.hpp"

namespace {

using onda::http::ByteRange;
using onda::http::parse_range;
using onda::http::RangeRequest;
using Kind = RangeRequest::Kind;

constexpr std::size_t max_ranges = 16;  // the default, what the server uses

void check_invariants(RangeRequest const& result, std::uint64_t size) {
    switch (result.kind) {
    case Kind::partial: {
        ONDA_FUZZ_CHECK(!result.ranges.empty(), "partial has at least one range");
        ONDA_FUZZ_CHECK(result.ranges.size() <= max_ranges, "no more ranges than max_ranges");
        std::uint64_t const budget = size <= UINT64_MAX / 2 ? 2 * size : UINT64_MAX;
        std::uint64_t total = 0;
        for (ByteRange const& range : result.ranges) {
            ONDA_FUZZ_CHECK(range.first <= range.last, "a range is not reversed");
            ONDA_FUZZ_CHECK(range.last < size, "a range lies inside the representation");
            // Compared as a difference so that the running total itself never overflows.
            ONDA_FUZZ_CHECK(range.length() <= budget - total, "ranges together ask for at most twice the size");
            total += range.length();
        }
        break;
    }
    case Kind::unsatisfiable: ONDA_FUZZ_CHECK(result.ranges.empty(), "unsatisfiable carries no ranges"); break;
    case Kind::whole: ONDA_FUZZ_CHECK(result.ranges.empty(), "whole carries no ranges"); break;
    }
}

bool same(RangeRequest const& a, RangeRequest const& b) { return a.kind == b.kind && a.ranges == b.ranges; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    if (size < 8) return 0;
    std::uint64_t body_size = 0;
    for (std::size_t i = 0; i < 8; ++i) body_size |= std::uint64_t{data[i]} << (8 * i);
    std::string_view const header(reinterpret_cast<char const*>(data) + 8, size - 8);

    RangeRequest const result = parse_range(header, body_size, max_ranges);
    check_invariants(result, body_size);
    if (body_size == 0) ONDA_FUZZ_CHECK(result.kind != Kind::partial, "an empty body has no satisfiable range");

    std::string const padded = " \t" + std::string(header) + "\t ";
    ONDA_FUZZ_CHECK(same(parse_range(padded, body_size, max_ranges), result), "OWS around the value is ignored");

    if (result.kind == Kind::partial) {
        std::string canonical = "bytes=";
        for (std::size_t i = 0; i < result.ranges.size(); ++i) {
            if (i > 0) canonical += ',';
            canonical += std::to_string(result.ranges[i].first) + '-' + std::to_string(result.ranges[i].last);
        }
        ONDA_FUZZ_CHECK(same(parse_range(canonical, body_size, max_ranges), result),
                        "the ranges, written out, parse to themselves");
    }
    return 0;
}
