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

// Performs the opening handshake for `request` (its headers; the body is empty) with `response`'s
// headers added to the 101, frees both, then runs the upgrade's session until it returns. `stream`
// must have no expiry set; the WebSocket keeps its own timeouts.
Task<> serve_websocket(boost::beast::tcp_stream& stream, UpgradeRequest request, Response response,
                       std::shared_ptr<WebSocketUpgrade> upgrade, std::string const& peer);

}  // namespace onda::http::detail
