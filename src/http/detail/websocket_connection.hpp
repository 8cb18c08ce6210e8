// The connection's side of a WebSocket upgrade (http/websocket.hpp): Beast types, so only
// connection.cpp and websocket.cpp include this.
#pragma once

#include <memory>
#include <string>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>

#include "core/task.hpp"
#include "http/response.hpp"
#include "http/websocket.hpp"

namespace onda::http::detail {

using UpgradeRequest = boost::beast::http::request<boost::beast::http::buffer_body>;

// The request line and the header fields the opening handshake reads (RFC 6455 §4.2.1: Host,
// Upgrade, Connection, Sec-WebSocket-Key, -Version, -Protocol, -Extensions), copied from `request`:
// what a WebSocket keeps of its request for as long as it lives.
UpgradeRequest handshake_fields(UpgradeRequest const& request);

// An upgrade an exchange accepted: what the opening handshake needs, kept until it is done. Held by
// pointer so that neither the connection nor a coroutine frame keeps room for it afterwards.
struct PendingUpgrade {
    UpgradeRequest request;  // the handshake's own header fields only (handshake_fields)
    Response response;       // its headers go on the 101
    std::shared_ptr<WebSocketUpgrade> session;
};

// Performs the opening handshake for `upgrade->request` (its headers; the body is empty) with
// `upgrade->response`'s headers added to the 101, frees all of it but the session, then runs the
// session until it returns. `stream` must have no expiry set; the WebSocket keeps its own timeouts.
Task<> serve_websocket(boost::beast::tcp_stream& stream, std::unique_ptr<PendingUpgrade> upgrade,
                       std::string const& peer);

}  // namespace onda::http::detail
