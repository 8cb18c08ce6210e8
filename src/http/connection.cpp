// One HTTP/1.1 connection (RFC 9112): read a request head, hand the exchange to the Service, write
// the response, repeat while keep-alive holds. One response is in flight at a time; pipelined
// requests wait in the read buffer until the previous response is written.
//
// Timeouts: an idle keep-alive connection may wait idle_timeout for its next request; once the
// first byte of a request arrives its whole head must follow within header_timeout (a slowloris
// client is cut off without affecting anyone else); each body read may stall for body_timeout;
// each write for send_timeout. Each is a deadline on the connection's entry that the thread's sweep
// enforces (detail/worker.hpp), not a timer per operation. Responses are written by
// detail/response_writer.
#include <array>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>

#include "core/log.hpp"
#include "http/detail/request_body.hpp"
#include "http/detail/request_head.hpp"
#include "http/detail/response_writer.hpp"
#include "http/detail/websocket_connection.hpp"
#include "http/detail/worker.hpp"

namespace onda::http {
namespace {

namespace beast = boost::beast;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

using detail::HeadStatus;
using detail::ParserBody;

// Bodies a handler left unread are drained up to this much so the connection can be reused;
// past it the connection is closed instead.
constexpr std::size_t max_drain_bytes = 256 * 1024;

// The read buffer an idle keep-alive connection keeps; most request heads fit in it.
constexpr std::size_t idle_buffer_bytes = 1024;

// The most one read of a request head asks for.
constexpr std::size_t max_head_read_bytes = 64 * 1024;

// Up to this much, a head still incomplete is parsed again after each read (see parse_buffered).
constexpr std::size_t head_rescan_bytes = 4 * 1024;

// "<thread in hex>-<request number on that thread in hex>", unique for the process's lifetime.
std::string request_id(std::size_t worker, std::uint64_t number) {
    std::string id;
    append_number(id, worker, 16);
    id += '-';
    append_number(id, number, 16);
    return id;
}

class Connection {
public:
    Connection(Server::Worker& worker, Socket socket) : worker_(worker), socket_(std::move(socket)) {
        error_code ec;
        auto endpoint = socket_.remote_endpoint(ec);
        peer_ = ec ? std::string("unknown") : endpoint.address().to_string();
        entry_ = worker_.connections.insert(worker_.connections.end(), ConnectionEntry{.socket = &socket_});
        worker_.metrics.open_connections->add(1);
        worker_.start_sweeping();
    }
    ~Connection() {
        worker_.connections.erase(entry_);
        worker_.metrics.open_connections->add(-1);
        worker_.connection_ended();
    }

    // It takes requests while the server is not stopping.
    bool open() const { return !worker_.stopping; }
    // The last exchange accepted a WebSocket upgrade: run_websocket() is next.
    bool upgraded() const { return upgrade_ != nullptr; }

    void close() {
        error_code ignored;
        socket_.shutdown(net::socket_base::shutdown_send, ignored);
        socket_.close(ignored);
    }

    // Waits (idle) until the next request's first bytes are in the buffer. An idle connection keeps
    // a read buffer of at most idle_buffer_bytes: a request that grew it gives the memory back. (A
    // readiness wait instead of a read would hold no buffer, but Asio re-arms epoll for each one:
    // a system call per request.)
    Task<bool> wait_for_request() {
        if (buffer_.size() > 0) co_return true;  // a pipelined request is already here
        if (buffer_.capacity() > idle_buffer_bytes) buffer_.shrink_to_fit();
        entry_->idle = true;
        entry_->expires_after(worker_.options.idle_timeout);
        auto [ec, n] = co_await socket_.async_read_some(buffer_.prepare(idle_buffer_bytes), use_result);
        entry_->idle = false;
        if (ec) co_return false;  // idle timeout, peer closed, or shutdown cancelled the wait
        buffer_.commit(n);
        co_return !worker_.stopping;
    }

    // Reads one request, lets the service answer it, writes the answer. False: close the connection.
    Task<bool> exchange() {
        entry_->expires_after(worker_.options.header_timeout);
        detail::RequestHead head;
        std::string failure;
        HeadStatus status = parse_buffered(head, failure);
        if (status == HeadStatus::need_more) {  // usually the whole head came with the first read
            Task<std::optional<HeadStatus>> reading = read_head(head, failure);
            auto read = co_await std::move(reading);
            if (!read) co_return false;  // slow (the sweep cancelled the read), gone, or shutting down
            status = *read;
        }
        if (status != HeadStatus::complete) {
            Response refusal = error_response(status == HeadStatus::too_large
                                                  ? Error(Errc::headers_too_large, "request headers are too large")
                                                  : Error(Errc::invalid_argument, "malformed request: " + failure));
            if (status == HeadStatus::version_unsupported) refusal.set_status(505);
            if (status == HeadStatus::coding_unsupported) refusal.set_status(501);
            bool keep_alive = false;
            co_await write_response(refusal, false, keep_alive, false);
            co_return false;
        }

        bool const http10 = head.http10;
        ParserBody body(socket_, *entry_, buffer_, head, worker_.options.body_timeout);
        std::string_view const bytes(static_cast<char const*>(buffer_.data().data()), head.size);
        Request request(bytes, head.method, head.target, head.fields, peer_,
                        request_id(worker_.index, ++worker_.request_counter), &body, worker_.index);
        buffer_.consume(head.size);  // the request has its own copy; `head`'s views are stale from here
        auto const expect = request.header("Expect");
        bool const expects_continue = !http10 && iequals(expect, "100-continue");
        if (!expect.empty() && !expects_continue) {
            co_await write_error(Error(Errc::precondition_failed, "unsupported Expect header"));
            co_return false;
        }
        if (expects_continue) body.expect_continue();

        Response response;
        try {
            Task<Response> answering = worker_.service.handle(request);
            response = co_await std::move(answering);
        } catch (std::exception const& e) {
            log::error("req={} {} {} failed: {}", request.id(), request.method(), request.path(), e.what());
            response = error_response(Error(Errc::internal, "internal error"));
        }
        response.set_header("X-Request-Id", request.id());
        if (auto* upgrade = std::get_if<std::shared_ptr<WebSocketUpgrade>>(&response.body())) {
            // From here on the connection belongs to the WebSocket (run_websocket()); it ends with the
            // session. An upgrade request has no body, and the client sends nothing before the 101:
            // bytes already buffered would be lost to the WebSocket, so such a request is refused.
            if (!body.is_done() || buffer_.size() > 0) {
                co_await write_error(Error(Errc::invalid_argument, "data before the WebSocket handshake completed"));
                co_return false;
            }
            if (worker_.stopping) {
                co_await write_error(Error(Errc::unavailable, "the server is shutting down"));
                co_return false;
            }
            auto const version = request.header("Sec-WebSocket-Version");
            auto accept_key = http10 ? Result<std::string>(Error(Errc::invalid_argument, "a WebSocket needs HTTP/1.1"))
                                     : detail::check_handshake(version, request.header("Sec-WebSocket-Key"));
            if (!accept_key) {
                auto refusal = error_response(accept_key.error());
                if (!http10 && version != "13") {  // RFC 6455 §4.4: name the versions this server speaks
                    refusal.set_status(426);
                    refusal.add_header("Sec-WebSocket-Version", "13");
                }
                bool keep_alive = false;
                co_await write_response(refusal, false, keep_alive, http10);
                co_return false;
            }
            auto session = *upgrade;
            upgrade_ = std::make_unique<detail::PendingUpgrade>(
                detail::PendingUpgrade{std::move(*accept_key), std::move(response), std::move(session)});
            co_return false;
        }

        // The unread rest of the body stands between us and the next request: drain a little,
        // else close. A client still waiting for 100-continue never sends it, so close then too.
        bool keep_alive = head.keep_alive && !response.wants_close() && !worker_.stopping && !body.failed();
        if (keep_alive && !body.is_done()) {
            if (expects_continue && !body.continue_sent())
                keep_alive = false;
            else
                keep_alive = co_await drain(body);
        }
        co_return co_await write_response(response, request.is_head(), keep_alive, http10) && keep_alive;
    }

    // Not a coroutine: the WebSocket's task is awaited by serve_connection() itself, one frame fewer
    // per connection for as long as it lives.
    Task<> run_websocket() {
        buffer_ = beast::flat_buffer();  // empty (checked above): the WebSocket reads with its own
        entry_->expires_never();         // the WebSocket keeps its own handshake and idle timeouts
        entry_->upgraded = true;         // shutdown cancels its wait for bytes, which ends the handler
        return detail::serve_websocket(socket_, *entry_, std::move(upgrade_), peer_);
    }

private:
    // Parses the head from what is buffered. Heads are parsed whole, again after each read: while
    // the buffer is small that is cheap and refuses garbage at once; past head_rescan_bytes only once
    // an empty line (or the limit) says the head may be whole, so a client dripping a large head
    // byte by byte costs a search per read, not a parse.
    HeadStatus parse_buffered(detail::RequestHead& head, std::string& failure) {
        std::string_view const bytes(static_cast<char const*>(buffer_.data().data()), buffer_.size());
        if (bytes.empty()) return HeadStatus::need_more;
        if (bytes.size() > head_rescan_bytes && bytes.size() < worker_.options.max_header_bytes &&
            bytes.find("\r\n\r\n", head_searched_ > 3 ? head_searched_ - 3 : 0) == std::string_view::npos) {
            head_searched_ = bytes.size();
            return HeadStatus::need_more;
        }
        auto const status = detail::parse_request_head(bytes, worker_.options.max_header_bytes, head, failure);
        head_searched_ = status == HeadStatus::need_more ? bytes.size() : 0;
        return status;
    }

    // Reads until parse_buffered() has the whole head (or refuses it); nullopt when the socket failed
    // (operation_aborted when the header deadline passed).
    Task<std::optional<HeadStatus>> read_head(detail::RequestHead& head, std::string& failure) {
        for (;;) {
            std::size_t const room =
                std::clamp(buffer_.capacity() - buffer_.size(), idle_buffer_bytes, max_head_read_bytes);
            auto [ec, n] = co_await socket_.async_read_some(buffer_.prepare(room), use_result);
            if (ec) co_return std::nullopt;
            buffer_.commit(n);
            if (auto status = parse_buffered(head, failure); status != HeadStatus::need_more) co_return status;
        }
    }

    Task<bool> drain(ParserBody& body) {
        std::array<char, 16 * 1024> scratch;
        std::size_t drained = 0;
        while (!body.is_done()) {
            auto n = co_await body.read_some(scratch);
            if (!n || *n == 0) co_return body.is_done();
            drained += *n;
            if (drained > max_drain_bytes) co_return false;
        }
        co_return true;
    }

    detail::Output output() { return detail::Output{worker_, socket_, *entry_}; }
    // Not coroutines: the writer's task is awaited by the caller itself.
    Task<bool> write_response(Response& response, bool head_only, bool& keep_alive, bool http10) {
        return detail::write_response(output(), response, head_only, keep_alive, http10);
    }
    Task<> write_error(Error error) { return detail::write_error(output(), std::move(error)); }

    Server::Worker& worker_;
    Socket socket_;
    beast::flat_buffer buffer_;
    std::size_t head_searched_ = 0;  // how much of buffer_ has no empty line ending a head
    std::string peer_;
    std::list<ConnectionEntry>::iterator entry_;
    // An upgrade the last exchange accepted, until run_websocket() starts it.
    std::unique_ptr<detail::PendingUpgrade> upgrade_;
};

}  // namespace

Task<> serve_connection(Server::Worker& worker, Socket socket) {
    error_code ec;
    socket.native_non_blocking(true, ec);  // the writer's sendfile(2) and send(2) must not block the thread
    Connection connection(worker, std::move(socket));
    // The loop is in this frame, not in a coroutine of the connection's: one frame fewer for as
    // long as the connection lives.
    while (connection.open()) {
        Task<bool> waiting = connection.wait_for_request();
        if (!co_await std::move(waiting)) break;
        Task<bool> exchanging = connection.exchange();
        if (!co_await std::move(exchanging)) break;
    }
    // After exchange() has returned, so the request and its frame are gone while the WebSocket
    // lives (for hours, 10,000 at a time: every KiB counts).
    if (connection.upgraded()) {
        Task<> websocket = connection.run_websocket();
        co_await std::move(websocket);
    }
    connection.close();
}

}  // namespace onda::http
