#include "realtime/engineio_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "realtime/heartbeats.hpp"

namespace onda::realtime {
namespace {

using Clock = std::chrono::steady_clock;

// The small control frames, shared by every session (the reference counts are atomic).
OutFrame const& ping_frame() {
    static OutFrame const frame = OutFrame::text(encode_engine_text(EngineType::ping));
    return frame;
}

OutFrame const& noop_frame() {
    static OutFrame const frame = OutFrame::text(encode_engine_text(EngineType::noop));
    return frame;
}

}  // namespace

std::string_view transport_name(Transport transport) {
    return transport == Transport::polling ? "polling" : "websocket";
}

std::string_view close_reason_name(CloseReason reason) {
    switch (reason) {
    case CloseReason::client_closed: return "client_closed";
    case CloseReason::ping_timeout: return "ping_timeout";
    case CloseReason::slow_consumer: return "slow_consumer";
    case CloseReason::protocol_error: return "protocol_error";
    case CloseReason::flood: return "flood";
    case CloseReason::too_large: return "too_large";
    case CloseReason::server_shutdown: return "server_shutdown";
    case CloseReason::server_disconnect: return "server_disconnect";
    }
    return "unknown";
}

std::uint16_t close_code_for(CloseReason reason) {
    switch (reason) {
    case CloseReason::slow_consumer: return 1013;
    case CloseReason::protocol_error: return 1002;
    case CloseReason::too_large: return 1009;
    case CloseReason::server_shutdown: return 1001;
    case CloseReason::flood: return 1008;
    case CloseReason::client_closed:
    case CloseReason::ping_timeout:
    case CloseReason::server_disconnect: break;
    }
    return 1000;
}

EngineIoSession::EngineIoSession(std::string sid, Transport transport, EngineOptions const& options,
                                 net::any_io_executor executor, Listener& listener)
    : sid_(std::move(sid)),
      transport_(transport),
      options_(options),
      executor_(std::move(executor)),
      listener_(listener) {
    send(OutFrame::text(handshake()));
}

EngineIoSession::~EngineIoSession() {
    if (heartbeats_) heartbeats_->leave(*this);
}

std::string EngineIoSession::handshake() const {
    boost::json::array upgrades;
    if (transport_ == Transport::polling) upgrades.emplace_back("websocket");
    boost::json::object open{
        {"sid", sid_},
        {"upgrades", std::move(upgrades)},
        {"pingInterval", options_.ping_interval.count()},
        {"pingTimeout", options_.ping_timeout.count()},
        {"maxPayload", options_.max_payload},
    };
    return encode_engine_text(EngineType::open, boost::json::serialize(open));
}

bool EngineIoSession::send(OutFrame frame) {
    // The hub's path, once per event and socket: no vector of one.
    if (closed_) return false;
    std::size_t const bytes = frame.bytes->size();
    if (queue_.size() + 1 > options_.max_queued_frames || queued_bytes_ + bytes > options_.max_queued_bytes) {
        close(CloseReason::slow_consumer);
        return false;
    }
    queue_.push_back(std::move(frame));
    queued_bytes_ += bytes;
    wake();
    return true;
}

bool EngineIoSession::send(std::vector<OutFrame> frames) {
    if (closed_) return false;
    std::size_t bytes = 0;
    for (auto const& frame : frames) bytes += frame.bytes->size();
    if (queue_.size() + frames.size() > options_.max_queued_frames ||
        queued_bytes_ + bytes > options_.max_queued_bytes) {
        close(CloseReason::slow_consumer);
        return false;
    }
    for (auto& frame : frames) queue_.push_back(std::move(frame));
    queued_bytes_ += bytes;
    wake();
    return true;
}

void EngineIoSession::wake() {
    if (polling_waiting_) polling_wake_->cancel();
    if (websocket_waiting_) websocket_wake_->cancel();
    if (writer_ && !writer_busy_ && transport_ == Transport::websocket) {
        writer_busy_ = true;
        writer_->frames_ready();
    }
}

void EngineIoSession::set_writer(Writer* writer) {
    writer_ = writer;
    writer_busy_ = false;
    if (writer_ && (!queue_.empty() || closed_)) wake();
}

EngineIoSession::Pulled EngineIoSession::take() {
    Pulled pulled;
    pulled.frames.swap(queue_);
    queued_bytes_ = 0;
    pulled.closed = closed_;
    pulled.reason = close_reason_;
    if (pulled.frames.empty() && !closed_) writer_busy_ = false;  // idle: the next send tells it again
    return pulled;
}

void EngineIoSession::sent(std::size_t count, bool still_busy) {
    ONDA_ASSERT(!closed_, "a closed session's writer takes what is left");
    ONDA_ASSERT(count <= queue_.size(), "more frames sent than queued");
    ONDA_ASSERT(still_busy || count == queue_.size(), "an idle writer leaves nothing queued");
    if (count == queue_.size()) {
        queue_.clear();
        queued_bytes_ = 0;
    } else {
        auto const end = queue_.begin() + static_cast<std::ptrdiff_t>(count);
        for (auto it = queue_.begin(); it != end; ++it) queued_bytes_ -= it->bytes->size();
        queue_.erase(queue_.begin(), end);
    }
    if (!still_busy) writer_busy_ = false;
}

bool EngineIoSession::has_noop_for(Transport via) const {
    return via == Transport::polling && (noop_owed_ || probing_);
}

void EngineIoSession::start_heartbeat(Heartbeats& heartbeats, std::shared_ptr<void> keep_alive) {
    if (closed_ || heartbeats_) return;
    keep_alive_ = std::move(keep_alive);
    heartbeats.join(*this);
}

void EngineIoSession::send_ping() { send(ping_frame()); }

Task<Result<EngineIoSession::Pulled>> EngineIoSession::pull(Transport via,
                                                            std::chrono::steady_clock::time_point deadline) {
    bool& waiting = via == Transport::polling ? polling_waiting_ : websocket_waiting_;
    auto& timer = via == Transport::polling ? polling_wake_ : websocket_wake_;
    if (waiting) {
        // Engine.IO: two GETs of one session at once is a broken client; the session ends.
        close(CloseReason::protocol_error);
        co_return Error(Errc::invalid_argument, "a second poll while one is pending");
    }
    for (;;) {
        Pulled pulled;
        if (via != transport_) {
            // The GET held across the upgrade ends with a noop; polling is over after that.
            if (via == Transport::polling && noop_owed_ && !closed_) {
                noop_owed_ = false;
                pulled.frames.push_back(noop_frame());
                co_return pulled;
            }
            co_return Error(Errc::invalid_argument, "the session moved to another transport");
        }
        if (!queue_.empty() || closed_) {
            pulled.frames.swap(queue_);
            queued_bytes_ = 0;
            pulled.closed = closed_;
            pulled.reason = close_reason_;
            noop_owed_ = false;
            co_return pulled;
        }
        if (has_noop_for(via)) {
            // While the client probes a WebSocket, its GETs must end promptly so it can pause polling.
            noop_owed_ = false;
            pulled.frames.push_back(noop_frame());
            co_return pulled;
        }
        if (std::chrono::steady_clock::now() >= deadline) co_return pulled;
        if (!timer) timer = std::make_unique<net::steady_timer>(executor_);
        waiting = true;
        timer->expires_at(deadline);
        co_await timer->async_wait(use_result);  // ends at the deadline or when wake() cancels it
        waiting = false;
    }
}

Result<void> EngineIoSession::receive(EnginePacket packet) {
    if (closed_) return Error(Errc::cancelled, "the session is closed");
    switch (packet.type) {
    case EngineType::message: listener_.on_message(std::move(packet)); return ok();
    case EngineType::pong:
        if (awaiting_pong_) {
            if (heartbeats_) heartbeats_->ponged(*this);  // the next ping is due an interval from now
            awaiting_pong_ = false;
        }
        return ok();
    case EngineType::close: close(CloseReason::client_closed); return ok();
    case EngineType::noop: return ok();
    case EngineType::ping:
        // v4 servers ping, not clients; an old-style client ping is still answered rather than failed.
        send(OutFrame::text(encode_engine_text(EngineType::pong, packet.data)));
        return ok();
    case EngineType::open:
    case EngineType::upgrade: break;
    }
    close(CloseReason::protocol_error);
    return Error(Errc::invalid_argument,
                 fmt::format("unexpected Engine.IO packet type {}", static_cast<char>(packet.type)));
}

Result<void> EngineIoSession::begin_probe() {
    if (closed_) return Error(Errc::invalid_argument, "the session is closed");
    if (transport_ != Transport::polling) return Error(Errc::invalid_argument, "the session is not polling");
    if (probing_) return Error(Errc::invalid_argument, "an upgrade is already being probed");
    probing_ = true;
    return ok();
}

void EngineIoSession::probe_received() {
    if (closed_ || !probing_) return;
    if (polling_waiting_) {
        noop_owed_ = true;
        polling_wake_->cancel();
    }
}

Result<void> EngineIoSession::complete_upgrade() {
    if (closed_) return Error(Errc::cancelled, "the session is closed");
    if (!probing_) return Error(Errc::invalid_argument, "upgrade without a probe");
    probing_ = false;
    transport_ = Transport::websocket;
    if (polling_waiting_) {
        noop_owed_ = true;
        polling_wake_->cancel();
    }
    return ok();
}

void EngineIoSession::abort_probe() { probing_ = false; }

void EngineIoSession::close(CloseReason reason) {
    if (closed_) return;
    closed_ = true;
    close_reason_ = reason;
    probing_ = false;
    // What a server-side disconnect queued (the Socket.IO DISCONNECT) still goes out; in every
    // other case the client is gone or misbehaving, and the memory is better freed now.
    if (reason != CloseReason::server_disconnect) {
        queue_.clear();
        queue_.shrink_to_fit();
        queued_bytes_ = 0;
    }
    if (heartbeats_) heartbeats_->leave(*this);
    if (keep_alive_) {
        // Released later, from the executor: the owner it keeps may be the caller of this close.
        net::post(executor_, [keep_alive = std::move(keep_alive_)] {});
    }
    wake();  // held pulls, and the writer, learn that it is over
    listener_.on_close(reason);
}

}  // namespace onda::realtime
