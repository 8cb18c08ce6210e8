// The Socket.IO v4 endpoint at /socket.io/ (API.md "Realtime"): Engine.IO v4 over HTTP long-polling
// and WebSocket with the upgrade between them, Socket.IO v5 on namespace "/", so the stock
// socket.io-client 4.x connects unchanged with any `transports` setting.
//
// Routes (Engine.IO "Transports"):
//   GET  /socket.io/?EIO=4&transport=polling            handshake: a new session, answered with its open packet
//   GET  /socket.io/?EIO=4&transport=polling&sid=S      long-poll: held until something is queued (or the next ping)
//   POST /socket.io/?EIO=4&transport=polling&sid=S      packets from the client; "ok"
//   GET  /socket.io/?EIO=4&transport=websocket[&sid=S]  WebSocket: a new session, or the upgrade of polling session S
// Errors are 400 invalid_argument (bad EIO, transport, sid, packets: the session ends), 413 too_large
// past maxPayload (the session ends), 429 rate_limited for new sessions from one address past the
// event rate, 503 during shutdown.
//
// Socket.IO (socketio_client.hpp is what handlers see): the CONNECT packet's `auth.token` (else the
// opening request's token: Authorization, `token` query, `onda_token` cookie) says who the client
// is; no token is an anonymous, read-only viewer. Refusals are CONNECT_ERROR {"message": M, "data":
// {"code","message"}} with M `invalid_token` or `device_limit` (a user's devices past max_devices,
// counted by `auth.deviceId`). Every client of user U is in room `user:U`. Events: the built-in
// `join` / `leave` ({room}; ack {ok, room, history:[{id,offset,event,data}], viewers} / {ok}) and whatever
// modules register with on(). Each user's (or anonymous address's) events are rate limited; a
// refused event is acked {ok:false, error:{code:"rate_limited"}}, and a client that keeps sending
// past max_refused_events refusals in a row is disconnected (flood). An unknown event is acked
// not_found. Hub events of the client's rooms arrive as events named like the hub event.
//
// Threads: a session lives on the server thread that opened it; requests for it that arrive on
// another thread (SO_REUSEPORT spreads them) are carried over with co_spawn, so session state needs
// no lock. set_executors() must be called, with the http::Server's executors, before serving.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "auth/device_limit.hpp"
#include "auth/identity.hpp"
#include "auth/rate_limit.hpp"
#include "core/metrics.hpp"
#include "core/task.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "realtime/engineio_session.hpp"
#include "realtime/hub.hpp"
#include "realtime/room_access.hpp"
#include "realtime/socketio_client.hpp"
#include "realtime/socketio_packet.hpp"

namespace onda::realtime {

struct SocketIoOptions {
    EngineOptions engine;
    std::chrono::milliseconds connect_timeout{45'000};  // from the handshake to a successful CONNECT
    std::size_t max_rooms = 32;                         // rooms one client may join, its user room aside
    std::size_t max_pending_events = 64;                // events waiting for their handlers, per client
    std::size_t max_refused_events = 100;               // rate-limited events in a row before a flood ends the client
    SocketLimits packets;
};

namespace detail {
struct SocketIoShared;
}

class SocketIoServer {
public:
    // Every reference must outlive the server, and the server must outlive the http::Server whose
    // threads run its sessions. `event_limiter` counts client events per user (or address), and new
    // sessions per address.
    SocketIoServer(SocketIoOptions options, Hub& hub, auth::Authenticator const& authenticator,
                   auth::DeviceLimiter& devices, auth::RateLimiter& event_limiter, RoomAccess access,
                   MetricsRegistry& metrics);
    ~SocketIoServer();
    SocketIoServer(SocketIoServer const&) = delete;
    SocketIoServer& operator=(SocketIoServer const&) = delete;

    // At start-up, before serving. `event` may not be a Socket.IO reserved name, join or leave, or
    // one registered already.
    void on(std::string event, EventHandler handler);
    // Run once a client has connected (after its CONNECT is answered) / once it has left.
    void on_connect(ClientHook hook);
    void on_disconnect(ClientHook hook);

    // GET and POST /socket.io/ (not counted by the API rate limit; tokens are read here, so a bad
    // one becomes a CONNECT_ERROR instead of a 401).
    void add_routes(http::Router& router);
    // One executor per server thread, indexed like http::Request::worker().
    void set_executors(std::vector<net::any_io_executor> executors);

    Task<http::Response> handle(http::Request& request);

    // Shutdown: ends every session now (polling clients get a close packet, WebSockets a close
    // frame) and refuses new ones with 503. Any thread.
    void close();

private:
    std::unique_ptr<detail::SocketIoShared> shared_;
    std::atomic<bool> closed_{false};
};

}  // namespace onda::realtime
