// Conditional requests, RFC 9110 §13. The fields compared here (§8.8.3, §13.1):
//   entity-tag    = [ weak ] opaque-tag
//   weak          = %s"W/"                      ; case-sensitive
//   opaque-tag    = DQUOTE *etagc DQUOTE
//   etagc         = %x21 / %x23-7E / obs-text
//   If-Match      = "*" / #entity-tag           ; §13.1.1, strong comparison
//   If-None-Match = "*" / #entity-tag           ; §13.1.2, weak comparison
//   If-Modified-Since = If-Unmodified-Since = HTTP-date   ; §13.1.3, §13.1.4
//   If-Range      = entity-tag / HTTP-date      ; §13.1.5
// Dates are compared at whole seconds, the resolution of an HTTP-date (§5.6.7), so a Last-Modified
// sent out and echoed back compares equal to the time it came from.
#include "http/conditional.hpp"

#include <optional>
#include <vector>

#include "http/percent.hpp"

namespace onda::http {
namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

bool is_etagc(char c) {
    auto const byte = static_cast<unsigned char>(c);
    return byte == 0x21 || (byte >= 0x23 && byte <= 0x7E) || byte >= 0x80;
}

struct EntityTag {
    bool weak = false;
    std::string_view opaque;  // between the quotes
};

// Parses one entity-tag at the front of `text` and removes it; nullopt when it is not one.
std::optional<EntityTag> take_entity_tag(std::string_view& text) {
    EntityTag tag;
    std::string_view rest = text;
    if (rest.starts_with("W/")) {
        tag.weak = true;
        rest.remove_prefix(2);
    }
    if (rest.empty() || rest.front() != '"') return std::nullopt;
    rest.remove_prefix(1);
    std::size_t length = 0;
    while (length < rest.size() && is_etagc(rest[length])) ++length;
    if (length == rest.size() || rest[length] != '"') return std::nullopt;
    tag.opaque = rest.substr(0, length);
    text = rest.substr(length + 1);
    return tag;
}

// A whole field value that is exactly one entity-tag (surrounding OWS allowed).
std::optional<EntityTag> parse_entity_tag(std::string_view text) {
    text = trim_ows(text);
    auto tag = take_entity_tag(text);
    if (!tag || !text.empty()) return std::nullopt;
    return tag;
}

// §5.6.1.2 list: [ element ] *( OWS "," OWS [ element ] ), empty elements skipped. nullopt when the
// value is not such a list of entity-tags.
std::optional<std::vector<EntityTag>> parse_entity_tag_list(std::string_view text) {
    std::vector<EntityTag> tags;
    for (;;) {
        while (!text.empty() && (is_ows(text.front()) || text.front() == ',')) text.remove_prefix(1);
        if (text.empty()) return tags;
        auto tag = take_entity_tag(text);
        if (!tag) return std::nullopt;
        tags.push_back(*tag);
        while (!text.empty() && is_ows(text.front())) text.remove_prefix(1);
        // After a tag comes the end of the list or a comma, never another character.
        if (!text.empty() && text.front() != ',') return std::nullopt;
    }
}

// §8.8.3.2: strong comparison needs both tags strong and their opaque-tags identical.
bool strong_match(EntityTag const& a, EntityTag const& b) { return !a.weak && !b.weak && a.opaque == b.opaque; }

// §8.8.3.2: weak comparison needs only the opaque-tags identical.
bool weak_match(EntityTag const& a, EntityTag const& b) { return a.opaque == b.opaque; }

// "*" or a list of entity-tags of which one matches `current` under `match`. A value that is neither
// matches nothing: If-Match then fails safe (412) and If-None-Match serves the representation.
template <class Match>
bool any_tag_matches(std::string_view field, std::optional<EntityTag> const& current, Match match) {
    // §13.1.1, §13.1.2: "*" matches any current representation, and there is one.
    if (trim_ows(field) == "*") return true;
    if (!current) return false;
    auto const tags = parse_entity_tag_list(field);
    if (!tags) return false;
    for (auto const& tag : *tags)
        if (match(tag, *current)) return true;
    return false;
}

SystemTime to_http_date_resolution(SystemTime t) { return std::chrono::floor<std::chrono::seconds>(t); }

}  // namespace

Precondition evaluate_preconditions(ConditionalHeaders const& headers, Validators const& current, bool is_get_or_head) {
    if (headers.if_match.empty() && headers.if_unmodified_since.empty() && headers.if_none_match.empty() &&
        headers.if_modified_since.empty())
        return Precondition::proceed;  // the common case: no condition, nothing to parse
    auto const current_tag = parse_entity_tag(current.etag);
    SystemTime const last_modified = to_http_date_resolution(current.last_modified);

    // §13.2.2 step 1: If-Match, by strong comparison (§13.1.1); false means 412.
    if (!headers.if_match.empty()) {
        if (!any_tag_matches(headers.if_match, current_tag, strong_match)) return Precondition::failed;
    } else if (!headers.if_unmodified_since.empty()) {
        // §13.2.2 step 2: If-Unmodified-Since, only without If-Match. §13.1.4: an invalid date is ignored;
        // a representation modified after the date fails with 412.
        auto const date = parse_http_date(trim_ows(headers.if_unmodified_since));
        if (date && last_modified > *date) return Precondition::failed;
    }

    // §13.2.2 step 3: If-None-Match, by weak comparison (§13.1.2); a match is 304 for GET/HEAD, else 412.
    if (!headers.if_none_match.empty()) {
        if (any_tag_matches(headers.if_none_match, current_tag, weak_match))
            return is_get_or_head ? Precondition::not_modified : Precondition::failed;
    } else if (is_get_or_head && !headers.if_modified_since.empty()) {
        // §13.2.2 step 4: If-Modified-Since, only for GET/HEAD without If-None-Match. §13.1.3: an invalid
        // date is ignored; a representation not modified since the date is 304.
        auto const date = parse_http_date(trim_ows(headers.if_modified_since));
        if (date && last_modified <= *date) return Precondition::not_modified;
    }

    // §13.2.2 step 5 (If-Range) is if_range_matches(), consulted only when a Range is present.
    return Precondition::proceed;
}

bool if_range_matches(std::string_view if_range, Validators const& current) {
    if_range = trim_ows(if_range);
    // §13.2.2 step 5: without If-Range the Range is honoured as it stands.
    if (if_range.empty()) return true;

    // §13.1.5: an entity-tag matches only by strong comparison, so a weak tag never matches. A value
    // that starts like an entity-tag but is not one is a validator we cannot match: send the whole body.
    if (if_range.front() == '"' || if_range.starts_with("W/")) {
        auto const requested = parse_entity_tag(if_range);
        auto const current_tag = parse_entity_tag(current.etag);
        return requested && current_tag && strong_match(*requested, *current_tag);
    }

    // §13.1.5: an HTTP-date matches only when it is exactly the Last-Modified time; an invalid date
    // does not match.
    auto const date = parse_http_date(if_range);
    return date && *date == to_http_date_resolution(current.last_modified);
}

}  // namespace onda::http
