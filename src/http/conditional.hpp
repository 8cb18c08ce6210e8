// Conditional requests, RFC 9110 §13. Evaluation follows the order of §13.2.2:
//   1. If-Match (strong comparison)        -> false: 412
//   2. else If-Unmodified-Since             -> modified since: 412
//   3. If-None-Match (weak comparison)      -> matches: 304 for GET/HEAD, else 412
//   4. else If-Modified-Since (GET/HEAD)    -> not modified: 304
// If-Range (§13.1.5) is evaluated separately, only when a Range header is present.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace onda::http {

struct Validators {
    std::string etag;  // the full entity-tag as sent, quotes included: "\"abc\"" (strong) or "W/\"abc\""
    SystemTime last_modified;
};

struct ConditionalHeaders {
    std::string_view if_match;
    std::string_view if_none_match;
    std::string_view if_modified_since;
    std::string_view if_unmodified_since;
};

enum class Precondition { proceed, not_modified, failed };

// `is_get_or_head` selects the 304 answers of steps 3 and 4. An empty header is absent; a date that
// does not parse is ignored, as §13.1.3/§13.1.4 say.
Precondition evaluate_preconditions(ConditionalHeaders const& headers, Validators const& current, bool is_get_or_head);

// True when the Range should be honoured: no If-Range, an entity-tag that matches strongly (a weak
// tag never matches), or an HTTP-date exactly equal to last_modified.
bool if_range_matches(std::string_view if_range, Validators const& current);

}  // namespace onda::http
