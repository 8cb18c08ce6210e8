// Range requests, RFC 9110 §14. Grammar (§14.1.1, §14.1.2):
//   Range        = ranges-specifier
//   ranges-spec  = range-unit "=" range-set ; range-unit is "bytes" (case-insensitive)
//   range-set    = 1#range-spec   (OWS around commas; empty list elements allowed and skipped)
//   range-spec   = int-range / suffix-range
//   int-range    = first-pos "-" [ last-pos ]
//   suffix-range = "-" suffix-length
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace onda::http {

// Inclusive on both ends, as in Content-Range: bytes first-last/size.
struct ByteRange {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::uint64_t length() const { return last - first + 1; }
    bool operator==(ByteRange const&) const = default;
};

struct RangeRequest {
    enum class Kind {
        whole,          // no Range header, a malformed one, another unit, or one we choose to ignore: 200
        partial,        // `ranges` hold one or more satisfiable ranges: 206
        unsatisfiable,  // well formed, but no range overlaps the representation: 416
    };
    Kind kind = Kind::whole;
    std::vector<ByteRange> ranges;  // clipped to the size, in request order; only for `partial`
};

// Parses a Range header against a representation of `size` bytes.
// - last-pos past the end is clipped to size-1; a suffix longer than the body means the whole body.
// - Ranges that are not satisfiable are dropped; when none remain the result is `unsatisfiable`
//   (for size 0 every range is unsatisfiable).
// - A malformed header (bad syntax, first > last, numbers that overflow) is ignored: `whole`.
// - More than `max_ranges` ranges, or overlapping ranges that together ask for more than twice the
//   size (a denial-of-service pattern, §14.2 note), are ignored: `whole`.
RangeRequest parse_range(std::string_view header, std::uint64_t size, std::size_t max_ranges = 16);

}  // namespace onda::http
