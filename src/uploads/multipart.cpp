// multipart/form-data (RFC 7578) over the multipart grammar of RFC 2046 §5.1.1:
//   multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF body-part
//                     *encapsulation close-delimiter transport-padding [CRLF epilogue]
//   encapsulation  := delimiter transport-padding CRLF body-part
//   delimiter      := CRLF dash-boundary ; dash-boundary := "--" boundary
//   close-delimiter := delimiter "--"    ; transport-padding := *LWSP-char (SP / HTAB)
//   body-part      := MIME-part-headers [CRLF *OCTET]
// Part headers (RFC 7578 §4.2, §4.4) are field lines (RFC 9112 §5), CRLF-terminated and unfolded:
//   Content-Disposition: form-data; name="field"; filename="a.mp3"   (RFC 6266 §4.1 parameters)
//   Content-Type: audio/mpeg
// Parameters (RFC 9110 §5.6.6) are token "=" ( token / quoted-string ), or for filename* an RFC 8187
// §3.2 ext-value: charset "'" [ language ] "'" *( pct-encoded / attr-char ).
#include "uploads/multipart.hpp"

#include <optional>
#include <vector>

namespace onda::uploads {
namespace {

constexpr std::size_t max_boundary_length = 70;  // RFC 2046 §5.1.1

Error invalid(std::string message) { return Error(Errc::invalid_argument, "multipart body: " + std::move(message)); }

bool is_lwsp(char c) { return c == ' ' || c == '\t'; }

char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (to_lower(a[i]) != to_lower(b[i])) return false;
    return true;
}

std::string_view trim_ows(std::string_view text) {
    while (!text.empty() && is_lwsp(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_lwsp(text.back())) text.remove_suffix(1);
    return text;
}

bool is_alpha_or_digit(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
    return is_alpha_or_digit(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
    if (text.empty()) return false;
    for (char c : text)
        if (!is_tchar(c)) return false;
    return true;
}

// RFC 2046 §5.1.1 bchars := bcharsnospace / " ".
bool is_bchar(char c) {
    return is_alpha_or_digit(c) || std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

struct Parameter {
    std::string name;  // lowercased: parameter names are case-insensitive (RFC 9110 §5.6.6)
    std::string value;
};

// RFC 9110 §5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, at the front of `text`.
std::optional<std::string> take_quoted_string(std::string_view& text) {
    auto const is_qdtext = [](unsigned char c) {
        return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c != 0x5C && c != 0x7F);
    };
    auto const is_pair_char = [](unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7F); };
    std::string value;
    std::size_t i = 1;  // past the opening DQUOTE
    for (; i < text.size() && text[i] != '"'; ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c == '\\') {
            // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ): the next byte stands for itself.
            if (++i == text.size() || !is_pair_char(static_cast<unsigned char>(text[i]))) return std::nullopt;
            value.push_back(text[i]);
        } else if (is_qdtext(c)) {
            value.push_back(text[i]);
        } else {
            return std::nullopt;
        }
    }
    if (i == text.size()) return std::nullopt;  // no closing DQUOTE
    text.remove_prefix(i + 1);
    return value;
}

// RFC 9110 §5.6.6: parameters = *( OWS ";" OWS [ parameter ] ), parameter = name "=" ( token /
// quoted-string ). nullopt for bad syntax, and for a name given twice: RFC 6266 §4.1 calls that
// invalid, and two boundaries would make the body ambiguous.
std::optional<std::vector<Parameter>> parse_parameters(std::string_view text) {
    std::vector<Parameter> parameters;
    for (;;) {
        text = trim_ows(text);
        if (text.empty()) return parameters;
        if (text.front() != ';') return std::nullopt;
        text = trim_ows(text.substr(1));
        if (text.empty() || text.front() == ';') continue;  // an empty parameter

        std::size_t name_length = 0;
        while (name_length < text.size() && is_tchar(text[name_length])) ++name_length;
        if (name_length == 0 || name_length == text.size() || text[name_length] != '=') return std::nullopt;
        Parameter parameter;
        for (char c : text.substr(0, name_length)) parameter.name.push_back(to_lower(c));
        text.remove_prefix(name_length + 1);

        if (!text.empty() && text.front() == '"') {
            auto value = take_quoted_string(text);
            if (!value) return std::nullopt;
            parameter.value = std::move(*value);
        } else {
            std::size_t value_length = 0;
            while (value_length < text.size() && is_tchar(text[value_length])) ++value_length;
            if (value_length == 0) return std::nullopt;
            parameter.value = std::string(text.substr(0, value_length));
            text.remove_prefix(value_length);
        }
        for (auto const& seen : parameters)
            if (seen.name == parameter.name) return std::nullopt;
        parameters.push_back(std::move(parameter));
    }
}

std::optional<std::string_view> find_parameter(std::vector<Parameter> const& parameters, std::string_view name) {
    for (auto const& parameter : parameters)
        if (parameter.name == name) return parameter.value;
    return std::nullopt;
}

// RFC 8187 §3.2.1 ext-value in UTF-8, decoded; nullopt for another charset or a bad encoding, which
// leaves the plain `filename` to stand (RFC 6266 §4.3).
std::optional<std::string> decode_ext_value(std::string_view ext_value) {
    auto const charset_end = ext_value.find('\'');
    if (charset_end == std::string_view::npos) return std::nullopt;
    auto const language_end = ext_value.find('\'', charset_end + 1);
    if (language_end == std::string_view::npos) return std::nullopt;
    if (!iequals(ext_value.substr(0, charset_end), "UTF-8")) return std::nullopt;

    auto const hex_value = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    auto const is_attr_char = [](char c) {
        return is_alpha_or_digit(c) || std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos;
    };
    std::string_view const chars = ext_value.substr(language_end + 1);
    std::string decoded;
    for (std::size_t i = 0; i < chars.size(); ++i) {
        if (chars[i] == '%') {
            // pct-encoded = "%" HEXDIG HEXDIG
            if (i + 2 >= chars.size()) return std::nullopt;
            int const high = hex_value(chars[i + 1]), low = hex_value(chars[i + 2]);
            if (high < 0 || low < 0) return std::nullopt;
            decoded.push_back(static_cast<char>(high * 16 + low));
            i += 2;
        } else if (is_attr_char(chars[i])) {
            decoded.push_back(chars[i]);
        } else {
            return std::nullopt;
        }
    }
    return decoded;
}

// RFC 7578 §4.2: Content-Disposition: form-data; name="…" [; filename="…"].
Result<void> parse_content_disposition(std::string_view value, PartHeaders& headers) {
    auto const type_end = value.find(';');
    if (!iequals(trim_ows(value.substr(0, type_end)), "form-data"))
        return invalid("Content-Disposition of a part is not form-data");
    auto const parameters = parse_parameters(type_end == std::string_view::npos ? "" : value.substr(type_end));
    if (!parameters) return invalid("malformed Content-Disposition parameters");

    auto const name = find_parameter(*parameters, "name");
    if (!name) return invalid("Content-Disposition without a name parameter");
    headers.name = std::string(*name);
    // RFC 7578 §4.2 tells senders not to use filename*, but RFC 6266 §4.3 prefers it when present.
    if (auto const extended = find_parameter(*parameters, "filename*")) {
        if (auto decoded = decode_ext_value(*extended)) {
            headers.filename = std::move(*decoded);
            return ok();
        }
    }
    if (auto const filename = find_parameter(*parameters, "filename")) headers.filename = std::string(*filename);
    return ok();
}

// `block` is the part's field lines, each ending in CRLF, without the empty line after them.
Result<PartHeaders> parse_part_headers(std::string_view block) {
    PartHeaders headers;
    bool has_disposition = false;
    bool has_type = false;
    while (!block.empty()) {
        auto const eol = block.find("\r\n");
        std::string_view const line = block.substr(0, eol);
        block.remove_prefix(eol + 2);

        // RFC 9112 §5: field-line = field-name ":" OWS field-value OWS. A line that starts with
        // whitespace is obs-fold (§5.2), which we reject; no whitespace may precede the colon (§5.1).
        auto const colon = line.find(':');
        if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
            return invalid("malformed part header line");
        std::string_view const name = line.substr(0, colon);
        std::string_view const value = trim_ows(line.substr(colon + 1));
        // RFC 9110 §5.5: CR, LF and NUL are never part of a field value.
        if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
            return invalid("control character in a part header");

        // RFC 7578 §4.8: other header fields are ignored. Two of the same would be ambiguous.
        if (iequals(name, "Content-Disposition")) {
            if (has_disposition) return invalid("two Content-Disposition headers in one part");
            has_disposition = true;
            if (auto parsed = parse_content_disposition(value, headers); !parsed) return parsed.error();
        } else if (iequals(name, "Content-Type")) {
            if (has_type) return invalid("two Content-Type headers in one part");
            has_type = true;
            headers.content_type = std::string(value);
        }
    }
    // RFC 7578 §4.2: each part MUST contain a Content-Disposition header field.
    if (!has_disposition) return invalid("part without Content-Disposition");
    return headers;
}

}  // namespace

Result<std::string> multipart_boundary(std::string_view content_type) {
    // RFC 9110 §8.3.1: media-type = type "/" subtype parameters, all compared case-insensitively.
    auto const type_end = content_type.find(';');
    if (!iequals(trim_ows(content_type.substr(0, type_end)), "multipart/form-data"))
        return Error(Errc::invalid_argument, "Content-Type is not multipart/form-data");
    auto const parameters = parse_parameters(type_end == std::string_view::npos ? "" : content_type.substr(type_end));
    if (!parameters) return Error(Errc::invalid_argument, "malformed Content-Type parameters");
    auto const boundary = find_parameter(*parameters, "boundary");
    // RFC 7578 §4.1: the boundary parameter is required.
    if (!boundary) return Error(Errc::invalid_argument, "multipart/form-data without a boundary");
    // RFC 2046 §5.1.1: boundary := 0*69<bchars> bcharsnospace.
    if (boundary->empty() || boundary->size() > max_boundary_length || boundary->back() == ' ')
        return Error(Errc::invalid_argument, "multipart boundary must be 1-70 characters, not ending in a space");
    for (char c : *boundary)
        if (!is_bchar(c)) return Error(Errc::invalid_argument, "multipart boundary has a character outside bchars");
    return std::string(*boundary);
}

MultipartParser::MultipartParser(std::string boundary, MultipartSink& sink, std::size_t max_header_bytes)
    : delimiter_("\r\n--" + boundary), sink_(sink), max_header_bytes_(max_header_bytes) {
    ONDA_ASSERT(!boundary.empty() && boundary.size() <= max_boundary_length, "multipart_boundary() checked it");
    // scan_to_delimiter() relies on CR appearing only at the start of the delimiter.
    ONDA_ASSERT(boundary.find_first_of("\r\n") == std::string::npos, "multipart_boundary() checked it");
}

Result<void> MultipartParser::feed(std::string_view bytes) {
    std::size_t at = 0;
    while (at < bytes.size()) {
        Result<void> step = ok();
        switch (state_) {
        case State::preamble:
        case State::data: step = scan_to_delimiter(bytes, at); break;
        case State::after_boundary:
        case State::transport_padding:
        case State::boundary_cr:
        case State::close_dash: step = step_boundary_line(bytes[at++]); break;
        case State::headers: step = collect_headers(bytes, at); break;
        case State::epilogue: return ok();  // RFC 2046 §5.1.1: the epilogue is to be ignored
        case State::failed: return invalid("parsing already failed");
        }
        if (!step) {
            state_ = State::failed;
            return step;
        }
    }
    return ok();
}

Result<void> MultipartParser::finish() {
    if (state_ == State::epilogue) return ok();
    if (state_ == State::failed) return invalid("parsing already failed");
    state_ = State::failed;
    // RFC 2046 §5.1.1: a body ends with its close-delimiter; without it the upload was cut short.
    return invalid("body ends before the closing boundary");
}

bool MultipartParser::done() const { return state_ == State::epilogue; }

// The preamble and each part's data run up to the next delimiter (RFC 2046 §5.1.1). Data goes to the
// sink as soon as it cannot be the start of a delimiter; the preamble is dropped. Only the count of
// delimiter bytes that may be arriving is kept between calls: their values are delimiter_'s own.
Result<void> MultipartParser::scan_to_delimiter(std::string_view bytes, std::size_t& at) {
    bool const is_data = state_ == State::data;
    auto const emit = [&](std::string_view piece) -> Result<void> {
        if (!is_data || piece.empty()) return ok();
        return sink_.on_part_data(piece);
    };
    std::size_t carried = matched_;  // delimiter bytes held from earlier calls, so not in `bytes`
    std::size_t const run = at;      // the first byte of `bytes` not yet handed to the sink

    while (at < bytes.size()) {
        if (matched_ == 0) {
            // Only a CR can start a delimiter, so skip straight to the next one.
            auto const cr = bytes.find('\r', at);
            if (cr == std::string_view::npos) {
                at = bytes.size();
                break;
            }
            matched_ = 1;
            at = cr + 1;
            continue;
        }
        if (bytes[at] == delimiter_[matched_]) {
            ++matched_;
            ++at;
            if (matched_ < delimiter_.size()) continue;
            // A whole delimiter: what came before it is the end of the data.
            std::size_t const delimiter_start = at - (matched_ - carried);
            matched_ = 0;
            state_ = State::after_boundary;
            return emit(bytes.substr(run, delimiter_start - run));
        }
        // Not a delimiter after all, so the bytes held for it are data. The boundary holds no CR, so
        // the byte that broke the match starts a new delimiter if it is a CR, and none otherwise.
        if (carried > 0) {
            if (auto sent = emit(std::string_view(delimiter_).substr(0, carried)); !sent) return sent;
            carried = 0;
        }
        matched_ = bytes[at] == '\r' ? 1 : 0;
        ++at;
    }
    // Everything but a trailing possible delimiter start is data now; the next call decides the rest.
    std::size_t const held_here = matched_ - carried;
    return emit(bytes.substr(run, bytes.size() - held_here - run));
}

// The rest of a boundary line (RFC 2046 §5.1.1): "--" for the close-delimiter, or transport-padding
// and CRLF before the next part. The part before the delimiter ends only once its line is valid.
Result<void> MultipartParser::step_boundary_line(char c) {
    switch (state_) {
    case State::after_boundary:
        if (c == '-') {
            state_ = State::close_dash;
            return ok();
        }
        [[fallthrough]];
    case State::transport_padding:
        if (is_lwsp(c)) {
            state_ = State::transport_padding;
            return ok();
        }
        if (c == '\r') {
            state_ = State::boundary_cr;
            return ok();
        }
        return invalid("unexpected byte after a boundary");
    case State::boundary_cr:
        if (c != '\n') return invalid("boundary line not ended by CRLF");
        state_ = State::headers;
        pending_.clear();
        return end_part();
    case State::close_dash:
        if (c != '-') return invalid("unexpected byte after a boundary");
        state_ = State::epilogue;
        return end_part();
    default: ONDA_ASSERT(false, "feed() calls this only on a boundary line");
    }
    return ok();
}

Result<void> MultipartParser::end_part() {
    if (!in_part_) return ok();  // the first boundary ends the preamble, not a part
    in_part_ = false;
    return sink_.on_part_end();
}

// RFC 2046 §5.1.1 body-part := MIME-part-headers [CRLF *OCTET]: the headers end at the first empty
// line, which is the very first line when a part has no header fields.
Result<void> MultipartParser::collect_headers(std::string_view bytes, std::size_t& at) {
    std::size_t const before = pending_.size();
    // Never hold more than the limit: what does not fit is either past the headers or too much.
    pending_.append(bytes.substr(at, max_header_bytes_ - before));

    std::size_t block_end = std::string::npos;
    if (pending_.starts_with("\r\n")) {
        block_end = 2;
    } else if (auto const empty_line = pending_.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
               empty_line != std::string::npos) {
        block_end = empty_line + 4;
    }
    if (block_end == std::string::npos) {
        if (pending_.size() >= max_header_bytes_) return invalid("part headers larger than the limit");
        at = bytes.size();
        return ok();
    }
    at += block_end - before;  // bytes past the block were copied only to look; they are part data

    auto headers = parse_part_headers(std::string_view(pending_).substr(0, block_end - 2));
    if (!headers) return headers.error();
    pending_.clear();
    state_ = State::data;
    in_part_ = true;
    return sink_.on_part_begin(*headers);
}

}  // namespace onda::uploads
