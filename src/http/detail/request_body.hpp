// The body of the request a connection is answering, read as its handler asks (http::BodySource).
// Beast types, so only connection.cpp (and request_body.cpp) include this.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "core/error.hpp"
#include "core/task.hpp"
#include "http/detail/request_head.hpp"
#include "http/detail/worker.hpp"
#include "http/request.hpp"

namespace onda::http::detail {

// A body of declared length is read straight into the handler's buffer (after whatever of it came in
// with the head): no copy through the connection's buffer, reads as large as the handler's, and
// never a byte past the body (what follows is the next pipelined request). A chunked body goes
// through Beast's parser, which decodes the chunking (primed with a head of its own: the request's
// head was parsed by detail/request_head). After expect_continue(), 100 Continue is sent before the
// first read from the socket.
class ParserBody final : public BodySource {
public:
    using ChunkParser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;

    // `head` is the request's (parsed); `buffer` holds whatever came after it. Each read must end
    // within `timeout` (armed on `entry`, the connection's).
    ParserBody(Socket& socket, ConnectionEntry& entry, boost::beast::flat_buffer& buffer, RequestHead const& head,
               std::chrono::milliseconds timeout);
    ~ParserBody() override;

    // The client sent `Expect: 100-continue` and waits for the interim answer before the body.
    void expect_continue() { expects_continue_ = true; }

    bool is_done() const override { return chunks_ ? chunks_->is_done() : direct_remaining_ == 0; }
    bool failed() const { return failed_; }
    bool continue_sent() const { return continue_sent_; }

    Task<Result<std::size_t>> read_some(std::span<char> out) override;

private:
    // Body bytes that arrived together with the head (or with an earlier read) are handed out first.
    std::size_t take_buffered(std::span<char> out);
    Error fail(std::string message, boost::system::error_code const& ec);

    Socket& socket_;
    ConnectionEntry& entry_;
    boost::beast::flat_buffer& buffer_;
    std::unique_ptr<ChunkParser> chunks_;  // a chunked body's decoder; null for a body of declared length
    std::chrono::milliseconds timeout_;
    bool expects_continue_ = false;
    bool continue_sent_ = false;
    bool failed_ = false;
    std::uint64_t direct_remaining_ = 0;  // of a body of declared length
};

}  // namespace onda::http::detail
