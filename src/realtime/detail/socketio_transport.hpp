// The two Engine.IO transports over http (socketio_server.hpp lists the requests), as free functions
// the server calls. They run on the request's thread and reach the session on its owner thread with
// co_spawn, naming it by sid (or, a WebSocket, by a weak reference) each time; a reference to the
// session is taken and dropped there, so its last one is always dropped on its own thread (where
// its timers and hub subscriber live). The one exception, a WebSocket writer's task, hands its
// reference back to that thread to drop.
#pragma once

#include <string>

#include "core/task.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "realtime/detail/socketio_shared.hpp"

namespace onda::realtime::detail {

// A new polling session on this thread, answered with its open packet.
Task<http::Response> open_polling(SocketIoShared& shared, http::Request& request);
// The long-polling GET and the POST of session `sid`.
Task<http::Response> poll(SocketIoShared& shared, http::Request& request, std::string sid);
Task<http::Response> post(SocketIoShared& shared, http::Request& request, std::string sid);
// A WebSocket: a new session on this thread, or the upgrade of polling session `sid`.
http::Response open_websocket(SocketIoShared& shared, http::Request& request);
Task<http::Response> upgrade(SocketIoShared& shared, http::Request& request, std::string sid);

// The server thread that owns `sid` ("<random>-<thread>"), if it names one of `threads` threads.
std::optional<std::size_t> owner_of(std::string_view sid, std::size_t threads);

}  // namespace onda::realtime::detail
