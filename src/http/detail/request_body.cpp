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

Errc read_error_code(error_code const& ec) {
    if (ec == beast::error::timeout) return Errc::timeout;
    if (ec == net::error::eof || ec == bhttp::error::end_of_stream || ec == net::error::connection_reset ||
        ec == bhttp::error::partial_message || ec == net::error::operation_aborted)
        return Errc::cancelled;
    return Errc::invalid_argument;
}

}  // namespace

ParserBody::ParserBody(beast::tcp_stream& stream, beast::flat_buffer& buffer, RequestParser& parser,
                       std::chrono::milliseconds timeout, bool expects_continue)
    : stream_(stream), buffer_(buffer), parser_(parser), timeout_(timeout), expects_continue_(expects_continue) {
    if (!parser_.chunked() && !parser_.is_done()) {
        // Neither chunked nor done: RFC 9112 §6.3 leaves only a Content-Length for a request.
        if (auto length = parser_.content_length()) direct_remaining_ = *length;
    }
}

Task<Result<std::size_t>> ParserBody::read_some(std::span<char> out) {
    if (is_done() || out.empty()) co_return std::size_t{0};
    if (failed_) co_return Error(Errc::cancelled, "the request body already failed");
    if (direct_remaining_ && buffer_.size() > 0) co_return take_buffered(out);
    if (expects_continue_ && !continue_sent_) {
        // RFC 9110 §10.1.1: the client waits for this before it sends the body.
        continue_sent_ = true;
        static constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
        stream_.expires_after(timeout_);
        auto [ec, n] = co_await net::async_write(stream_, net::buffer(interim), use_result);
        if (ec) co_return fail("client went away: " + ec.message(), Errc::cancelled);
    }
    if (direct_remaining_) {
        // Never past the body: what follows it is the next pipelined request.
        std::size_t const want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), *direct_remaining_));
        stream_.expires_after(timeout_);
        auto [ec, n] = co_await stream_.async_read_some(net::buffer(out.data(), want), use_result);
        if (ec) co_return fail("reading the request body: " + ec.message(), read_error_code(ec));
        *direct_remaining_ -= n;
        co_return n;
    }
    // Chunked bytes pass through the connection's buffer, which is kept small between requests; read
    // them in large pieces (1 KiB reads cost a system call and a timer reset per KiB).
    if (buffer_.capacity() < body_buffer_bytes) buffer_.reserve(body_buffer_bytes);
    for (;;) {
        auto& body = parser_.get().body();
        body.data = out.data();
        body.size = out.size();
        stream_.expires_after(timeout_);
        auto [ec, n] = co_await bhttp::async_read_some(stream_, buffer_, parser_, use_result);
        std::size_t const got = out.size() - body.size;
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) co_return fail("reading the request body: " + ec.message(), read_error_code(ec));
        if (got > 0 || parser_.is_done()) co_return got;
    }
}

std::size_t ParserBody::take_buffered(std::span<char> out) {
    std::size_t const n =
        static_cast<std::size_t>(std::min<std::uint64_t>({out.size(), buffer_.size(), *direct_remaining_}));
    net::buffer_copy(net::buffer(out.data(), n), buffer_.data());
    buffer_.consume(n);
    *direct_remaining_ -= n;
    return n;
}

Error ParserBody::fail(std::string message, Errc code) {
    failed_ = true;
    return Error(code, std::move(message));
}

}  // namespace onda::http::detail
