// The connection's side of a WebSocket upgrade (http/websocket.hpp): only connection.cpp and
// websocket.cpp include this.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "core/error.hpp"
#include "core/task.hpp"
#include "http/detail/websocket_frame.hpp"
#include "http/detail/worker.hpp"
#include "http/response.hpp"
#include "http/websocket.hpp"

namespace onda::http::detail {

// An upgrade an exchange accepted: what the opening handshake needs, kept until it is done. Held by
// pointer so that neither the connection nor a coroutine frame keeps room for it afterwards.
struct PendingUpgrade {
    std::string accept_key;  // check_handshake()
    Response response;       // its headers go on the 101
    std::shared_ptr<WebSocketUpgrade> session;
};

// Sends the 101 with `upgrade->response`'s headers added, makes the session's handler and frees the
// rest of the upgrade; then reads, handing each message to the handler, until either side ends,
// calls its ended() and tears the connection down. The WebSocket keeps its deadlines on `entry`
// (the connection's) from here on. `socket`, `entry` and `peer` (the connection's) outlive the task.
Task<> serve_websocket(Socket& socket, ConnectionEntry& entry, std::unique_ptr<PendingUpgrade> upgrade,
                       std::string const& peer);

}  // namespace onda::http::detail
