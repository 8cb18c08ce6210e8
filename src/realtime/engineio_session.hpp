// One Engine.IO v4 session (https://socket.io/docs/v4/engine-io-protocol/), whatever carries it:
// the send queue, the heartbeat, the upgrade from long-polling to WebSocket, and closing. Transports
// are thin: they pull() queued frames and write them (a polling GET answers with one batch, a
// WebSocket writes them one message each) and hand what the client sends to receive(). The layer
// above (Socket.IO) gets message packets and the close through its Listener.
//
// Heartbeat (protocol "Heartbeat"): ping_interval after the session opens, and after each pong, it
// queues a ping; a client that has not answered with a pong ping_timeout later is gone, and the
// session closes (ping_timeout). The thread's Heartbeats (heartbeats.hpp) keeps the time for all of
// its sessions with one timer.
//
// Upgrade (protocol "Upgrade"): a WebSocket opens with the sid (begin_probe), the client sends
// "2probe" there and gets "3probe" (probe_received: a held GET is answered at once, with a noop if
// nothing is queued, and later GETs are not held, so the client can pause polling), then "5"
// (complete_upgrade): from then on the WebSocket pulls the queue, and polling requests are refused.
//
// Backpressure (STYLE.md "realtime outbox"): at most max_queued_frames frames or max_queued_bytes
// bytes wait; one more closes the session (slow_consumer). Nothing a client does makes it grow
// past that.
//
// Writing: a polling GET pull()s; a WebSocket registers a Writer instead, which the session tells
// when there is something to write, and which then take()s it: an idle WebSocket has no task
// waiting for frames. A writer on the session's own thread may instead send the queued() frames at
// once and drop them with sent().
//
// Threads: everything runs on the session's executor (its owner thread); transports on other
// threads reach it with co_spawn. Not copyable; the owner keeps it alive while tasks use it (or
// hands the heartbeat a keep-alive).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list_hook.hpp>

#include "core/error.hpp"
#include "core/task.hpp"
#include "realtime/engineio_packet.hpp"

namespace onda::realtime {

class Heartbeats;

struct EngineOptions {
    std::chrono::milliseconds ping_interval{25'000};
    std::chrono::milliseconds ping_timeout{20'000};
    std::size_t max_payload = 1'000'000;  // bytes of one message or polling request body (handshake maxPayload)
    std::size_t max_queued_frames = 1024;
    std::size_t max_queued_bytes = 8 * 1024 * 1024;
};

enum class Transport { polling, websocket };
std::string_view transport_name(Transport transport);

// Why a session ended: for logs and metrics.
enum class CloseReason {
    client_closed,      // the client sent close, or its WebSocket went away
    ping_timeout,       // no pong in time
    slow_consumer,      // the send queue overflowed
    protocol_error,     // a malformed or misplaced packet
    flood,              // events arriving faster than they may, beyond the rate limit
    too_large,          // a message past max_payload
    server_shutdown,    // the server is stopping
    server_disconnect,  // the server ended this client (e.g. never connected to a namespace)
};
std::string_view close_reason_name(CloseReason reason);
// The WebSocket close code (RFC 6455 §7.4.1) that tells a client why: 1013 (try again later) for a
// slow consumer, 1002 for a protocol error, 1009 for a message too big, 1001 when the server goes
// away, 1008 for a flood, 1000 otherwise.
std::uint16_t close_code_for(CloseReason reason);

// One encoded Engine.IO packet as it goes out: the text form ("42[…]") or, binary, the raw bytes.
// Shared and immutable, so one frame can sit in many queues.
struct OutFrame {
    std::shared_ptr<std::string const> bytes;
    bool binary = false;

    static OutFrame text(std::string frame) { return {std::make_shared<std::string const>(std::move(frame)), false}; }
    static OutFrame binary_data(std::string bytes) {
        return {std::make_shared<std::string const>(std::move(bytes)), true};
    }
};

class EngineIoSession {
public:
    class Listener {
    public:
        virtual ~Listener() = default;
        // A message packet from the client (text, or binary with packet.binary), in order.
        virtual void on_message(EnginePacket packet) = 0;
        // Once, when the session closes for any reason; nothing is sent after it.
        virtual void on_close(CloseReason reason) = 0;
    };

    // What a WebSocket transport writes with (see "Writing" above).
    class Writer {
    public:
        virtual ~Writer() = default;
        // Frames were queued, or the session closed, while the writer was idle: it should take()
        // until take() finds nothing (which makes it idle again) or the session closed, or send the
        // queued() frames at once and call sent(). On the session's thread; not again until
        // the writer is idle.
        virtual void frames_ready() = 0;
    };

    // `options` and `listener` must outlive the session.
    EngineIoSession(std::string sid, Transport transport, EngineOptions const& options, net::any_io_executor executor,
                    Listener& listener);
    ~EngineIoSession();
    EngineIoSession(EngineIoSession const&) = delete;
    EngineIoSession& operator=(EngineIoSession const&) = delete;

    std::string const& sid() const { return sid_; }
    Transport transport() const { return transport_; }
    bool is_closed() const { return closed_; }
    net::any_io_executor const& executor() const { return executor_; }

    // Queues frames, in order, all or none. False when the session is closed, or when they overflow
    // the queue (which closes it: slow_consumer).
    bool send(std::vector<OutFrame> frames);
    bool send(OutFrame frame);

    // Pings, and closes the session when a pong is late, with the thread's `heartbeats` (made with
    // the same options, on this executor). `keep_alive` (e.g. the owner's shared_ptr) is held until
    // the session closes, or until `heartbeats` goes at shutdown. Once.
    void start_heartbeat(Heartbeats& heartbeats, std::shared_ptr<void> keep_alive);

    struct Pulled {
        std::vector<OutFrame> frames;
        bool closed = false;  // the session is over: polling answers with a close packet, a WebSocket closes
        CloseReason reason = CloseReason::client_closed;  // why, when closed
    };
    // Waits until frames are queued, the session closes, or `deadline`, and takes what is queued.
    // `via` is the asking transport: a polling pull after the upgrade gets a noop (the GET that was
    // held across it) or, once that was answered, invalid_argument. One pull per transport at a time:
    // a second one is a protocol error (two GETs at once) and closes the session.
    Task<Result<Pulled>> pull(Transport via, std::chrono::steady_clock::time_point deadline);

    // The WebSocket's writer (nullptr: none). Told at once when something is queued already. The
    // writer must stay alive until it is reset or the session is closed.
    void set_writer(Writer* writer);
    // For the writer: what is queued, without waiting. Nothing (and not closed) makes it idle.
    Pulled take();
    // For a writer that sends without waiting: the queued frames, left in the queue. Once the first
    // `count` of them are sent (in the socket, or owed by the WebSocket), sent() drops them, keeping
    // the queue's memory for the next ones, and unless `still_busy` (the writer carries on: frames
    // are left, or bytes the socket did not take) makes the writer idle, which needs the queue
    // empty: the next send tells it again. Not for a closed session: take() says so.
    std::span<OutFrame const> queued() const { return queue_; }
    void sent(std::size_t count, bool still_busy);

    // A packet from the client over the current transport. An error closes the session
    // (protocol_error) and says why.
    Result<void> receive(EnginePacket packet);

    // The upgrade steps (see above). begin_probe: invalid_argument unless polling, open and not
    // already probing.
    Result<void> begin_probe();
    void probe_received();
    Result<void> complete_upgrade();
    void abort_probe();

    // Ends the session (idempotent): wakes pulls and the heartbeat, tells the listener once.
    void close(CloseReason reason);

    std::size_t queued_frames() const { return queue_.size(); }
    std::size_t queued_bytes() const { return queued_bytes_; }

private:
    friend class Heartbeats;
    using HeartbeatHook = boost::intrusive::list_member_hook<>;

    // The open packet: 0{"sid":…,"upgrades":[…],"pingInterval":…,"pingTimeout":…,"maxPayload":…}.
    // It is queued at construction, so a transport's first pull sends it.
    std::string handshake() const;
    void wake();
    bool has_noop_for(Transport via) const;
    void send_ping();

    std::string sid_;
    Transport transport_;
    EngineOptions const& options_;
    net::any_io_executor executor_;
    Listener& listener_;

    std::vector<OutFrame> queue_;
    std::size_t queued_bytes_ = 0;
    bool closed_ = false;
    CloseReason close_reason_ = CloseReason::client_closed;
    bool probing_ = false;
    bool noop_owed_ = false;  // a held polling GET must end now (probe or upgrade)
    bool awaiting_pong_ = false;
    bool polling_waiting_ = false;
    bool websocket_waiting_ = false;
    bool writer_busy_ = false;  // told frames_ready() and not idle since
    Writer* writer_ = nullptr;
    // Separate timers: changing one's expiry cancels its waits, so two pulls must not share one.
    // Made by the first pull that waits: a WebSocket with a writer never needs one.
    std::unique_ptr<net::steady_timer> polling_wake_;
    std::unique_ptr<net::steady_timer> websocket_wake_;

    // The heartbeat, kept by the thread's Heartbeats: its list entry and when its ping (or, awaiting
    // a pong, the pong) is due.
    HeartbeatHook heartbeat_hook_;
    Heartbeats* heartbeats_ = nullptr;
    std::chrono::steady_clock::time_point heartbeat_deadline_{};
    std::shared_ptr<void> keep_alive_;
};

}  // namespace onda::realtime
