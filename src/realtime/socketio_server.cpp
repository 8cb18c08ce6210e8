#include "realtime/socketio_server.hpp"

#include <array>

#include <boost/asio/post.hpp>

#include "auth/base64.hpp"
#include "core/ids.hpp"
#include "http/websocket.hpp"
#include "realtime/detail/socketio_connection.hpp"
#include "realtime/detail/socketio_transport.hpp"

namespace onda::realtime {
namespace {

constexpr std::array<CloseReason, 8> every_close_reason{
    CloseReason::client_closed, CloseReason::ping_timeout, CloseReason::slow_consumer,   CloseReason::protocol_error,
    CloseReason::flood,         CloseReason::too_large,    CloseReason::server_shutdown, CloseReason::server_disconnect,
};

Counter& event_counter(MetricsRegistry& registry, std::string_view event) {
    return registry.counter("onda_socketio_events_total", "Socket.IO events received from clients, by event",
                            {{"event", std::string(event)}});
}

http::Response bad_request(std::string message) {
    return http::error_response(Error(Errc::invalid_argument, std::move(message)));
}

// On a server thread: ends every session that thread owns.
void close_sessions(detail::ThreadSessions& sessions) {
    std::vector<std::shared_ptr<detail::SocketIoConnection>> open;
    for (auto const& [sid, weak] : sessions.by_sid)
        if (auto connection = weak.lock()) open.push_back(std::move(connection));
    // Closing erases from the table, so the sessions are collected first.
    for (auto const& connection : open) connection->engine().close(CloseReason::server_shutdown);
}

}  // namespace

namespace detail {

std::string random_id() {
    std::array<unsigned char, 15> bytes{};
    random_bytes(bytes);
    return auth::base64url_encode(bytes);
}

}  // namespace detail

SocketIoServer::SocketIoServer(SocketIoOptions options, Hub& hub, auth::Authenticator const& authenticator,
                               auth::DeviceLimiter& devices, auth::RateLimiter& event_limiter, RoomAccess access,
                               MetricsRegistry& metrics)
    : shared_(std::make_unique<detail::SocketIoShared>(detail::SocketIoShared{
          .options = std::move(options),
          .hub = hub,
          .authenticator = authenticator,
          .devices = devices,
          .event_limiter = event_limiter,
          .access = std::move(access),
          .registry = metrics,
      })) {
    auto& m = shared_->metrics;
    char const* const connections_help = "Socket.IO connections open now, by transport";
    m.polling = &metrics.gauge("onda_socketio_connections", connections_help, {{"transport", "polling"}});
    m.websocket = &metrics.gauge("onda_socketio_connections", connections_help, {{"transport", "websocket"}});
    for (auto name : {"join", "leave"}) m.events[name] = &event_counter(metrics, name);
    m.unknown_events = &event_counter(metrics, "unknown");
    for (auto reason : every_close_reason)
        m.disconnects[static_cast<std::size_t>(reason)] =
            &metrics.counter("onda_socketio_disconnects_total", "Socket.IO sessions ended, by reason",
                             {{"reason", std::string(close_reason_name(reason))}});
    m.connect_errors = &metrics.counter("onda_socketio_connect_errors_total",
                                        "Socket.IO CONNECTs refused (bad token, device limit, …)", {});
}

SocketIoServer::~SocketIoServer() = default;

void SocketIoServer::on(std::string event, EventHandler handler) {
    ONDA_ASSERT(!is_reserved_event(event) && event != "join" && event != "leave",
                "join, leave and reserved names are taken");
    ONDA_ASSERT(!shared_->handlers.contains(event), "one handler per event");
    shared_->metrics.events[event] = &event_counter(shared_->registry, event);
    shared_->handlers.emplace(std::move(event), std::move(handler));
}

void SocketIoServer::on_connect(ClientHook hook) { shared_->connect_hooks.push_back(std::move(hook)); }

void SocketIoServer::on_disconnect(ClientHook hook) { shared_->disconnect_hooks.push_back(std::move(hook)); }

void SocketIoServer::add_routes(http::Router& router) {
    // Polling makes a request per message batch: the API rate limit would cut clients off, and
    // events are limited per user inside instead.
    http::RouteOptions const options{.rate_limited = false, .verify_token = false};
    auto handler = [this](http::Request& request) { return handle(request); };
    router.add("GET", "/socket.io/", "socketio", handler, options);
    router.add("POST", "/socket.io/", "socketio", handler, options);
}

void SocketIoServer::set_executors(std::vector<net::any_io_executor> executors) {
    shared_->threads.clear();
    shared_->threads.resize(executors.size());
    for (std::size_t i = 0; i < executors.size(); ++i) shared_->threads[i].executor = std::move(executors[i]);
}

void SocketIoServer::close() {
    closed_ = true;
    for (auto& thread : shared_->threads) net::post(thread.executor, [&thread] { close_sessions(thread); });
}

Task<http::Response> SocketIoServer::handle(http::Request& request) {
    // Engine.IO "Query parameters": EIO and transport are mandatory, sid once the session exists.
    if (request.query("EIO") != "4") co_return bad_request("unsupported protocol version: EIO=4 is required");
    auto const transport = request.query("transport");
    auto sid = request.query("sid");
    if (request.worker() >= shared_->threads.size())
        co_return http::error_response(Error(Errc::unavailable, "Socket.IO is not serving on this thread"));
    bool const opens = !sid;
    if (opens && closed_) co_return http::error_response(Error(Errc::unavailable, "the server is shutting down"));
    if (opens) {
        // Each session costs memory until it times out: new ones per address are limited like events
        // (a client reconnecting with backoff opens a few a minute).
        auto const decision = shared_->event_limiter.take("open:" + request.remote_address());
        if (!decision.allowed) {
            auto response = http::error_response(Error(Errc::rate_limited, "too many new sessions; slow down"));
            response.add_header("Retry-After", std::to_string(decision.retry_after.count()));
            co_return response;
        }
    }

    if (transport == "websocket") {
        if (!http::is_websocket_upgrade(request))
            co_return bad_request("transport=websocket needs a WebSocket upgrade");
        if (opens) co_return detail::open_websocket(*shared_, request);
        Task<http::Response> upgrading = detail::upgrade(*shared_, request, std::move(*sid));
        co_return co_await std::move(upgrading);
    }
    if (transport != "polling") co_return bad_request("unknown transport: polling or websocket");
    if (request.method() == "POST") {
        if (opens) co_return bad_request("a POST needs the sid of a session");
        Task<http::Response> posting = detail::post(*shared_, request, std::move(*sid));
        co_return co_await std::move(posting);
    }
    if (opens) {
        Task<http::Response> opening = detail::open_polling(*shared_, request);
        co_return co_await std::move(opening);
    }
    Task<http::Response> polling = detail::poll(*shared_, request, std::move(*sid));
    co_return co_await std::move(polling);
}

}  // namespace onda::realtime
