// The Socket.IO side of a WebSocket (http::WebSocketHandler): the transport of one session, which
// hands it what the client sends and writes what it queues (session_websocket.cpp says how).
#pragma once

#include <cstddef>
#include <memory>

#include "http/websocket.hpp"
#include "realtime/detail/socketio_connection.hpp"
#include "realtime/detail/socketio_shared.hpp"

namespace onda::realtime::detail {

// The WebSocket options of Socket.IO's WebSockets: maxPayload, and silence past pingInterval +
// pingTimeout.
http::WebSocketOptions websocket_options(SocketIoShared const& shared);

// The handler of a WebSocket that opens a session of its own. Made on the connection's thread,
// which becomes the session's.
std::unique_ptr<http::WebSocketHandler> new_session_websocket(SocketIoShared& shared, Opening opening);

// The handler of a WebSocket that upgrades polling session `connection` of thread `worker`.
std::unique_ptr<http::WebSocketHandler> upgrading_websocket(SocketIoShared& shared, std::size_t worker,
                                                            std::weak_ptr<SocketIoConnection> connection);

}  // namespace onda::realtime::detail
