#include "http/delivery.hpp"

#include <charconv>
#include <variant>

#include <fmt/format.h>

#include "core/ids.hpp"
#include "http/range.hpp"

namespace onda::http {
namespace {

template <class R>
void add_common_headers(Response& response, R const& r) {
    response.add_header("Accept-Ranges", "bytes");
    response.add_header("ETag", r.validators.etag);
    response.add_header("Last-Modified", format_http_date(r.validators.last_modified));
    if (!r.cache_control.empty()) response.add_header("Cache-Control", r.cache_control);
    if (!r.content_disposition.empty()) response.add_header("Content-Disposition", r.content_disposition);
}

// The steps both kinds of representation share, in RFC 9110 order: preconditions (§13.2.2), then
// Range and If-Range (§14). Either the answer (304, 412, 416) or the ranges to serve.
template <class R>
std::variant<Response, RangeRequest> evaluate(Request const& request, R const& r) {
    bool const get_or_head = request.method() == "GET" || request.method() == "HEAD";
    ConditionalHeaders conditions{request.header("If-Match"), request.header("If-None-Match"),
                                  request.header("If-Modified-Since"), request.header("If-Unmodified-Since")};
    switch (evaluate_preconditions(conditions, r.validators, get_or_head)) {
    case Precondition::not_modified: {
        // §15.4.5: a 304 carries the validators and caching headers the 200 would have.
        Response response(304);
        response.add_header("ETag", r.validators.etag);
        response.add_header("Last-Modified", format_http_date(r.validators.last_modified));
        if (!r.cache_control.empty()) response.add_header("Cache-Control", r.cache_control);
        response.set_no_body(0);
        return response;
    }
    case Precondition::failed: return error_response(Error(Errc::precondition_failed, "precondition failed"));
    case Precondition::proceed: break;
    }

    RangeRequest ranges;
    auto range_header = request.header("Range");
    if (get_or_head && !range_header.empty() && if_range_matches(request.header("If-Range"), r.validators))
        ranges = parse_range(range_header, r.size);
    if (ranges.kind == RangeRequest::Kind::unsatisfiable) {
        auto response =
            error_response(Error(Errc::out_of_range, fmt::format("no requested range is within the {} bytes", r.size)));
        response.add_header("Content-Range", fmt::format("bytes */{}", r.size));
        response.add_header("Accept-Ranges", "bytes");
        return response;
    }
    return ranges;
}

// "bytes FIRST-LAST/SIZE" (§14.4) without fmt: one of these goes with every range answered.
std::string format_content_range(ByteRange const& range, std::uint64_t size) {
    std::string out = "bytes ";
    append_number(out, range.first);
    out += '-';
    append_number(out, range.last);
    out += '/';
    append_number(out, size);
    return out;
}

// RFC 9110 §14.6: a boundary that cannot occur in the parts (random, 16 hex digits).
std::string make_boundary() {
    unsigned char bytes[8];
    random_bytes(bytes);
    std::string out = "onda-";
    for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
    return out;
}

}  // namespace

Response deliver(Request const& request, Representation r) {
    auto evaluated = evaluate(request, r);
    if (auto* answer = std::get_if<Response>(&evaluated)) return std::move(*answer);
    auto const& ranges = std::get<RangeRequest>(evaluated);

    FileBody body{.pieces = {}, .owner = r.owner};
    Response response;
    if (ranges.kind == RangeRequest::Kind::partial && ranges.ranges.size() == 1) {
        auto const& range = ranges.ranges.front();
        response.set_status(206);
        response.add_header("Content-Type", r.content_type);
        response.add_header("Content-Range", format_content_range(range, r.size));
        body.pieces.push_back(FilePiece{.text = {}, .fd = r.fd, .offset = range.first, .length = range.length()});
    } else if (ranges.kind == RangeRequest::Kind::partial) {
        // §14.6 multipart/byteranges: each part has its own Content-Type and Content-Range.
        std::string const boundary = make_boundary();
        response.set_status(206);
        response.add_header("Content-Type", "multipart/byteranges; boundary=" + boundary);
        for (auto const& range : ranges.ranges) {
            body.pieces.push_back(
                FilePiece{.text = fmt::format("\r\n--{}\r\nContent-Type: {}\r\nContent-Range: bytes {}-{}/{}\r\n\r\n",
                                              boundary, r.content_type, range.first, range.last, r.size)});
            body.pieces.push_back(FilePiece{.text = {}, .fd = r.fd, .offset = range.first, .length = range.length()});
        }
        body.pieces.push_back(FilePiece{.text = fmt::format("\r\n--{}--\r\n", boundary)});
    } else {
        response.set_status(200);
        response.add_header("Content-Type", r.content_type);
        if (r.size > 0) body.pieces.push_back(FilePiece{.text = {}, .fd = r.fd, .offset = 0, .length = r.size});
    }
    add_common_headers(response, r);
    if (request.is_head()) {
        std::uint64_t length = 0;
        for (auto const& piece : body.pieces) length += piece.size();
        response.set_no_body(length);
    } else {
        response.set_file(std::move(body));
    }
    return response;
}

Response deliver(Request const& request, GeneratedRepresentation const& r) {
    auto evaluated = evaluate(request, r);
    if (auto* answer = std::get_if<Response>(&evaluated)) return std::move(*answer);
    auto const& ranges = std::get<RangeRequest>(evaluated);

    Response response(200);
    ByteRange range{.first = 0, .last = r.size == 0 ? 0 : r.size - 1};
    if (ranges.kind == RangeRequest::Kind::partial && ranges.ranges.size() == 1) {
        range = ranges.ranges.front();
        response.set_status(206);
        response.add_header("Content-Range", format_content_range(range, r.size));
    }
    std::uint64_t const length = r.size == 0 ? 0 : range.length();
    response.add_header("Content-Type", r.content_type);
    add_common_headers(response, r);
    if (request.is_head() || length == 0) {
        response.set_no_body(length);
        return response;
    }
    auto body = r.open(range.first, length);
    if (!body) return error_response(body.error());
    response.set_stream(std::move(*body));
    return response;
}

}  // namespace onda::http
