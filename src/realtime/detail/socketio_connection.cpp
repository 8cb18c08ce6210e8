#include "realtime/detail/socketio_connection.hpp"

#include <algorithm>

#include <boost/json/serialize.hpp>

#include "realtime/detail/socketio_rooms.hpp"
#include "realtime/heartbeats.hpp"

namespace onda::realtime::detail {
namespace {

constexpr std::size_t max_device_id_chars = 128;

// What a refused CONNECT says in its `message` (what socket.io-client's connect_error shows):
// a bad token is `invalid_token`; everything else is its code (`device_limit`, …).
std::string connect_error_message(Error const& error) {
    if (error.code() == Errc::unauthenticated) return "invalid_token";
    return std::string(code_name(error.code()));
}

bool is_printable(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x20; });
}

Task<> run_hook(ClientHook const& hook,
                std::shared_ptr<SocketIoClient> client) {  // hooks outlive the server's sessions
    Task<> work = hook(std::move(client));
    co_await std::move(work);
}

}  // namespace

Task<> run_dispatcher(std::shared_ptr<SocketIoConnection> self) { co_await self->dispatch(); }

SocketIoConnection::SocketIoConnection(SocketIoShared& shared, std::string sid, Transport transport,
                                       net::any_io_executor executor, Opening opening)
    : shared_(shared),
      remote_address_(std::move(opening.remote_address)),
      worker_(opening.worker),
      token_(opening.token.empty() ? nullptr : std::make_unique<std::string const>(std::move(opening.token))),
      engine_(std::move(sid), transport, shared.options.engine, executor, *this),
      dispatch_wake_(std::make_unique<net::steady_timer>(executor)),
      connect_deadline_(std::chrono::steady_clock::now() + shared.options.connect_timeout) {
    shared_.metrics.connections(transport).add(1);
}

SocketIoConnection::~SocketIoConnection() = default;

log::Context SocketIoConnection::log() const {
    log::Context context("sio", engine_.sid());
    context.add("peer", remote_address_);
    if (!user_room_.empty()) context.add("user", identity_.user);
    return context;
}

void SocketIoConnection::start() {
    auto const& executor = engine_.executor();
    // The thread's one Heartbeats, made again when its last session has gone; the heartbeat keeps
    // this connection alive until the session closes.
    auto& thread = shared_.threads[worker_];
    auto heartbeats = thread.heartbeats.lock();
    if (!heartbeats) {
        heartbeats = std::make_shared<Heartbeats>(executor, shared_.options.engine);
        thread.heartbeats = heartbeats;
    }
    engine_.start_heartbeat(*heartbeats, shared_from_this());
    dispatching_ = true;  // until the CONNECT, it also keeps the connect deadline
    spawn(executor, run_dispatcher(shared_from_this()), "socket.io dispatcher");
}

void SocketIoConnection::wake_dispatcher() {
    if (dispatching_) {
        if (dispatch_wake_) dispatch_wake_->cancel();
        return;
    }
    if (engine_.is_closed()) return;
    dispatching_ = true;
    spawn(engine_.executor(), run_dispatcher(shared_from_this()), "socket.io dispatcher");
}

void SocketIoConnection::upgraded() {
    if (engine_.is_closed()) return;
    shared_.metrics.polling->add(-1);
    shared_.metrics.websocket->add(1);
    log().debug("upgraded to websocket");
}

void SocketIoConnection::fail(CloseReason reason, std::string_view why) {
    if (engine_.is_closed()) return;
    log().debug("closing ({}): {}", close_reason_name(reason), why);
    engine_.close(reason);
}

void SocketIoConnection::on_message(EnginePacket packet) {
    if (packet.binary) {
        if (!partial_) return fail(CloseReason::protocol_error, "a binary message that no packet announced");
        partial_->bytes += packet.data.size();
        if (partial_->bytes > shared_.options.engine.max_payload)
            return fail(CloseReason::too_large, "binary attachments past maxPayload");
        partial_->attachments.push_back(std::move(packet.data));
        if (partial_->attachments.size() < partial_->packet.attachments) return;
        auto complete = std::move(partial_);
        return on_packet(std::move(complete->packet), std::move(complete->attachments));
    }
    if (partial_) return fail(CloseReason::protocol_error, "a text message while binary attachments were due");
    auto decoded = decode_socket_packet(packet.data, shared_.options.packets);
    if (!decoded) return fail(CloseReason::protocol_error, decoded.error().message());
    if (decoded->nsp != "/") {
        // Only "/" exists; Socket.IO answers a CONNECT elsewhere so, and drops other packets there.
        if (decoded->type == SocketType::connect) {
            SocketPacket refusal{.type = SocketType::connect_error,
                                 .nsp = decoded->nsp,
                                 .data = boost::json::object{{"message", "Invalid namespace"}}};
            send_packet(refusal);
        }
        return;
    }
    bool const binary = decoded->type == SocketType::binary_event || decoded->type == SocketType::binary_ack;
    if (binary && decoded->attachments > 0) {
        partial_ = std::make_unique<Partial>(Partial{.packet = std::move(*decoded), .bytes = packet.data.size()});
        return;
    }
    on_packet(std::move(*decoded), {});
}

void SocketIoConnection::on_packet(SocketPacket packet, std::vector<std::string> attachments) {
    switch (packet.type) {
    case SocketType::connect:
        if (connected_) return fail(CloseReason::protocol_error, "CONNECT while connected");
        return connect(packet);
    case SocketType::disconnect:
        if (connected_) log().debug("left the namespace");
        return leave_namespace();
    case SocketType::event:
    case SocketType::binary_event:
        // Socket.IO: a client that has not connected to the namespace must not send events.
        if (!connected_) return fail(CloseReason::protocol_error, "an event before CONNECT");
        return accept_event(std::move(packet), std::move(attachments));
    case SocketType::ack:
    case SocketType::binary_ack:
        return;  // the server asks for no acknowledgements; unknown ids are dropped, as Socket.IO does
    case SocketType::connect_error: return fail(CloseReason::protocol_error, "CONNECT_ERROR from a client");
    }
}

void SocketIoConnection::connect(SocketPacket const& packet) {
    std::string token = token_ ? *token_ : std::string();
    std::string device;
    if (auto const* auth = packet.data.if_object()) {
        if (auto const* value = auth->if_contains("token"); value && !value->is_null()) {
            if (!value->is_string()) return refuse(Error(Errc::unauthenticated, "auth.token must be a string"));
            if (!value->get_string().empty()) token = value->get_string();
        }
        if (auto const* value = auth->if_contains("deviceId"); value && !value->is_null()) {
            auto const* text = value->if_string();
            if (!text || text->empty() || text->size() > max_device_id_chars || !is_printable(*text))
                return refuse(Error(Errc::invalid_argument, "auth.deviceId must be 1 to 128 printable characters"));
            device = *text;
        }
    }
    auto claims = shared_.authenticator.claims_of(token);
    if (!claims) return refuse(Error(Errc::unauthenticated, claims.error().message()));
    auth::Identity identity = auth::identity_from(*claims);  // anonymous without a token
    if (device.empty()) device = std::move(claims->device);

    std::string socket_id = random_id();
    if (device.empty()) device = socket_id;  // no device named: this connection is a device of its own
    if (!identity.is_anonymous()) {
        auto lease = shared_.devices.acquire(identity.user, device);
        if (!lease) return refuse(lease.error());
        lease_ = std::move(*lease);
        user_room_ = "user:" + identity.user;
    }
    identity_ = std::move(identity);
    device_ = std::move(device);
    socket_id_ = std::move(socket_id);
    connected_ = true;
    ever_connected_ = true;

    std::vector<std::string> rooms;
    if (!user_room_.empty()) rooms.push_back(user_room_);
    subscriber_ = shared_.hub.subscribe(engine_.executor(), std::move(rooms), {}, identity_.user);
    subscriber_->set_sink(this);

    SocketPacket accepted{.type = SocketType::connect, .data = boost::json::object{{"sid", socket_id_}}};
    send_packet(accepted);
    hooks_due_ = !shared_.connect_hooks.empty();
    wake_dispatcher();
    log().debug("connected device={}", device_);
}

void SocketIoConnection::refuse(Error const& error) {
    shared_.metrics.connect_errors->add();
    log().debug("connect refused: {}", error.message());
    boost::json::object detail{{"code", code_name(error.code())}, {"message", error.message()}};
    SocketPacket refusal{
        .type = SocketType::connect_error,
        .data = boost::json::object{{"message", connect_error_message(error)}, {"data", std::move(detail)}}};
    send_packet(refusal);
}

void SocketIoConnection::accept_event(SocketPacket packet, std::vector<std::string> attachments) {
    // A user's events count together across devices; an anonymous viewer's by address.
    auto const decision = shared_.event_limiter.take(user_room_.empty() ? "ip:" + remote_address_ : user_room_);
    if (!decision.allowed) {
        if (++refused_in_a_row_ > shared_.options.max_refused_events)
            return fail(CloseReason::flood, "kept sending events past the rate limit");
        make_ack(packet.id).fail(
            Error(Errc::rate_limited, fmt::format("too many events; try again in {} s", decision.retry_after.count())));
        return;
    }
    refused_in_a_row_ = 0;
    if (inbound_.size() >= shared_.options.max_pending_events)
        return fail(CloseReason::flood, "events arrive faster than their handlers finish");
    auto& args = packet.data.as_array();
    ClientEvent event{.name = std::string(args.front().as_string()),
                      .args = boost::json::array(args.begin() + 1, args.end()),
                      .attachments = std::move(attachments)};
    inbound_.push_back(Inbound{std::move(event), packet.id});
    wake_dispatcher();
}

void SocketIoConnection::leave_namespace() {
    if (!connected_) return;
    connected_ = false;
    hooks_due_ = false;
    inbound_.clear();  // events of a client that left are not handled
    if (subscriber_) {
        // Released here: it leaves its rooms. (This may run inside the hub's delivery to it: the
        // subscriber touches nothing after handing over an event.)
        auto leaving = std::move(subscriber_);
        leaving->set_sink(nullptr);
    }
    lease_.release();
    if (auto self = weak_from_this().lock())
        for (auto const& hook : shared_.disconnect_hooks)
            spawn(engine_.executor(), run_hook(hook, self), "socket.io disconnect hook");
}

void SocketIoConnection::on_close(CloseReason reason) {
    leave_namespace();
    partial_.reset();
    if (dispatch_wake_) dispatch_wake_->cancel();
    shared_.metrics.connections(engine_.transport()).add(-1);
    shared_.metrics.disconnects[static_cast<std::size_t>(reason)]->add();
    shared_.threads[worker_].by_sid.erase(engine_.sid());
    // A client cut off for its own behaviour is worth a line; the rest is the normal coming and going.
    if (reason == CloseReason::slow_consumer)
        log().warn("disconnected: slow consumer (its queue of events to send overflowed)");
    else if (reason == CloseReason::flood)
        log().warn("disconnected: flood (events past the rate limit or faster than handled)");
    else
        log().debug("closed ({})", close_reason_name(reason));
}

bool SocketIoConnection::emit(std::string_view event, boost::json::value const& data,
                              std::vector<std::string> attachments) {
    if (!connected_) return false;
    SocketPacket packet{.type = attachments.empty() ? SocketType::event : SocketType::binary_event,
                        .attachments = attachments.size(),
                        .data = boost::json::array{boost::json::string_view(event.data(), event.size()), data}};
    return send_packet(packet, std::move(attachments));
}

void SocketIoConnection::disconnect() {
    if (!connected_) return;
    SocketPacket goodbye{.type = SocketType::disconnect};
    send_packet(goodbye);
    leave_namespace();
    fail(CloseReason::server_disconnect, "disconnected by the server");
}

bool SocketIoConnection::send_packet(SocketPacket const& packet, std::vector<std::string> attachments) {
    std::string text(1, static_cast<char>(EngineType::message));
    append_socket_packet(text, packet);
    std::vector<OutFrame> frames;
    frames.reserve(1 + attachments.size());
    frames.push_back(OutFrame::text(std::move(text)));
    for (auto& bytes : attachments) frames.push_back(OutFrame::binary_data(std::move(bytes)));
    return engine_.send(std::move(frames));
}

Ack SocketIoConnection::make_ack(std::optional<std::uint64_t> id) {
    if (!id) return Ack();
    return Ack([weak = weak_from_this(), id = *id](boost::json::array args, std::vector<std::string> attachments) {
        auto self = weak.lock();
        if (!self || !self->connected_) return;
        SocketPacket packet{.type = attachments.empty() ? SocketType::ack : SocketType::binary_ack,
                            .id = id,
                            .attachments = attachments.size(),
                            .data = std::move(args)};
        self->send_packet(packet, std::move(attachments));
    });
}

Task<> SocketIoConnection::dispatch() {
    // Runs while there is work (and, before the CONNECT, until its deadline), then ends: an idle
    // connection keeps no dispatcher frame or timer wait. wake_dispatcher() starts it again.
    struct Done {
        bool& dispatching;
        ~Done() { dispatching = false; }
    } done{dispatching_};
    for (;;) {
        if (engine_.is_closed()) co_return;
        if (hooks_due_) {
            hooks_due_ = false;
            for (auto const& hook : shared_.connect_hooks) {
                Task<> work = run_hook(hook, shared_from_this());
                co_await std::move(work);
            }
            continue;
        }
        if (!inbound_.empty()) {
            Inbound next = std::move(inbound_.front());
            inbound_.erase(inbound_.begin());
            Task<> work = handle(std::move(next));
            co_await std::move(work);
            continue;
        }
        if (ever_connected_) {
            dispatch_wake_.reset();  // only the wait for the CONNECT needs it
            co_return;               // idle
        }
        if (std::chrono::steady_clock::now() >= connect_deadline_) {
            fail(CloseReason::server_disconnect, "no CONNECT in time");
            co_return;
        }
        dispatch_wake_->expires_at(connect_deadline_);
        co_await dispatch_wake_->async_wait(use_result);  // cancelled when a packet arrives or the session closes
    }
}

Task<> SocketIoConnection::handle(Inbound inbound) {
    Ack ack = make_ack(inbound.ack_id);
    std::string const name = inbound.event.name;
    auto self = shared_from_this();
    if (name == "join" || name == "leave") {
        shared_.metrics.events.at(name)->add();
        Task<> work = name == "join" ? join_room(self, shared_, std::move(inbound.event), ack)
                                     : leave_room(self, shared_, std::move(inbound.event), ack);
        co_await std::move(work);
        co_return;
    }
    auto it = shared_.handlers.find(name);
    if (it == shared_.handlers.end()) {
        shared_.metrics.unknown_events->add();
        ack.fail(Error(Errc::not_found, fmt::format("no event named '{}'", name.substr(0, 64))));
        co_return;
    }
    shared_.metrics.events.at(name)->add();
    try {
        Task<> work = it->second(self, std::move(inbound.event), ack);
        co_await std::move(work);
    } catch (std::exception const& e) {
        log().error("event {} failed: {}", name, e.what());
        ack.fail(Error(Errc::internal, "internal error"));
    }
}

void SocketIoConnection::on_event(EventPtr const& event) {
    if (!event->except.empty() && event->except == socket_id_) return;  // this socket caused it
    // The event's own encoding, shared with every other socket in the room. An overflow closes the
    // session (slow_consumer), which releases the subscriber.
    engine_.send(OutFrame{std::shared_ptr<std::string const>(event, &event->socketio_frame()), false});
}

void SocketIoConnection::on_end(Subscriber::End why) {
    if (why == Subscriber::End::closed) fail(CloseReason::server_shutdown, "the hub closed");
}

}  // namespace onda::realtime::detail
