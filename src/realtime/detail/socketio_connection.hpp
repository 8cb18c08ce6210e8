// One Socket.IO client: an Engine.IO session and, on top, namespace "/" (socketio_server.hpp says
// what the client sees). Turns message packets into Socket.IO packets (gathering binary
// attachments), answers CONNECT (token, device limit), rate-limits events and runs their handlers
// one at a time in arrival order, and forwards the hub events of its rooms: it is its subscriber's
// Sink, so the hub's thread shard hands each event straight to the Engine.IO send queue (one shared
// frame, no copy), and the WebSocket writer sends what queued up with one write.
//
// Lifetime and threads: made with std::make_shared and start()ed on its owner thread; the heartbeat
// holds it until the session closes, and its dispatcher (while events wait), its WebSocket writer
// (while writing, or waiting on its thread's ready list for the write pass) and the transports'
// calls each hold a shared_ptr, so it lives while anything uses it. Every member runs on the owner thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "auth/device_limit.hpp"
#include "core/log.hpp"
#include "realtime/detail/socketio_shared.hpp"
#include "realtime/engineio_session.hpp"
#include "realtime/socketio_client.hpp"
#include "realtime/socketio_packet.hpp"
#include "realtime/subscriber.hpp"

namespace onda::realtime::detail {

// What the HTTP request that opened the session said.
struct Opening {
    std::string token;  // from Authorization, `token` or the `onda_token` cookie; "" when none
    std::string remote_address;
    std::size_t worker = 0;  // the server thread (index into SocketIoShared::threads)
};

class SocketIoConnection final : public SocketIoClient,
                                 public EngineIoSession::Listener,
                                 public Subscriber::Sink,
                                 public std::enable_shared_from_this<SocketIoConnection> {
public:
    // `shared` must outlive the connection.
    SocketIoConnection(SocketIoShared& shared, std::string sid, Transport transport, net::any_io_executor executor,
                       Opening opening);
    ~SocketIoConnection() override;

    // Starts the heartbeat and the dispatcher. Once, right after make_shared.
    void start();
    EngineIoSession& engine() { return engine_; }

    // SocketIoClient
    std::string const& id() const override { return socket_id_; }
    auth::Identity const& identity() const override { return identity_; }
    std::string const& device() const override { return device_; }
    std::string_view transport() const override { return transport_name(engine_.transport()); }
    bool is_connected() const override { return connected_; }
    net::any_io_executor executor() const override { return engine_.executor(); }
    bool emit(std::string_view event, boost::json::value const& data, std::vector<std::string> attachments) override;
    void disconnect() override;

    // For the built-in join and leave (socketio_rooms.cpp).
    Subscriber* subscriber() { return subscriber_.get(); }
    std::string const& user_room() const { return user_room_; }
    // Made when a line is logged (rarely): 10,000 idle connections keep no prefix strings.
    log::Context log() const;

    // The transport changed (polling -> websocket) for the metrics.
    void upgraded();

private:
    struct Inbound {
        ClientEvent event;
        std::optional<std::uint64_t> ack_id;
    };

    // EngineIoSession::Listener
    void on_message(EnginePacket packet) override;
    void on_close(CloseReason reason) override;

    // Subscriber::Sink
    void on_event(EventPtr const& event) override;
    void on_end(Subscriber::End why) override;

    void on_packet(SocketPacket packet, std::vector<std::string> attachments);
    void connect(SocketPacket const& packet);
    void refuse(Error const& error);
    void accept_event(SocketPacket packet, std::vector<std::string> attachments);
    void leave_namespace();
    void fail(CloseReason reason, std::string_view why);

    // Encodes `packet` (and its attachments as binary frames) and queues it.
    bool send_packet(SocketPacket const& packet, std::vector<std::string> attachments = {});
    Ack make_ack(std::optional<std::uint64_t> id);

    friend Task<> run_dispatcher(std::shared_ptr<SocketIoConnection> self);
    Task<> dispatch();
    void wake_dispatcher();  // starts the dispatcher, or wakes it
    Task<> handle(Inbound inbound);

    SocketIoShared& shared_;
    // What the opening request said; its token by pointer (most clients send theirs in the CONNECT
    // packet instead, and 10,000 idle connections keep no room for one).
    std::string remote_address_;
    std::size_t worker_;
    std::unique_ptr<std::string const> token_;  // null when the request had none
    EngineIoSession engine_;

    bool connected_ = false;
    bool ever_connected_ = false;
    std::string socket_id_;
    auth::Identity identity_;
    std::string device_;
    std::string user_room_;  // "user:<sub>", empty when anonymous
    auth::DeviceLimiter::Lease lease_;
    std::shared_ptr<Subscriber> subscriber_;

    // A binary packet whose attachments are still arriving: the packet, those that came, and the
    // bytes so far. By pointer: rare, and an idle connection keeps no room for it.
    struct Partial {
        SocketPacket packet;
        std::vector<std::string> attachments;
        std::size_t bytes = 0;
    };
    std::unique_ptr<Partial> partial_;

    std::vector<Inbound> inbound_;  // at most max_pending_events; a vector holds no memory while empty
    bool hooks_due_ = false;        // connect hooks run before the first event is handled
    bool dispatching_ = false;      // the dispatcher task is running
    std::size_t refused_in_a_row_ = 0;
    std::unique_ptr<net::steady_timer> dispatch_wake_;  // until the CONNECT, while the dispatcher waits for it
    std::chrono::steady_clock::time_point connect_deadline_;
};

}  // namespace onda::realtime::detail
