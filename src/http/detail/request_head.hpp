// The head of an HTTP/1.1 request (RFC 9112 §2-§6) parsed in place: the request line, the header
// fields as views into the bytes, and how the body is framed. No allocation for heads of up to 24
// fields, no copy of any byte: the connection copies the head once, into the Request.
//
// Strict where leniency lets requests be smuggled or misread: CR LF line ends only (a bare LF is
// malformed), no whitespace before a field's colon, no obsolete line folding, no control characters
// in values, Content-Length digits only and one value, Transfer-Encoding only `chunked` and never
// together with Content-Length. Lenient where RFC 9112 asks it: empty lines before the request line
// are skipped (§2.2).
// Pure code, fuzzed by tests/fuzz/request_head_fuzz.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <boost/container/small_vector.hpp>

namespace onda::http::detail {

using HeadFields = boost::container::small_vector<std::pair<std::string_view, std::string_view>, 24>;

struct RequestHead {
    std::string_view method;
    std::string_view target;
    bool http10 = false;   // HTTP/1.0 (else 1.1)
    HeadFields fields;     // in order; names as sent, values without surrounding whitespace
    std::size_t size = 0;  // the bytes of the head, its final empty line included

    // How the body is framed (§6.3): chunked, a Content-Length, or none.
    bool chunked = false;
    std::uint64_t content_length = 0;
    // Connection: close (1.1), or no Connection: keep-alive (1.0).
    bool keep_alive = true;

    // The first field of that name, case-insensitively; "" when absent.
    std::string_view field(std::string_view name) const;
};

enum class HeadStatus {
    complete,             // `head` describes input[0, head.size)
    need_more,            // no error so far; the head has not ended yet
    too_large,            // past max_bytes (or too many fields) without an end: 431
    malformed,            // 400, `error` says why
    version_unsupported,  // not HTTP/1.x: 505
    coding_unsupported,   // a transfer coding other than chunked: 501
};

// Parses the head at the start of `input`. `max_bytes` bounds the head (the empty lines before it
// included); `max_fields` the number of fields.
HeadStatus parse_request_head(std::string_view input, std::size_t max_bytes, RequestHead& head, std::string& error,
                              std::size_t max_fields = 100);

}  // namespace onda::http::detail
