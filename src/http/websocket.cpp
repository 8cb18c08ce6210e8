#include "http/websocket.hpp"

#include <limits>
#include <vector>

#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "core/log.hpp"
#include "http/detail/websocket_connection.hpp"

namespace onda::http {
namespace {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using error_code = boost::system::error_code;

// What the read that waits for a message asks for (most Socket.IO packets fit: pongs, acks, small
// events).
constexpr std::size_t idle_read_bytes = 128;

// A token of a comma-separated header value, case-insensitively (RFC 9110 §5.6.1).
bool has_token(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        auto const comma = list.find(',');
        auto item = list.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (iequals(item, token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

Error read_error(error_code const& ec) {
    if (ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow)
        return Error(Errc::too_large, "WebSocket message too large");
    if (ec == beast::error::timeout) return Error(Errc::timeout, "WebSocket idle for too long");
    if (ec == websocket::error::closed || ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted || ec == net::error::broken_pipe || ec == net::error::not_connected)
        return Error(Errc::cancelled, "WebSocket closed: " + ec.message());
    return Error(Errc::invalid_argument, "WebSocket protocol error: " + ec.message());
}

class BeastWebSocket final : public WebSocket {
public:
    BeastWebSocket(beast::tcp_stream& stream, WebSocketOptions const& options, std::string peer)
        : ws_(stream), peer_(std::move(peer)) {
        ws_.read_message_max(options.max_message_bytes);
        ws_.auto_fragment(false);  // one frame per message: less work for both sides
        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = options.handshake_timeout;
        timeouts.idle_timeout = options.idle_timeout;
        timeouts.keep_alive_pings = false;  // the session above runs its own heartbeat
        ws_.set_option(timeouts);
    }

    Task<Result<void>> accept(detail::UpgradeRequest const& request, Response const& response) {
        // The 101 carries what the handler and the service added (request id, CORS, …).
        ws_.set_option(websocket::stream_base::decorator([&response](websocket::response_type& out) {
            out.set(beast::http::field::server, "onda");
            for (auto const& [name, value] : response.headers()) out.insert(name, value);
        }));
        auto [ec] = co_await ws_.async_accept(request, use_result);
        if (ec) co_return Error(Errc::invalid_argument, "WebSocket handshake failed: " + ec.message());
        co_return ok();
    }

    Task<Result<WebSocketMessage>> read() override {
        // The first read of a message asks for at most idle_read_bytes: it is the one that waits
        // while the connection idles, and Beast allocates what it asks for before it waits (a
        // whole 1.5 KiB frame buffer per idle WebSocket otherwise). The rest of the message is
        // read as it comes; max_message_bytes is enforced by the stream across the reads.
        std::size_t limit = idle_read_bytes;
        do {
            auto [ec, n] = co_await ws_.async_read_some(buffer_, limit, use_result);
            if (ec) {
                buffer_ = beast::flat_buffer();
                co_return read_error(ec);
            }
            limit = std::numeric_limits<std::size_t>::max();
        } while (!ws_.is_message_done());
        WebSocketMessage message{.data = beast::buffers_to_string(buffer_.data()), .binary = ws_.got_binary()};
        // Copied out: the buffer is freed, so a WebSocket idling between messages (most of them,
        // most of the time) holds none.
        buffer_ = beast::flat_buffer();
        co_return message;
    }

    Task<Result<void>> write(std::string_view data, bool binary) override {
        ws_.binary(binary);
        auto [ec, n] = co_await ws_.async_write(net::buffer(data.data(), data.size()), use_result);
        if (ec) co_return read_error(ec);
        co_return ok();
    }

    Task<Result<void>> write_all(std::span<OutgoingMessage const> messages) override {
        if (messages.empty()) co_return ok();
        if (messages.size() == 1) {
            Task<Result<void>> one = write(messages.front().data, messages.front().binary);
            co_return co_await std::move(one);
        }
        // RFC 6455 §5.2: FIN and the opcode, then the length in 7, 7+16 or 7+64 bits; no mask from
        // a server. At most 10 header bytes per message.
        constexpr std::size_t max_header = 10;
        std::vector<unsigned char> headers(messages.size() * max_header);
        std::vector<net::const_buffer> buffers;
        buffers.reserve(messages.size() * 2);
        for (std::size_t i = 0; i < messages.size(); ++i) {
            auto const& message = messages[i];
            unsigned char* header = headers.data() + i * max_header;
            std::size_t used = 0;
            header[used++] = static_cast<unsigned char>(0x80 | (message.binary ? 0x2 : 0x1));
            std::uint64_t const size = message.data.size();
            if (size < 126) {
                header[used++] = static_cast<unsigned char>(size);
            } else if (size <= 0xffff) {
                header[used++] = 126;
                header[used++] = static_cast<unsigned char>(size >> 8);
                header[used++] = static_cast<unsigned char>(size & 0xff);
            } else {
                header[used++] = 127;
                for (int shift = 56; shift >= 0; shift -= 8)
                    header[used++] = static_cast<unsigned char>((size >> shift) & 0xff);
            }
            buffers.emplace_back(header, used);
            buffers.emplace_back(message.data.data(), message.data.size());
        }
        auto [ec, n] = co_await net::async_write(ws_.next_layer(), buffers, use_result);
        if (ec) co_return read_error(ec);
        co_return ok();
    }

    Task<Result<void>> close(std::uint16_t code, std::string_view reason) override {
        auto const text = reason.substr(0, 120);  // a close frame's reason holds at most 123 bytes
        websocket::close_reason why(static_cast<websocket::close_code>(code),
                                    beast::string_view(text.data(), text.size()));
        auto [ec] = co_await ws_.async_close(why, use_result);
        if (ec) co_return read_error(ec);
        co_return ok();
    }

    void abort() override {
        error_code ignored;
        ws_.next_layer().socket().close(ignored);
    }

    std::string const& remote_address() const override { return peer_; }

private:
    websocket::stream<beast::tcp_stream&> ws_;
    beast::flat_buffer buffer_;
    std::string peer_;
};

}  // namespace

bool is_websocket_upgrade(Request const& request) {
    return request.method() == "GET" && has_token(request.header("Connection"), "upgrade") &&
           iequals(request.header("Upgrade"), "websocket");
}

Response accept_websocket(WebSocketSession session, WebSocketOptions options) {
    Response response(101);
    response.set_upgrade(std::make_shared<WebSocketUpgrade>(WebSocketUpgrade{std::move(session), options}));
    return response;
}

namespace detail {

UpgradeRequest handshake_fields(UpgradeRequest const& request) {
    UpgradeRequest kept(request.method(), request.target(), request.version());
    for (auto field : {beast::http::field::host, beast::http::field::upgrade, beast::http::field::connection,
                       beast::http::field::sec_websocket_key, beast::http::field::sec_websocket_version,
                       beast::http::field::sec_websocket_protocol, beast::http::field::sec_websocket_extensions})
        for (auto [it, end] = request.equal_range(field); it != end; ++it) kept.insert(field, it->value());
    return kept;
}

Task<> serve_websocket(beast::tcp_stream& stream, std::unique_ptr<PendingUpgrade> upgrade, std::string const& peer) {
    BeastWebSocket ws(stream, upgrade->session->options, peer);
    Task<Result<void>> accepting = ws.accept(upgrade->request, upgrade->response);
    auto accepted = co_await std::move(accepting);
    // The session may last hours: keep none of the request, and (once its task exists) not the
    // closure that made it either.
    auto session = std::move(upgrade->session);
    upgrade.reset();
    if (!accepted) {
        log::debug("peer={} {}", peer, accepted.error().message());
        co_return;
    }
    Task<> running = session->session(ws);
    session.reset();
    co_await std::move(running);
}

}  // namespace detail
}  // namespace onda::http
