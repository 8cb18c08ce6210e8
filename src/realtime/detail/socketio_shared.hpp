// What every Socket.IO session of one server shares: options, the objects it uses, the registered
// handlers and hooks (read-only once serving), metrics, and each server thread's session table
// (touched only by that thread).
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "realtime/socketio_server.hpp"

namespace onda::realtime {
class Heartbeats;
}

namespace onda::realtime::detail {

class SocketIoConnection;
class SessionWebSocket;

struct SocketIoMetrics {
    Gauge* polling = nullptr;
    Gauge* websocket = nullptr;
    std::map<std::string, Counter*, std::less<>> events;  // by registered name, plus join and leave
    Counter* unknown_events = nullptr;
    std::array<Counter*, 8> disconnects{};  // by CloseReason
    Counter* connect_errors = nullptr;

    Gauge& connections(Transport transport) { return transport == Transport::polling ? *polling : *websocket; }
};

struct ThreadSessions {
    net::any_io_executor executor;
    // Weak: a session is owned by its own tasks, so one that ends (or whose tasks are destroyed at
    // shutdown) never outlives its thread because of this table.
    std::unordered_map<std::string, std::weak_ptr<SocketIoConnection>> by_sid;
    // The thread's sessions' heartbeats; it lives while any session is in it (heartbeats.hpp).
    std::weak_ptr<Heartbeats> heartbeats;
    // WebSockets of the thread's sessions with frames to send, in the order they were told. A pass
    // writes them (session_websocket.cpp), rather than a task each; each entry holds its session
    // until it is written. `ready_at` is the first not written yet; `ready_pass_turns` counts the
    // times the posted pass has let the thread's other handlers run first. The list keeps its
    // memory between passes.
    struct Ready {
        SessionWebSocket* writer;
        std::shared_ptr<SocketIoConnection> connection;
    };
    std::vector<Ready> ready;
    std::size_t ready_at = 0;
    bool ready_pass_posted = false;
    unsigned ready_pass_turns = 0;
};

struct SocketIoShared {
    SocketIoOptions options;
    Hub& hub;
    auth::Authenticator const& authenticator;
    auth::DeviceLimiter& devices;
    auth::RateLimiter& event_limiter;
    RoomAccess access;
    MetricsRegistry& registry;
    SocketIoMetrics metrics;
    std::map<std::string, EventHandler, std::less<>> handlers;
    std::vector<ClientHook> connect_hooks;
    std::vector<ClientHook> disconnect_hooks;
    std::vector<ThreadSessions> threads;  // index: http::Request::worker()
};

// 20 random base64url characters (120 bits): session and socket ids.
std::string random_id();

}  // namespace onda::realtime::detail
