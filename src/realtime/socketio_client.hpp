// What other modules see of Socket.IO: a connected client, the events it sends, and the answer it
// may ask for. Modules register handlers with SocketIoServer::on("play_track", handler) at start-up;
// the protocol (Engine.IO, transports, acks on the wire, binary attachments, limits) stays here.
//
// Threads: a client lives on one server thread. Handlers and hooks run there, and every call on a
// SocketIoClient or an Ack must be made there too, the release of a kept shared_ptr included
// (executor() names it; post to it from elsewhere).
// To reach clients on any thread, publish to a room through the hub (every client of user U is in
// `user:U`).
//
// Example (a handler is a plain function returning a task; no capturing lambda coroutines):
//   Task<> change_volume(Playback& playback, std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack) {
//       if (client->identity().is_anonymous()) co_return ack.fail(Error(Errc::unauthenticated, "sign in first"));
//       auto const* args = event.arg(0).if_object();
//       auto const* volume = args ? args->if_contains("volume") : nullptr;
//       if (!volume || !volume->is_number()) co_return ack.fail(Error(Errc::invalid_argument, "volume: 0 to 1"));
//       co_await playback.set_volume(client->identity().user, volume->to_number<double>());
//       ack.reply(boost::json::object{{"ok", true}});
//   }
//   server.on("volume_change", [&playback](std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack) {
//       return change_volume(playback, std::move(client), std::move(event), std::move(ack));
//   });
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "auth/identity.hpp"
#include "core/error.hpp"
#include "core/task.hpp"

namespace onda::realtime {

// One client connected to namespace "/".
class SocketIoClient {
public:
    virtual ~SocketIoClient() = default;

    // The Socket.IO socket id (what the client sees as socket.id).
    virtual std::string const& id() const = 0;
    // Anonymous when the client sent no token (a read-only viewer).
    virtual auth::Identity const& identity() const = 0;
    // The handshake's auth.deviceId, else the token's `device` claim, else the socket id.
    virtual std::string const& device() const = 0;
    // "polling" or "websocket" (changes once, on upgrade).
    virtual std::string_view transport() const = 0;
    virtual bool is_connected() const = 0;
    virtual net::any_io_executor executor() const = 0;

    // Queues the event [event, data] for this client. Binary data goes in `attachments`, with
    // make_placeholder(i) (socketio_packet.hpp) where attachment i belongs in `data`. False when the
    // client is gone, or its send queue overflowed (it is then disconnected as too slow).
    virtual bool emit(std::string_view event, boost::json::value const& data,
                      std::vector<std::string> attachments = {}) = 0;

    // Disconnects the client from the server's side (Socket.IO DISCONNECT, then the connection
    // closes; the stock client does not reconnect by itself after this).
    virtual void disconnect() = 0;
};

// An event as the client sent it: socket.emit(name, ...args).
struct ClientEvent {
    std::string name;
    boost::json::array args;               // the arguments after the name; binary ones are placeholders
    std::vector<std::string> attachments;  // the bytes those placeholders stand for, by index

    // Argument i, or null when the client sent fewer.
    boost::json::value const& arg(std::size_t i) const;
    // The bytes a placeholder stands for; nullopt for any other value.
    std::optional<std::string_view> attachment(boost::json::value const& value) const;
};

// The acknowledgement an event asked for (socket.emit(name, data, callback)). Replying more than
// once, or after the client left, does nothing; an event that asked for none ignores replies.
class Ack {
public:
    using Send = std::function<void(boost::json::array args, std::vector<std::string> attachments)>;

    Ack() = default;
    explicit Ack(Send send) : state_(std::make_shared<State>(State{std::move(send), false})) {}

    bool requested() const { return state_ != nullptr; }
    // The client's callback receives `reply` (and binary placeholders resolved to `attachments`).
    void reply(boost::json::value reply, std::vector<std::string> attachments = {});
    // {"ok":false,"error":{"code":<code_name>,"message":…}} (API.md: acks are {ok,…}).
    void fail(Error const& error);

private:
    struct State {
        Send send;
        bool done;
    };
    std::shared_ptr<State> state_;
};

// The {"ok":false,"error":{…}} object fail() sends.
boost::json::object ack_error(Error const& error);

using EventHandler = std::function<Task<>(std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack)>;
using ClientHook = std::function<Task<>(std::shared_ptr<SocketIoClient> client)>;

}  // namespace onda::realtime
