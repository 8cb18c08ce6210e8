#include "http/detail/request_body.hpp"

#include <algorithm>
#include <string_view>

#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

namespace onda::http::detail {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using error_code = boost::system::error_code;

constexpr std::size_t body_buffer_bytes = 256 * 1024;  // the connection's buffer while a chunked body is read

Errc read_error_code(error_code const& ec, bool timed_out) {
    if (ec == net::error::operation_aborted && timed_out) return Errc::timeout;
    if (ec == net::error::eof || ec == bhttp::error::end_of_stream || ec == net::error::connection_reset ||
        ec == bhttp::error::partial_message || ec == net::error::operation_aborted || ec == net::error::broken_pipe)
        return Errc::cancelled;
    return Errc::invalid_argument;
}

}  // namespace

ParserBody::ParserBody(Socket& socket, ConnectionEntry& entry, beast::flat_buffer& buffer, RequestHead const& head,
                       std::chrono::milliseconds timeout)
    : socket_(socket),
      entry_(entry),
      buffer_(buffer),
      timeout_(timeout),
      direct_remaining_(head.chunked ? 0 : head.content_length) {
    if (!head.chunked) return;
    chunks_ = std::make_unique<ChunkParser>();
    chunks_->body_limit(boost::none);  // handlers enforce their own limits as they read
    static constexpr std::string_view primer = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    error_code ec;
    chunks_->put(net::buffer(primer.data(), primer.size()), ec);  // the head only: the parser stops after it
}

ParserBody::~ParserBody() = default;

Task<Result<std::size_t>> ParserBody::read_some(std::span<char> out) {
    if (is_done() || out.empty()) co_return std::size_t{0};
    if (failed_) co_return Error(Errc::cancelled, "the request body already failed");
    if (!chunks_ && buffer_.size() > 0) co_return take_buffered(out);
    if (expects_continue_ && !continue_sent_) {
        // RFC 9110 §10.1.1: the client waits for this before it sends the body.
        continue_sent_ = true;
        static constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
        entry_.expires_after(timeout_);
        auto [ec, n] = co_await net::async_write(socket_, net::buffer(interim), use_result);
        if (ec) co_return fail("client went away: ", ec);
    }
    if (!chunks_) {
        // Never past the body: what follows it is the next pipelined request.
        std::size_t const want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), direct_remaining_));
        entry_.expires_after(timeout_);
        auto [ec, n] = co_await socket_.async_read_some(net::buffer(out.data(), want), use_result);
        if (ec) co_return fail("reading the request body: ", ec);
        direct_remaining_ -= n;
        co_return n;
    }
    // Chunked bytes pass through the connection's buffer, which is kept small between requests; read
    // them in large pieces (1 KiB reads cost a system call and a timer reset per KiB).
    if (buffer_.capacity() < body_buffer_bytes) buffer_.reserve(body_buffer_bytes);
    for (;;) {
        auto& body = chunks_->get().body();
        body.data = out.data();
        body.size = out.size();
        entry_.expires_after(timeout_);
        auto [ec, n] = co_await bhttp::async_read_some(socket_, buffer_, *chunks_, use_result);
        std::size_t const got = out.size() - body.size;
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) co_return fail("reading the request body: ", ec);
        if (got > 0 || chunks_->is_done()) co_return got;
    }
}

std::size_t ParserBody::take_buffered(std::span<char> out) {
    std::size_t const n =
        static_cast<std::size_t>(std::min<std::uint64_t>({out.size(), buffer_.size(), direct_remaining_}));
    net::buffer_copy(net::buffer(out.data(), n), buffer_.data());
    buffer_.consume(n);
    direct_remaining_ -= n;
    return n;
}

Error ParserBody::fail(std::string message, error_code const& ec) {
    failed_ = true;
    bool const timed_out = entry_.timed_out;
    return Error(read_error_code(ec, timed_out), message + (timed_out ? "timed out" : ec.message()));
}

}  // namespace onda::http::detail
