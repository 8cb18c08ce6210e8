#include "http/detail/response_writer.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/status.hpp>
#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "http/detail/nonblocking.hpp"
#include "http/percent.hpp"

namespace onda::http::detail {
namespace {

namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

// How much one response may send in a row before the thread's other connections get a turn.
constexpr std::uint64_t fair_share_bytes = 2 * 1024 * 1024;

std::string_view reason_phrase(unsigned status) {
    switch (status) {
    case 460: return "Checksum Mismatch";
    case 499: return "Client Closed Request";
    default: break;
    }
    auto text = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
    return text.empty() || text == "<unknown-status>" ? std::string_view("Unknown") : std::string_view(text);
}

// The Date header, formatted once per second per thread.
std::string const& date_header() {
    thread_local std::time_t cached_second = 0;
    thread_local std::string cached;
    std::time_t now = std::time(nullptr);
    if (now != cached_second) {
        cached_second = now;
        cached = format_http_date(std::chrono::system_clock::from_time_t(now));
    }
    return cached;
}

bool status_has_body(unsigned status) { return status >= 200 && status != 204 && status != 304; }

std::string head_text(Response const& response, bool keep_alive, bool http10, bool chunked) {
    std::string out;
    out.reserve(512);
    unsigned const status = response.status();
    out += "HTTP/1.1 ";
    append_number(out, status);
    out += ' ';
    out += reason_phrase(status);
    out += "\r\nServer: onda\r\nDate: ";
    out += date_header();
    out += "\r\n";
    for (auto const& [name, value] : response.headers()) {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    }
    if (chunked) {
        out += "Transfer-Encoding: chunked\r\n";
    } else if (status_has_body(status) || status == 304) {
        if (auto length = response.content_length(); length && status != 304) {
            out += "Content-Length: ";
            append_number(out, *length);
            out += "\r\n";
        }
    }
    if (!keep_alive)
        out += "Connection: close\r\n";
    else if (http10)
        out += "Connection: keep-alive\r\n";
    out += "\r\n";
    return out;
}

// Writes `buffers` whole; false on any failure (the connection is then closed).
template <class Buffers>
Task<bool> send(Output out, Buffers const& buffers) {
    out.entry.expires_after(out.worker.options.send_timeout);
    auto [ec, n] = co_await net::async_write(out.socket, buffers, use_result);
    out.worker.metrics.bytes_sent->add(n);
    co_return !ec;
}

// Waits until the socket can take more, for at most send_timeout (past it the client stopped
// reading, and the sweep cancels the wait).
Task<bool> wait_writable(Output out) {
    out.entry.expires_after(out.worker.options.send_timeout);
    auto [ec] = co_await out.socket.async_wait(net::socket_base::wait_write, use_result);
    co_return !ec;
}

// Sends what the socket takes now, without waiting: how much that was, or nullopt when the peer
// is gone. `text` goes on its own, without MSG_MORE: corked into the sendfile that follows, each
// 64 KiB range cost more on loopback (see docs/benchmarks.md).
std::optional<std::size_t> send_now(Output const& out, std::string_view text) {
    return detail::send_now(out.socket.native_handle(), text,
                            [&out](std::size_t n) { out.worker.metrics.bytes_sent->add(n); });
}

// sendfile(2) while the socket takes it, up to `length` bytes from `offset`: how many went, or
// nullopt when the peer is gone or the file is shorter than promised (truncated underneath us).
std::optional<std::uint64_t> sendfile_now(Output const& out, int fd, std::uint64_t offset, std::uint64_t length) {
    off_t position = static_cast<off_t>(offset);
    return write_while_taken(length, [&](std::uint64_t done) {
        std::size_t const step = static_cast<std::size_t>(std::min<std::uint64_t>(length - done, fair_share_bytes));
        ssize_t const n = ::sendfile(out.socket.native_handle(), fd, &position, step);
        if (n > 0) out.worker.metrics.bytes_sent->add(static_cast<std::uint64_t>(n));
        return WriteStep{n, step};
    });
}

Task<bool> send_head(Output out, std::string_view text) {
    for (;;) {
        auto sent = send_now(out, text);
        if (!sent) co_return false;
        text.remove_prefix(*sent);
        if (text.empty()) co_return true;
        if (!co_await wait_writable(out)) co_return false;
    }
}

Task<bool> send_file_range(Output out, int fd, std::uint64_t offset, std::uint64_t length) {
    std::uint64_t done = 0;
    std::uint64_t since_yield = 0;
    while (done < length) {
        if (since_yield >= fair_share_bytes) {
            // A fast reader could keep this loop going for the whole file while the thread's
            // other connections wait: let them run.
            since_yield = 0;
            co_await net::post(out.socket.get_executor(), net::use_awaitable);
        }
        auto sent = sendfile_now(out, fd, offset + done, std::min(length - done, fair_share_bytes - since_yield));
        if (!sent) co_return false;
        done += *sent;
        since_yield += *sent;
        if (*sent == 0 || (done < length && since_yield < fair_share_bytes)) {
            // The socket is full.
            since_yield = 0;
            if (!co_await wait_writable(out)) co_return false;
        }
    }
    co_return true;
}

Task<bool> write_stream(Output out, BodyStream& stream, bool chunked) {
    for (;;) {
        auto chunk = co_await stream.next();
        if (!chunk) co_return false;  // truncated on purpose: the client must not take it as complete
        if (!*chunk) break;
        if ((*chunk)->empty()) continue;  // an empty chunk would end the body
        if (!chunked) {
            if (!co_await send(out, net::buffer(**chunk))) co_return false;
            continue;
        }
        std::string size_line = fmt::format("{:x}\r\n", (*chunk)->size());
        std::array<net::const_buffer, 3> buffers{net::buffer(size_line), net::buffer(**chunk), net::buffer("\r\n", 2)};
        if (!co_await send(out, buffers)) co_return false;
    }
    if (chunked) co_return co_await send(out, net::buffer("0\r\n\r\n", 5));
    co_return true;
}

// A stream that stated its length: exactly that many bytes, or the connection ends (a short body
// must not pass for a whole one; a longer one would be read as the next response).
Task<bool> write_sized_stream(Output out, BodyStream& stream, std::uint64_t length) {
    std::uint64_t sent = 0;
    for (;;) {
        auto chunk = co_await stream.next();
        if (!chunk) co_return false;
        if (!*chunk) co_return sent == length;
        std::string_view bytes = **chunk;
        if (bytes.size() > length - sent) {
            log::error("a body stream ran past the {} bytes it announced", length);
            co_return false;
        }
        if (!co_await send(out, net::buffer(bytes))) co_return false;
        sent += bytes.size();
    }
}

// Literal pieces are gathered with the head; file pieces go out with sendfile(2) straight from
// the page cache.
Task<bool> write_file(Output out, std::string& head, FileBody const& file) {
    std::string pending = std::move(head);
    for (auto const& piece : file.pieces) {
        if (piece.fd < 0) {
            pending += piece.text;
            continue;
        }
        // Each step is tried at once, without a coroutine of its own; only what the socket did
        // not take goes through one that waits (most 64 KiB ranges go out whole at once).
        if (!pending.empty()) {
            auto sent = send_now(out, pending);
            if (!sent) co_return false;
            if (*sent < pending.size()) {
                Task<bool> rest = send_head(out, std::string_view(pending).substr(*sent));
                if (!co_await std::move(rest)) co_return false;
            }
            pending.clear();
        }
        auto sent = sendfile_now(out, piece.fd, piece.offset, std::min(piece.length, fair_share_bytes));
        if (!sent) co_return false;
        if (*sent < piece.length) {
            Task<bool> rest = send_file_range(out, piece.fd, piece.offset + *sent, piece.length - *sent);
            if (!co_await std::move(rest)) co_return false;
        }
    }
    if (!pending.empty()) co_return co_await send(out, net::buffer(pending));
    co_return true;
}

}  // namespace

Task<bool> write_response(Output out, Response& response, bool head_only, bool& keep_alive, bool http10) {
    bool const has_body = status_has_body(response.status()) && !head_only;
    if (auto* stream = std::get_if<std::unique_ptr<BodyStream>>(&response.body())) {
        auto const length = (*stream)->length();
        // HTTP/1.0 has no chunked coding: a body of unknown length ends where the connection does.
        if (http10 && !length) keep_alive = false;
        bool const chunked = !http10 && !length && status_has_body(response.status());
        std::string head = head_text(response, keep_alive, http10, chunked);
        if (!co_await send(out, net::buffer(head))) co_return false;
        if (!has_body) co_return true;
        if (length) co_return co_await write_sized_stream(out, **stream, *length);
        co_return co_await write_stream(out, **stream, !http10);
    }
    std::string head = head_text(response, keep_alive, http10, false);
    if (!has_body) co_return co_await send(out, net::buffer(head));
    if (auto* text = std::get_if<std::string>(&response.body())) {
        std::array<net::const_buffer, 2> buffers{net::buffer(head), net::buffer(*text)};
        co_return co_await send(out, buffers);  // one gathered write: head and body together
    }
    if (auto* file = std::get_if<FileBody>(&response.body())) co_return co_await write_file(out, head, *file);
    co_return co_await send(out, net::buffer(head));
}

Task<> write_error(Output out, Error error) {
    auto response = error_response(error);
    bool keep_alive = false;
    co_await write_response(out, response, false, keep_alive, false);
}

}  // namespace onda::http::detail
