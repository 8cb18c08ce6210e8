// The connection's side of a WebSocket upgrade (http/websocket.hpp): Beast types, so only
// connection.cpp and websocket.cpp include this.
#pragma once

#include <string>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>

#include "core/task.hpp"
#include "http/response.hpp"
#include "http/websocket.hpp"

namespace onda::http::detail {

using UpgradeRequest = boost::beast::http::request<boost::beast::http::buffer_body>;

// Performs the opening handshake for `request` (its headers; the body is empty) with `response`'s
// headers added to the 101, then runs the upgrade's session until it returns. `stream` must have no
// expiry set; the WebSocket keeps its own timeouts.
Task<> serve_websocket(boost::beast::tcp_stream& stream, UpgradeRequest const& request, Response const& response,
                       WebSocketUpgrade& upgrade, std::string const& peer);

}  // namespace onda::http::detail
