#include "http/websocket.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include <boost/asio/write.hpp>

#include "core/log.hpp"
#include "http/detail/websocket_connection.hpp"
#include "http/detail/nonblocking.hpp"
#include "http/detail/websocket_frame.hpp"

namespace onda::http {
namespace {

using detail::Incoming;
using detail::Opcode;
using error_code = boost::system::error_code;
using tcp = net::ip::tcp;

// One receive takes at most this much (into a buffer of the thread's, then into the reader).
constexpr std::size_t receive_bytes = 64 * 1024;

// Pongs and close replies queued while a write is in flight, at most: past it a ping flood's pongs
// are dropped (RFC 6455 §5.5.3 lets a server answer only the latest ping).
constexpr std::size_t max_queued_control_bytes = 4 * 1024;

// At shutdown, how long the peer has to answer our close (else handshake_timeout): a client that
// never answers must not hold the server's drain up.
constexpr std::chrono::milliseconds close_wait_at_shutdown{1000};

// Writes the head of each message's frame into `heads` (max_server_head_bytes apiece) and calls
// part(bytes, size) for each head and payload in turn: what a gathered write sends.
template <class Part>
void frame_messages(std::span<OutgoingMessage const> messages, unsigned char* heads, Part part) {
    for (auto const& message : messages) {
        auto const used =
            detail::write_frame_header(message.binary ? Opcode::binary : Opcode::text, message.data.size(), heads);
        part(static_cast<void const*>(heads), used);
        part(static_cast<void const*>(message.data.data()), message.data.size());
        heads += detail::max_server_head_bytes;
    }
}

// RFC 6455 on a socket the connection hands over after the upgrade. Reading (serve_websocket's
// loop) holds no buffer while it waits: it waits for readability and then receives into a buffer of
// the thread's, and the reader keeps only the bytes of a frame not yet whole; writes gather frame
// heads and payloads into one system call. Timeouts are deadlines on the connection's entry (the
// thread's sweep enforces them): handshake_timeout for the 101 and for the peer's answer to our
// close (close_wait(): at most a second at shutdown); idle_timeout since the peer's last bytes; and
// idle_timeout for each write (a peer that sends but never reads). Pongs and close replies the
// reader owes go out at once when the socket takes them, else queued, in order, ahead of the next
// write (and flushed before the connection closes).
class Rfc6455WebSocket final : public WebSocket {
public:
    // `peer` (the connection's) outlives the WebSocket.
    Rfc6455WebSocket(Socket& socket, ConnectionEntry& entry, WebSocketOptions const& options, std::string const& peer)
        : socket_(socket),
          entry_(entry),
          handshake_timeout_(options.handshake_timeout),
          idle_timeout_(options.idle_timeout),
          reader_(options.max_message_bytes),
          peer_(peer) {}

    // Sends the 101; the response's headers (request id, CORS, …) go on it.
    Task<Result<void>> accept(std::string const& accept_key, Response const& response) {
        std::string head =
            "HTTP/1.1 101 Switching Protocols\r\nServer: onda\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: " +
            accept_key + "\r\n";
        for (auto const& [name, value] : response.headers()) head += name + ": " + value + "\r\n";
        head += "\r\n";
        entry_.expires_after(handshake_timeout_);
        auto [ec, n] = co_await net::async_write(socket_, net::buffer(head), use_result);
        if (ec) co_return Error(Errc::cancelled, "WebSocket handshake failed: " + failure_text(ec));
        co_return ok();
    }

    // What the bytes received so far make, with pings and closes answered on the way: a message,
    // why reading must stop, or nullopt when more bytes are needed (wait for readability, then
    // receive()).
    std::optional<Result<WebSocketMessage>> next_message() {
        for (;;) {
            Incoming in = reader_.next();
            switch (in.kind) {
            case Incoming::Kind::message: return WebSocketMessage{.data = std::move(in.data), .binary = in.binary};
            case Incoming::Kind::ping:
                if (!close_sent_) send_control(Opcode::pong, in.data);
                continue;
            case Incoming::Kind::pong: continue;
            case Incoming::Kind::close:
                if (!close_sent_) {  // RFC 6455 §5.5.1: answer with a close, echoing the code
                    close_sent_ = true;
                    std::uint16_t const code =
                        in.code == detail::close_code::none_received ? detail::close_code::normal : in.code;
                    send_control(Opcode::close, detail::encode_close_payload(code, {}));
                }
                return Error(Errc::cancelled, "WebSocket closed by the peer");
            case Incoming::Kind::violation:
                if (!close_sent_) {
                    close_sent_ = true;
                    send_control(Opcode::close, detail::encode_close_payload(in.code, in.data));
                }
                return Error(in.code == detail::close_code::too_big ? Errc::too_large : Errc::invalid_argument,
                             "WebSocket protocol error: " + in.data);
            case Incoming::Kind::none: return std::nullopt;
            }
        }
    }

    // Before each wait for readability: idle_timeout counts from now (after our close, its
    // deadline holds).
    void arm_idle_deadline() {
        if (!close_sent_) entry_.expires_after(idle_timeout_);
    }

    // After the wait for readability ended with `ec`: what the socket holds goes to the reader.
    // Why reading must stop, or nullopt. (An optional rather than a Result, so the caller assigns it
    // to what it keeps already: its frame, as long-lived as the connection, has no room for one more.)
    std::optional<Error> receive(error_code ec) {
        if (ec && ec == net::error::operation_aborted && entry_.timed_out)
            return Error(Errc::timeout, "WebSocket idle for too long");
        if (ec) return Error(Errc::cancelled, "WebSocket closed: " + ec.message());
        if (auto received = receive_now(); !received) return received.error();
        return std::nullopt;
    }

    Task<Result<void>> write(std::string_view data, bool binary) override {
        std::array<OutgoingMessage, 1> const one{OutgoingMessage{.data = data, .binary = binary}};
        Task<Result<void>> writing = write_all(one);
        co_return co_await std::move(writing);
    }

    Task<Result<void>> write_all(std::span<OutgoingMessage const> messages) override {
        if (messages.empty()) {  // what is owed goes out even while closing (a close reply)
            Task<Result<void>> flushing = flush_owed();
            co_return co_await std::move(flushing);
        }
        if (close_sent_) co_return Error(Errc::cancelled, "WebSocket closing");
        std::vector<unsigned char> heads(messages.size() * detail::max_server_head_bytes);
        std::vector<net::const_buffer> buffers;
        buffers.reserve(messages.size() * 2);
        frame_messages(messages, heads.data(),
                       [&buffers](void const* bytes, std::size_t size) { buffers.emplace_back(bytes, size); });
        Task<Result<void>> sending = send(std::move(buffers));
        co_return co_await std::move(sending);
    }

    Immediate write_now(std::span<OutgoingMessage const> messages) override {
        constexpr std::size_t max_messages = max_write_now_messages;
        if (writing_ || close_sent_ || !owed_.empty() || messages.size() > max_messages || !socket_.is_open())
            return Immediate::not_taken;
        std::array<unsigned char, max_messages * detail::max_server_head_bytes> heads;
        std::array<iovec, 2 * max_messages> parts;
        std::size_t total = 0;
        std::size_t count = 0;
        frame_messages(messages, heads.data(), [&](void const* bytes, std::size_t size) {
            parts[count++] = iovec{const_cast<void*>(bytes), size};
            total += size;
        });
        msghdr out{};
        out.msg_iov = parts.data();
        out.msg_iovlen = count;
        ssize_t sent = -1;
        do {
            sent = ::sendmsg(socket_.native_handle(), &out, MSG_NOSIGNAL | MSG_DONTWAIT);
        } while (sent < 0 && errno == EINTR);
        // Full (nothing went: the frames stay with the caller, uncopied) or failed (write_all()
        // reports it).
        if (sent <= 0) return Immediate::not_taken;
        std::size_t skip = static_cast<std::size_t>(sent);
        if (skip == total) return Immediate::sent;
        for (std::size_t i = 0; i < count; ++i) {
            std::size_t const length = parts[i].iov_len;
            if (skip >= length) {
                skip -= length;
                continue;
            }
            owed_.append(static_cast<char const*>(parts[i].iov_base) + skip, length - skip);
            skip = 0;
        }
        return Immediate::owed;
    }

    Task<Result<void>> close(std::uint16_t code, std::string_view reason) override {
        if (close_sent_) {  // the reader answered the peer's close, or refused a frame: flush that
            Task<Result<void>> flushing = flush_owed();
            co_return co_await std::move(flushing);
        }
        close_sent_ = true;
        std::string const payload = detail::encode_close_payload(code, reason);
        std::array<unsigned char, detail::max_server_head_bytes> head{};
        auto const used = detail::write_frame_header(Opcode::close, payload.size(), head.data());
        std::vector<net::const_buffer> buffers{net::buffer(head.data(), used), net::buffer(payload)};
        Task<Result<void>> sending = send(std::move(buffers));
        auto sent = co_await std::move(sending);
        // The peer has close_wait() to answer; reading ends with its answer or then.
        entry_.deadline = std::min(entry_.deadline, ConnectionEntry::Clock::now() + close_wait());
        co_return sent;
    }

    // RFC 6455 §7.1.1: the server closes the TCP connection first. What the peer still sends is
    // read and dropped until it closes too (or close_wait() passes): closing a socket with
    // unread bytes makes the kernel send a reset, which can destroy our close frame before the peer
    // has read it.
    Task<> teardown() {
        if (!socket_.is_open()) co_return;  // aborted
        Task<Result<void>> flushing = flush_owed();
        co_await std::move(flushing);
        error_code ignored;
        socket_.shutdown(net::socket_base::shutdown_send, ignored);
        entry_.expires_after(close_wait());
        for (;;) {
            auto [ec] = co_await socket_.async_wait(net::socket_base::wait_read, use_result);
            if (ec) co_return;
            ssize_t const n = ::recv(socket_.native_handle(), receive_space().data(), receive_bytes, 0);
            if (n == 0) co_return;
            if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) co_return;
        }
    }

    void abort() override {
        error_code ignored;
        socket_.close(ignored);
    }

    std::string const& remote_address() const override { return peer_; }

    net::any_io_executor executor() const override { return socket_.get_executor(); }

private:
    // How long the peer has to answer our close: handshake_timeout, shorter at shutdown.
    std::chrono::milliseconds close_wait() const {
        return entry_.stopping ? std::min(handshake_timeout_, close_wait_at_shutdown) : handshake_timeout_;
    }

    std::string failure_text(error_code const& ec) const { return entry_.timed_out ? "timed out" : ec.message(); }

    // Where the thread's WebSockets receive, before the reader copies what makes a frame.
    static std::span<char, receive_bytes> receive_space() {
        thread_local std::array<char, receive_bytes> space;
        return space;
    }

    // Once the socket is readable: hands what it holds to the reader (nothing after a spurious
    // wake-up, and the connection waits again).
    Result<void> receive_now() {
        auto const scratch = receive_space();
        for (;;) {
            ssize_t const n = ::recv(socket_.native_handle(), scratch.data(), scratch.size(), 0);
            if (n > 0) {
                reader_.feed(std::string_view(scratch.data(), static_cast<std::size_t>(n)));
                if (!close_sent_) entry_.expires_after(idle_timeout_);  // idle counts from the last bytes
                return ok();
            }
            if (n == 0) return Error(Errc::cancelled, "WebSocket closed: the peer went away");
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return ok();
            return Error(Errc::cancelled, std::string("WebSocket closed: ") + std::strerror(errno));
        }
    }

    // Writes `buffers` whole, after the bytes owed (write_now()'s rest, control frames the reader
    // left queued), then whatever the reader queued meanwhile. One write at a time: the caller's
    // (reading never waits to write).
    Task<Result<void>> send(std::vector<net::const_buffer> buffers) {
        writing_ = true;
        entry_.write_deadline = ConnectionEntry::Clock::now() + idle_timeout_;
        std::string queued = take_owed();
        if (!queued.empty()) buffers.insert(buffers.begin(), net::buffer(queued));
        auto [ec, n] = co_await net::async_write(socket_, buffers, use_result);
        while (!ec && !owed_.empty()) {
            queued = take_owed();
            auto [control_ec, control_n] = co_await net::async_write(socket_, net::buffer(queued), use_result);
            ec = control_ec;
        }
        writing_ = false;
        entry_.write_deadline = ConnectionEntry::Clock::time_point::max();
        if (!ec) co_return ok();
        if (ec == net::error::operation_aborted && entry_.timed_out)
            co_return Error(Errc::timeout, "WebSocket idle for too long");
        co_return Error(Errc::cancelled, "WebSocket closed: " + ec.message());
    }

    // The owed bytes, which the caller now writes; none are owed after.
    std::string take_owed() {
        owed_control_bytes_ = 0;
        return std::exchange(owed_, std::string());
    }

    // Writes out the owed bytes, unless a write is under way (which does it).
    Task<Result<void>> flush_owed() {
        if (writing_ || owed_.empty()) co_return ok();
        std::vector<net::const_buffer> nothing_else;
        Task<Result<void>> sending = send(std::move(nothing_else));
        co_return co_await std::move(sending);
    }

    // Sends a pong or close from the reader, without waiting: at once when the socket takes it, else
    // queued for the next write (behind one in flight, and after a frame only partly sent). A ping
    // flood cannot grow the queue past max_queued_control_bytes of control frames: its pongs are
    // dropped there (RFC 6455 §5.5.3 asks a pong only for the latest ping); a close is always queued.
    void send_control(Opcode opcode, std::string_view payload) {
        std::array<unsigned char, detail::max_server_head_bytes> head{};
        auto const used = detail::write_frame_header(opcode, payload.size(), head.data());
        std::string frame(reinterpret_cast<char const*>(head.data()), used);
        frame += payload;
        if (writing_ || !owed_.empty()) {
            if (opcode == Opcode::close || owed_control_bytes_ + frame.size() <= max_queued_control_bytes) {
                owed_ += frame;
                owed_control_bytes_ += frame.size();
            }
            return;
        }
        auto const sent = detail::send_now(socket_.native_handle(), frame, [](std::size_t) {});
        if (!sent) return;           // the peer is gone: the next read or write finds out
        if (*sent < frame.size()) {  // the socket is full: the rest waits
            owed_.assign(frame, *sent);
            owed_control_bytes_ = frame.size() - *sent;
        }
    }

    Socket& socket_;
    ConnectionEntry& entry_;
    std::chrono::milliseconds handshake_timeout_;
    std::chrono::milliseconds idle_timeout_;
    detail::MessageReader reader_;
    // Bytes the peer is owed before anything else, in order: the rest of what write_now() could not
    // finish, and the pongs and close replies of the reader that could not go out at once.
    std::string owed_;
    std::size_t owed_control_bytes_ = 0;  // of owed_, control frames (what max_queued_control_bytes bounds)
    std::string const& peer_;
    bool writing_ = false;
    bool close_sent_ = false;
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

namespace {

// Sends the 101 and makes the handler; null when the handshake failed. Its own coroutine, so that
// the WebSocket's frame, which lives as long as the connection, keeps no room for this.
Task<std::unique_ptr<WebSocketHandler>> open_websocket(Rfc6455WebSocket& ws, std::unique_ptr<PendingUpgrade> upgrade,
                                                       std::string const& peer) {
    Task<Result<void>> accepting = ws.accept(upgrade->accept_key, upgrade->response);
    if (auto accepted = co_await std::move(accepting); !accepted) {
        log::debug("peer={} {}", peer, accepted.error().message());
        co_return nullptr;
    }
    auto handler = upgrade->session->session();
    ONDA_ASSERT(handler != nullptr, "a WebSocketSession makes a handler");
    co_return handler;
}

}  // namespace

Task<> serve_websocket(Socket& socket, ConnectionEntry& entry, std::unique_ptr<PendingUpgrade> upgrade,
                       std::string const& peer) {
    Rfc6455WebSocket ws(socket, entry, upgrade->session->options, peer);
    // The WebSocket may last hours: the request, and the closure that made the handler, go now.
    Task<std::unique_ptr<WebSocketHandler>> opening = open_websocket(ws, std::move(upgrade), peer);
    std::unique_ptr<WebSocketHandler> handler = co_await std::move(opening);
    if (!handler) co_return;
    // The reading is done here, in this frame: an idle WebSocket waits in it alone. `why` holds no
    // text until reading stops (a message on the heap of each idle WebSocket would cost 48 bytes).
    std::optional<Error> why;
    try {
        Task<bool> starting = handler->opened(ws);
        bool reading = co_await std::move(starting);
        while (reading) {
            auto next = ws.next_message();
            if (!next) {
                if (entry.stopping) {  // shutdown came while the handler ran: no new wait
                    why = Error(Errc::cancelled, "the server is stopping");
                    break;
                }
                ws.arm_idle_deadline();
                auto [ec] = co_await socket.async_wait(net::socket_base::wait_read, use_result);
                why = ws.receive(ec);
                if (why) break;
                continue;
            }
            if (!*next) {
                why = next->error();
                break;
            }
            Task<bool> handling = handler->received(std::move(**next));
            reading = co_await std::move(handling);
        }
    } catch (std::exception const& e) {
        // ended() must still run: the handler may have left work (a writer) that refers to it.
        log::error("peer={} WebSocket handler failed: {}", peer, e.what());
        why = Error(Errc::internal, "the WebSocket's handler failed");
    }
    if (!why) why = Error(Errc::cancelled, "the handler stopped reading");
    Task<> ending = handler->ended(std::move(*why));
    co_await std::move(ending);
    handler.reset();
    Task<> closing = ws.teardown();
    co_await std::move(closing);
}

}  // namespace detail
}  // namespace onda::http
