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
    // `sink` must outlive the parser. Part headers beyond `max_header_bytes` per part are an error.
    MultipartParser(std::string boundary, MultipartSink& sink, std::size_t max_header_bytes = 16 * 1024);

    // Errors are Errc::invalid_argument with what was wrong, or whatever the sink returned.
    Result<void> feed(std::string_view bytes);
    // Succeeds only when the closing delimiter was seen.
    Result<void> finish();
    bool done() const;

private:
    enum class State { preamble, after_boundary, headers, data, epilogue };
    Result<void> parse_headers(std::string_view block);
    Result<void> flush_data(std::size_t keep);

    std::string delimiter_;  // "\r\n--" + boundary
    MultipartSink& sink_;
    std::size_t max_header_bytes_;
    State state_ = State::preamble;
    std::string pending_;  // bytes not yet attributable: a possible delimiter prefix or partial headers
    bool in_part_ = false;
};

}  // namespace onda::uploads
