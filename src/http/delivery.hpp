// Delivery of stored bytes (API.md "Delivery"): the one function every byte-serving route goes
// through (stream, download, renditions, HLS files). It applies, in RFC 9110 order:
//   preconditions (§13.2.2)  -> 304 Not Modified / 412 Precondition Failed
//   Range + If-Range (§14)   -> 206 single part, 206 multipart/byteranges, 416 with bytes */SIZE
//   otherwise                -> 200 with the whole body
// and sets Accept-Ranges, ETag, Last-Modified, Cache-Control, Content-Type and, when given,
// Content-Disposition. HEAD gets the same headers and no body. Bodies go out with sendfile(2).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/conditional.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace onda::http {

struct Representation {
    int fd = -1;  // an open descriptor of the bytes
    std::uint64_t size = 0;
    std::shared_ptr<void const> owner;  // keeps `fd` open until the response is written
    std::string content_type;
    Validators validators;
    std::string cache_control;
    std::string content_disposition;  // empty: none
};

Response deliver(Request const& request, Representation representation);

// Bytes that are made when asked for (an on-the-fly conversion whose length is known before it
// runs), under the same rules but for several ranges, which are answered with the whole body
// (RFC 9110 §14.2 lets a server ignore Range; each part would be a conversion of its own).
struct GeneratedRepresentation {
    std::uint64_t size = 0;
    std::string content_type;
    Validators validators;
    std::string cache_control;
    std::string content_disposition;  // empty: none
    // Makes the body for bytes [first, first + length); called at most once, and not for HEAD, 304,
    // 412 or 416. An error becomes the response.
    std::function<Result<std::unique_ptr<BodyStream>>(std::uint64_t first, std::uint64_t length)> open;
};

Response deliver(Request const& request, GeneratedRepresentation const& representation);

}  // namespace onda::http
