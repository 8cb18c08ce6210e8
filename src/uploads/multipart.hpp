// A streaming multipart/form-data parser (RFC 7578 over RFC 2046 §5.1.1): bytes go in as they come
// off the socket, in pieces of any size, and part bodies come out through the sink without the
// whole body ever being held in memory.
//
//   multipart-body = [preamble CRLF] dash-boundary *LWSP CRLF body-part
//                    *(CRLF dash-boundary *LWSP CRLF body-part) CRLF dash-boundary "--" [epilogue]
//   dash-boundary  = "--" boundary ; body-part = part-headers CRLF part-data
//
// Example:
//   auto boundary = multipart_boundary(content_type);          // from the Content-Type header
//   MultipartParser parser(*boundary, sink);
//   while (reading) if (auto r = parser.feed(chunk); !r) fail(r.error());
//   if (auto r = parser.finish(); !r) fail(r.error());         // truncated body: invalid_argument
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace onda::uploads {

struct PartHeaders {
    std::string name;          // Content-Disposition: form-data; name="…"
    std::string filename;      // filename="…" (or filename*=UTF-8''…), empty when absent
    std::string content_type;  // the part's Content-Type, empty when absent
};

// Receives the parts in order: begin, any number of data calls, end. A sink error stops parsing and
// is returned from feed().
class MultipartSink {
public:
    virtual ~MultipartSink() = default;
    virtual Result<void> on_part_begin(PartHeaders const& headers) = 0;
    virtual Result<void> on_part_data(std::string_view bytes) = 0;
    virtual Result<void> on_part_end() = 0;
};

// The boundary parameter of a `multipart/form-data; boundary=…` Content-Type (quoted or not,
// 1-70 characters per RFC 2046); invalid_argument for any other type or a missing/bad boundary.
Result<std::string> multipart_boundary(std::string_view content_type);

class MultipartParser {
public:
    // `boundary` is a valid one, as multipart_boundary() returns (1-70 bchars, so no CR or LF).
    // `sink` must outlive the parser. A part's header block (its field lines and the empty line that
    // ends them) longer than `max_header_bytes` is an error.
    MultipartParser(std::string boundary, MultipartSink& sink, std::size_t max_header_bytes = 16 * 1024);

    // Errors are Errc::invalid_argument with what was wrong, or whatever the sink returned.
    Result<void> feed(std::string_view bytes);
    // Succeeds only when the closing delimiter was seen.
    Result<void> finish();
    bool done() const;

private:
    // Where the parser stands in the grammar above.
    enum class State {
        preamble,           // before the first dash-boundary; dropped
        after_boundary,     // just past a dash-boundary: "--" closes the body, *LWSP CRLF opens a part
        transport_padding,  // inside the *LWSP after a dash-boundary
        boundary_cr,        // the CR that ends a boundary line has been seen
        close_dash,         // the first '-' of the closing "--" has been seen
        headers,            // the part's header block, up to its empty line
        data,               // part data, up to the next delimiter
        epilogue,           // after the close delimiter; ignored
        failed,             // an error was returned; every later call returns one too
    };
    Result<void> scan_to_delimiter(std::string_view bytes, std::size_t& at);
    Result<void> step_boundary_line(char c);
    Result<void> collect_headers(std::string_view bytes, std::size_t& at);
    Result<void> end_part();

    std::string delimiter_;  // "\r\n--" + boundary
    MultipartSink& sink_;
    std::size_t max_header_bytes_;
    State state_ = State::preamble;
    // How many leading bytes of delimiter_ end the bytes scanned so far: a delimiter that may be
    // arriving. The body is read as if it began with CRLF, so the very first line can be a boundary.
    std::size_t matched_ = 2;
    std::string pending_;   // the current part's header block so far, at most max_header_bytes_
    bool in_part_ = false;  // on_part_begin was called and on_part_end not yet
};

}  // namespace onda::uploads
