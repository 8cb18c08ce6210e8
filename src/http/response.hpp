// What a handler returns: a status, headers and a body. The body is one of
//   - text: a string held in memory (JSON, playlists, small files);
//   - file pieces: byte ranges of open file descriptors, sent with sendfile(2), with literal text
//     between them (multipart/byteranges), kept open by `owner` until the write is done;
//   - a stream: chunks produced while the response is being written (SSE, on-the-fly transcodes),
//     sent with chunked transfer coding, or with Content-Length when the stream knows its length
//     before it starts (a constant-bit-rate conversion);
//   - a WebSocket upgrade: the connection is handed to a session (see http/websocket.hpp).
// The connection adds Content-Length (or Transfer-Encoding), Date, Server and Connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

#include "core/error.hpp"
#include "core/task.hpp"

namespace onda::http {

// One piece of a file body: either literal bytes or `length` bytes of `fd` from `offset`.
struct FilePiece {
    std::string text;
    int fd = -1;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::uint64_t size() const { return fd >= 0 ? length : text.size(); }
};

struct FileBody {
    std::vector<FilePiece> pieces;
    std::shared_ptr<void const> owner;  // keeps the descriptors open until the response is written
};

struct WebSocketUpgrade;  // http/websocket.hpp

// Produces the chunks of a streamed body, on the connection's thread.
class BodyStream {
public:
    virtual ~BodyStream() = default;
    // The next chunk; nullopt at the end. An error ends the response abruptly (the client sees a
    // truncated chunked body, which is how HTTP/1.1 reports a failure after the head was sent).
    virtual Task<Result<std::optional<std::string>>> next() = 0;
    // The exact number of bytes the chunks will add up to, when known before the first: the body is
    // then sent with Content-Length, and a stream that ends short of it (or would run past it) ends
    // the connection, so the client cannot take a cut body as whole.
    virtual std::optional<std::uint64_t> length() const { return std::nullopt; }
};

class Response {
public:
    using Header = std::pair<std::string, std::string>;

    Response() = default;
    explicit Response(unsigned status) : status_(status) {}

    unsigned status() const { return status_; }
    void set_status(unsigned status) { status_ = status; }

    // Adds a header (several of one name are allowed); set_header replaces all of that name.
    void add_header(std::string_view name, std::string value);
    void set_header(std::string_view name, std::string value);
    std::string_view header(std::string_view name) const;
    std::vector<Header> const& headers() const { return headers_; }

    void set_text(std::string body) { body_ = std::move(body); }
    void set_file(FileBody body) { body_ = std::move(body); }
    void set_stream(std::unique_ptr<BodyStream> stream) { body_ = std::move(stream); }
    // Drops the body but keeps the length a HEAD or 304 answer reports.
    void set_no_body(std::uint64_t content_length) { body_ = NoBody{content_length}; }
    // Status 101: the connection becomes a WebSocket (use http::accept_websocket).
    void set_upgrade(std::shared_ptr<WebSocketUpgrade> upgrade) { body_ = std::move(upgrade); }

    struct NoBody {
        std::uint64_t content_length = 0;
    };
    using Body =
        std::variant<std::string, FileBody, std::unique_ptr<BodyStream>, NoBody, std::shared_ptr<WebSocketUpgrade>>;
    Body& body() { return body_; }
    Body const& body() const { return body_; }
    // The body's length when known (for a stream, when it states one; never for an upgrade).
    std::optional<std::uint64_t> content_length() const;

    // Ask the connection to close after this response.
    void set_close() { close_ = true; }
    bool wants_close() const { return close_; }

private:
    unsigned status_ = 200;
    std::vector<Header> headers_;
    Body body_;
    bool close_ = false;
};

// JSON bodies with `Content-Type: application/json`.
Response json_response(unsigned status, boost::json::value const& body);

// The one place an Error becomes an HTTP answer: status from the Errc, body
// {"error":{"code":…,"message":…}}.
Response error_response(Error const& error);
unsigned status_for(Errc code);

}  // namespace onda::http
