// WebSocket (RFC 6455) for handlers, without Beast: a handler that wants the connection answers the
// upgrade request with accept_websocket(session); the connection then performs the opening handshake
// (101 Switching Protocols, with the response's headers), makes the session's WebSocketHandler and,
// on its own thread, reads: each message goes to the handler, which writes through the WebSocket,
// until either side ends. The HTTP connection ends with it. An idle WebSocket is one wait for
// readability and the handler's object: no task of the handler's waits.
//
// Limits: a message larger than max_message_bytes ends reading with too_large (the peer gets close
// code 1009); nothing received for idle_timeout ends the connection (timeout), and so does a write
// that takes longer than idle_timeout (a peer that stopped reading); the opening and closing
// handshakes each get handshake_timeout (the closing one at most a second at server shutdown). At
// server shutdown reading ends with cancelled.
//
// Example:
//   class Echo final : public http::WebSocketHandler {
//       Task<bool> opened(http::WebSocket& ws) override { ws_ = &ws; co_return true; }
//       Task<bool> received(http::WebSocketMessage message) override {
//           Task<Result<void>> writing = ws_->write(message.data, message.binary);
//           co_return static_cast<bool>(co_await std::move(writing));
//       }
//       Task<> ended(Error) override {
//           Task<Result<void>> closing = ws_->close(1000, "bye");
//           co_await std::move(closing);
//       }
//       http::WebSocket* ws_ = nullptr;
//   };
//   if (!http::is_websocket_upgrade(request)) co_return http::error_response(…);
//   co_return http::accept_websocket([] { return std::make_unique<Echo>(); });
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/task.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace onda::http {

struct WebSocketMessage {
    std::string data;
    bool binary = false;
};

// One message to send; `data` must stay alive until the write completes.
struct OutgoingMessage {
    std::string_view data;
    bool binary = false;
};

struct WebSocketOptions {
    std::size_t max_message_bytes = 1'000'000;
    std::chrono::milliseconds handshake_timeout{10'000};
    std::chrono::milliseconds idle_timeout{60'000};
};

// One accepted WebSocket, as its handler writes to it: one write (or close) at a time, from the
// connection's thread, while the connection reads.
class WebSocket {
public:
    virtual ~WebSocket() = default;

    // Sends one message; `data` must stay alive until the write completes.
    virtual Task<Result<void>> write(std::string_view data, bool binary) = 0;

    // Sends `messages` in order, one WebSocket message each, with one gathered write: what a
    // connection queued while it was busy goes out in one syscall instead of one per message
    // (DESIGN.md "Merged writes"). Errors as write(). Frames are unfragmented and unmasked, with no
    // extension (RFC 6455 §5.2); pongs and close replies the reader owes are ordered between them,
    // after the bytes a write_now() left owed.
    virtual Task<Result<void>> write_all(std::span<OutgoingMessage const> messages) = 0;

    // What write_now() did with the messages.
    enum class Immediate {
        sent,       // every byte is in the socket
        owed,       // all taken; the socket took part of them and the rest waits here, sent ahead of
                    // anything else by the next write_all() (an empty one just sends it)
        not_taken,  // none taken: a write is under way, bytes are owed, the WebSocket is closing,
                    // there are more than max_write_now_messages, the socket is full or it failed;
                    // write_all() them
    };
    static constexpr std::size_t max_write_now_messages = 32;
    // Sends `messages` like write_all(), without waiting and without a task: the path of a server
    // that writes one event to thousands of sockets. The data need only live through the call.
    virtual Immediate write_now(std::span<OutgoingMessage const> messages) = 0;

    // Sends a close frame (RFC 6455 §7.4 `code`). Reading then ends once the peer answers.
    virtual Task<Result<void>> close(std::uint16_t code, std::string_view reason) = 0;

    // Drops the TCP connection now, without a closing handshake: reading and a pending write end
    // with cancelled. For when the other direction has failed and the peer cannot be trusted to
    // answer.
    virtual void abort() = 0;

    virtual std::string const& remote_address() const = 0;

    // The connection's thread, where every other call on the WebSocket is made. This one may be
    // made from any thread (it never changes).
    virtual net::any_io_executor executor() const = 0;
};

// What a session does with its WebSocket; its tasks run on the connection's thread, one at a time.
class WebSocketHandler {
public:
    virtual ~WebSocketHandler() = default;

    // Once, after the handshake. False: nothing is read (the handler closed the WebSocket, or will
    // in ended()).
    virtual Task<bool> opened(WebSocket& ws) = 0;

    // Each whole message, in order; the next one is read when this task has ended. False stops
    // reading.
    virtual Task<bool> received(WebSocketMessage message) = 0;

    // Once, last, after opened() whatever it returned: why reading stopped. cancelled when the peer
    // closed or went away, the handler stopped reading or the server is stopping; too_large past
    // max_message_bytes; timeout; invalid_argument for a protocol violation; internal when opened()
    // or received() threw. The connection is torn down when the task ends, so a close frame must be
    // written by then and no write may be pending; the WebSocket and the handler go with it.
    virtual Task<> ended(Error why) = 0;
};

// Makes the handler (never null), on the connection's thread, once the handshake succeeded. Whatever
// the handler references must outlive it (it may live until server shutdown). The callable itself
// is destroyed right after: the handler must not use anything the callable captured (copy it in).
using WebSocketSession = std::function<std::unique_ptr<WebSocketHandler>()>;

// What a Response carries when the handler takes the connection over.
struct WebSocketUpgrade {
    WebSocketSession session;
    WebSocketOptions options;
};

// A GET with `Connection: upgrade` and `Upgrade: websocket` (RFC 6455 §4.2.1; the handshake checks the
// rest: version, key).
bool is_websocket_upgrade(Request const& request);

// A 101 response that hands the connection to `session` once the handshake succeeds.
Response accept_websocket(WebSocketSession session, WebSocketOptions options = {});

}  // namespace onda::http
