#include "http/detail/request_head.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "http/percent.hpp"

namespace onda::http::detail {
namespace {

// What each byte may be, looked up once per byte of every head.
enum CharClass : unsigned char {
    tchar = 1,      // RFC 9110 §5.6.2 token characters
    value = 2,      // §5.5 field-vchar (VCHAR, obs-text), SP and HTAB
    in_target = 4,  // RFC 9112 §3.2: no whitespace or control character
    in_host = 8,    // a Host value: uri-host [":" port] (RFC 3986 reg-name, IP-literal, IPv4)
};

constexpr std::array<unsigned char, 256> char_classes = [] {
    std::array<unsigned char, 256> table{};
    for (int c = 0; c < 256; ++c) {
        bool const alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool const token_symbol =
            std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
        if (c != 0 && (alnum || token_symbol)) table[c] |= tchar;
        if (c == '\t' || (c >= 0x20 && c != 0x7F)) table[c] |= value;
        if (c > 0x20 && c != 0x7F) table[c] |= in_target;
        // No spaces, slashes or anything a proxy could read as another target.
        bool const host_symbol =
            c != 0 && std::string_view("-._~!$&'()*+,;=:%[]").find(static_cast<char>(c)) != std::string_view::npos;
        if (alnum || host_symbol) table[c] |= in_host;
    }
    return table;
}();

bool is_tchar(unsigned char c) { return (char_classes[c] & tchar) != 0; }

bool is_token(std::string_view text) {
    if (text.empty()) return false;
    for (char c : text)
        if (!is_tchar(static_cast<unsigned char>(c))) return false;
    return true;
}

bool is_value_char(unsigned char c) { return (char_classes[c] & value) != 0; }

bool is_target_char(unsigned char c) { return (char_classes[c] & in_target) != 0; }

constexpr std::size_t max_leading_empty_lines = 8;

bool is_ows(char c) { return c == ' ' || c == '\t'; }

struct Scan {
    std::string_view input;
    std::size_t limit;  // no line may end past this
    std::size_t pos = 0;
};

enum class LineResult { line, need_more, too_large, bare_lf };

// The next line from scan.pos (without its CR LF), moving past it.
LineResult next_line(Scan& scan, std::string_view& line) {
    std::size_t const stop = std::min(scan.input.size(), scan.limit);
    if (scan.pos >= stop) return scan.input.size() >= scan.limit ? LineResult::too_large : LineResult::need_more;
    void const* found = std::memchr(scan.input.data() + scan.pos, '\n', stop - scan.pos);
    if (!found) return scan.input.size() >= scan.limit ? LineResult::too_large : LineResult::need_more;
    auto const lf = static_cast<std::size_t>(static_cast<char const*>(found) - scan.input.data());
    if (lf == scan.pos || scan.input[lf - 1] != '\r') return LineResult::bare_lf;
    line = scan.input.substr(scan.pos, lf - 1 - scan.pos);
    scan.pos = lf + 1;
    return LineResult::line;
}

HeadStatus line_failure(LineResult result, std::string& error) {
    switch (result) {
    case LineResult::need_more: return HeadStatus::need_more;
    case LineResult::too_large: return HeadStatus::too_large;
    default: error = "a line ends in a bare LF (CR LF expected)"; return HeadStatus::malformed;
    }
}

HeadStatus fail(std::string& error, std::string why, HeadStatus status = HeadStatus::malformed) {
    error = std::move(why);
    return status;
}

HeadStatus parse_request_line(std::string_view line, RequestHead& head, std::string& error) {
    auto const first_space = line.find(' ');
    if (first_space == std::string_view::npos) return fail(error, "malformed request line");
    head.method = line.substr(0, first_space);
    if (!is_token(head.method)) return fail(error, "malformed method");
    auto const rest = line.substr(first_space + 1);
    auto const second_space = rest.find(' ');
    if (second_space == std::string_view::npos) return fail(error, "malformed request line");
    head.target = rest.substr(0, second_space);
    if (head.target.empty()) return fail(error, "empty request target");
    for (char c : head.target)
        if (!is_target_char(static_cast<unsigned char>(c))) return fail(error, "malformed request target");
    auto const version = rest.substr(second_space + 1);
    // HTTP-version = "HTTP/" DIGIT "." DIGIT (§2.3)
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
        version[5] > '9' || version[7] < '0' || version[7] > '9')
        return fail(error, "malformed HTTP version");
    if (version[5] != '1')
        return fail(error, "HTTP version not supported: this server speaks HTTP/1.1", HeadStatus::version_unsupported);
    head.http10 = version[7] == '0';
    return HeadStatus::complete;
}

bool is_valid_host(std::string_view value) {
    return std::all_of(value.begin(), value.end(),
                       [](char c) { return (char_classes[static_cast<unsigned char>(c)] & in_host) != 0; });
}

// Content-Length, Transfer-Encoding, Connection and Host, once every field is in (RFC 9112 §6.3,
// §9.3, §3.2).
HeadStatus frame_body(RequestHead& head, std::string& error) {
    HeadStatus status = HeadStatus::complete;
    auto refuse = [&](HeadStatus why, std::string what) {
        if (status != HeadStatus::complete) return;  // the first reason stands
        status = why;
        error = std::move(what);
    };
    bool has_length = false;
    bool has_coding = false;
    bool close = false;
    bool keep_alive = false;
    std::size_t hosts = 0;
    bool host_valid = true;
    for (auto const& [name, value] : head.fields) {
        if (iequals(name, "Content-Length")) {
            // A list of identical values is one value (RFC 9110 §8.6); anything else is malformed.
            bool empty = true;
            for_each_list_element(value, [&](std::string_view element) {
                empty = false;
                std::uint64_t parsed = 0;
                bool digits = element.size() <= 19;  // fits in 64 bits
                for (char c : element) {
                    if (c < '0' || c > '9') digits = false;
                    parsed = parsed * 10 + static_cast<std::uint64_t>(c - '0');
                }
                if (!digits || (has_length && parsed != head.content_length))
                    refuse(HeadStatus::malformed, "malformed Content-Length");
                has_length = true;
                head.content_length = parsed;
            });
            if (empty) refuse(HeadStatus::malformed, "malformed Content-Length");
        } else if (iequals(name, "Transfer-Encoding")) {
            // An empty one frames nothing, and a proxy in front may read it otherwise: refused.
            if (value.find_first_not_of(", \t") == std::string_view::npos)
                refuse(HeadStatus::malformed, "an empty Transfer-Encoding");
            for_each_list_element(value, [&](std::string_view coding) {
                if (!iequals(coding, "chunked"))
                    refuse(HeadStatus::coding_unsupported,
                           "transfer coding not supported: " + std::string(coding.substr(0, 40)));
                else if (has_coding)
                    refuse(HeadStatus::malformed, "chunked applied twice");
                has_coding = true;
            });
        } else if (iequals(name, "Host")) {
            ++hosts;
            host_valid = host_valid && is_valid_host(value);
        } else if (iequals(name, "Connection")) {
            for_each_list_element(value, [&](std::string_view option) {
                if (iequals(option, "close")) close = true;
                if (iequals(option, "keep-alive")) keep_alive = true;
            });
        }
    }
    // §3.2: an HTTP/1.1 request has exactly one Host, and no request has two.
    if (hosts > 1) refuse(HeadStatus::malformed, "more than one Host");
    if (hosts == 0 && !head.http10) refuse(HeadStatus::malformed, "no Host: an HTTP/1.1 request carries one");
    if (!host_valid) refuse(HeadStatus::malformed, "malformed Host");
    if (has_coding && has_length) refuse(HeadStatus::malformed, "both Content-Length and Transfer-Encoding");
    if (has_coding && head.http10) refuse(HeadStatus::malformed, "Transfer-Encoding in an HTTP/1.0 request");
    head.chunked = has_coding;
    if (has_coding) head.content_length = 0;
    head.keep_alive = head.http10 ? keep_alive && !close : !close;
    return status;
}

}  // namespace

std::string_view RequestHead::field(std::string_view name) const {
    for (auto const& [key, value] : fields)
        if (iequals(key, name)) return value;
    return {};
}

HeadStatus parse_request_head(std::string_view input, std::size_t max_bytes, RequestHead& head, std::string& error,
                              std::size_t max_fields) {
    head = RequestHead{};
    Scan scan{.input = input, .limit = max_bytes};
    std::string_view line;
    LineResult result;
    // §2.2: empty lines before the request line are skipped, a few of them (each costs a parse
    // of the whole head again while the rest of it drips in).
    std::size_t empty_lines = 0;
    while ((result = next_line(scan, line)) == LineResult::line && line.empty()) {
        if (++empty_lines > max_leading_empty_lines) return fail(error, "too many empty lines before the request");
    }
    if (result != LineResult::line) return line_failure(result, error);
    if (auto status = parse_request_line(line, head, error); status != HeadStatus::complete) return status;

    for (;;) {
        result = next_line(scan, line);
        if (result != LineResult::line) return line_failure(result, error);
        if (line.empty()) break;
        if (is_ows(line.front())) return fail(error, "obsolete line folding");
        auto const colon = line.find(':');
        if (colon == std::string_view::npos) return fail(error, "a header line without a colon");
        auto const name = line.substr(0, colon);
        if (!is_token(name)) return fail(error, "malformed header name");
        auto const value = trim_ows(line.substr(colon + 1));
        for (char c : value)
            if (!is_value_char(static_cast<unsigned char>(c)))
                return fail(error, "a control character in a header value");
        if (head.fields.size() >= max_fields) return HeadStatus::too_large;
        head.fields.emplace_back(name, value);
    }
    head.size = scan.pos;
    return frame_body(head, error);
}

}  // namespace onda::http::detail
