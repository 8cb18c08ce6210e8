// Writes a Response on a connection's socket (RFC 9112 §4, §6): the head, then the body however the
// Response holds it. Text goes out gathered with the head; file pieces with sendfile(2) straight
// from the page cache, tried at once and waited for only when the socket is full; streams with
// their stated length, or chunked (or, in HTTP/1.0, up to the connection's close). Each stall may
// last send_timeout, a deadline on the connection's entry that the thread's sweep enforces; one
// response sends at most fair_share_bytes in a row before the thread's other connections get a turn.
//
// The functions take the connection's parts by value (three references): no object of their own
// lives in the connection between responses. The connection's parts, `response` and `keep_alive`
// must outlive the returned task.
#pragma once

#include <cstdint>

#include <boost/asio/ip/tcp.hpp>

#include "core/error.hpp"
#include "core/task.hpp"
#include "http/detail/worker.hpp"
#include "http/response.hpp"

namespace onda::http::detail {

// The connection a response goes to.
struct Output {
    Server::Worker& worker;
    Socket& socket;
    ConnectionEntry& entry;
};

// Writes `response` (only its head when `head_only`). `keep_alive` is what the connection wants; it
// is cleared when only the connection's end can end this body (HTTP/1.0, unknown length). False when
// the connection must close: a write failed or stalled, or a body stream was cut short.
Task<bool> write_response(Output out, Response& response, bool head_only, bool& keep_alive, bool http10);

// A JSON error response; the connection closes after it.
Task<> write_error(Output out, Error error);

}  // namespace onda::http::detail
