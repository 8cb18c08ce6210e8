// The body of the request a connection is answering, read as its handler asks (http::BodySource).
// Beast types, so only connection.cpp (and request_body.cpp) include this.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "core/error.hpp"
#include "core/task.hpp"
#include "http/request.hpp"

namespace onda::http::detail {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;

// A body of declared length is read straight into the handler's buffer (after whatever of it came in
// with the head): no copy through the connection's buffer, reads as large as the handler's, and
// never a byte past the body (what follows is the next pipelined request). A chunked body goes
// through the parser, which decodes the chunking. With `expects_continue`, 100 Continue is sent
// before the first read from the socket.
class ParserBody final : public BodySource {
public:
    // `parser` has read the head; `buffer` holds whatever came after it.
    ParserBody(boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffer, RequestParser& parser,
               std::chrono::milliseconds timeout, bool expects_continue);

    bool is_done() const override { return direct_remaining_ ? *direct_remaining_ == 0 : parser_.is_done(); }
    bool failed() const { return failed_; }
    bool continue_sent() const { return continue_sent_; }

    Task<Result<std::size_t>> read_some(std::span<char> out) override;

private:
    // Body bytes that arrived together with the head (or with an earlier read) are handed out first.
    std::size_t take_buffered(std::span<char> out);
    Error fail(std::string message, Errc code);

    boost::beast::tcp_stream& stream_;
    boost::beast::flat_buffer& buffer_;
    RequestParser& parser_;
    std::chrono::milliseconds timeout_;
    bool expects_continue_;
    bool continue_sent_ = false;
    bool failed_ = false;
    std::optional<std::uint64_t> direct_remaining_;  // set for a body of declared length
};

}  // namespace onda::http::detail
