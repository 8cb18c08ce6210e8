#include "realtime/detail/session_websocket.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

#include "realtime/detail/session_calls.hpp"

namespace onda::realtime::detail {
namespace {

using Clock = std::chrono::steady_clock;
using Pulled = EngineIoSession::Pulled;

// Why a session ends when its WebSocket stopped reading with `why`.
CloseReason close_reason_for(Error const& why) {
    switch (why.code()) {
    case Errc::too_large: return CloseReason::too_large;
    case Errc::timeout: return CloseReason::ping_timeout;  // silence past pingInterval + pingTimeout
    case Errc::invalid_argument: return CloseReason::protocol_error;
    case Errc::internal: return CloseReason::server_disconnect;
    default: return CloseReason::client_closed;
    }
}

// A queued frame as the WebSocket writes it; the frame must outlive the write.
http::OutgoingMessage outgoing(OutFrame const& frame) {
    return http::OutgoingMessage{.data = *frame.bytes, .binary = frame.binary};
}

// A posted pass over a thread's ready WebSockets (write_ready). One that never runs (its thread
// stopped at shutdown) is destroyed by its context while every context still exists, and lets the
// list's sessions go then.
class ReadyPass {
public:
    ReadyPass(SocketIoShared& shared, std::size_t worker) : shared_(&shared), worker_(worker) {}
    ReadyPass(ReadyPass&& other) noexcept : shared_(std::exchange(other.shared_, nullptr)), worker_(other.worker_) {}
    ReadyPass(ReadyPass const&) = delete;
    ReadyPass& operator=(ReadyPass const&) = delete;
    ReadyPass& operator=(ReadyPass&&) = delete;
    ~ReadyPass();

    void operator()();

private:
    SocketIoShared* shared_;  // null once run or moved from
    std::size_t worker_;
};

}  // namespace

// The WebSocket of a session: as its http::WebSocketHandler it hands each message to the session,
// and as the session's Writer it writes what the session queues, until either side ends. One that
// upgrades a polling session answers the probe first ("2probe" -> "3probe", then "5"); if the probe
// fails, polling carries on. The connection reads; an idle WebSocket is this object alone.
//
// Writing: on the session's own thread (the usual case) without a task: the session tells the
// writer, the writer joins the thread's list of ready WebSockets, and one pass (write_ready), once
// the thread's queue has turned over a few times, sends each one's queued frames with a single
// non-blocking write, 256 sockets per handler. Whatever the thread queues meanwhile (the rest of a
// hub delivery, the next events) goes out in the same write. Only when a
// socket cannot take everything now (a slow reader), when the session closes, or on another thread
// (a WebSocket that upgraded a polling session of another thread) does a task take over: it takes
// everything queued, writes it with one gathered write (a message per frame) and takes again, until
// nothing is left. Once the session is over the task closes the WebSocket with the reason's code
// (or drops it after a failed write) and the writer is finished.
class SessionWebSocket final : public http::WebSocketHandler, public EngineIoSession::Writer {
public:
    enum class Stage {
        probing,    // upgrading a polling session: the probe is not done
        attaching,  // about to become the session's writer (in opened(), or once the probe is done)
        attached,   // the session's transport: messages go to it, its frames come here
        over,       // closed already (the session was gone or refused the probe)
    };

    // `connection`: the session, on thread `worker`.
    SessionWebSocket(SocketIoShared& shared, std::size_t worker, std::weak_ptr<SocketIoConnection> connection,
                     Stage stage)
        : shared_(shared), worker_(worker), connection_(std::move(connection)), stage_(stage) {}

    Task<bool> opened(http::WebSocket& ws) override {
        ws_ = &ws;
        if (stage_ == Stage::attaching) {
            Task<bool> attaching = attach();
            co_return co_await std::move(attaching);
        }
        auto begin = [](SocketIoConnection& connection) { return connection.engine().begin_probe(); };
        Task<Result<void>> beginning = with_connection(shared_, worker_, connection_, begin);
        if (auto begun = co_await std::move(beginning); !begun) {
            stage_ = Stage::over;
            Task<Result<void>> refusing = ws.close(1008, begun.error().message());
            co_await std::move(refusing);
            co_return false;
        }
        co_return true;
    }

    Task<bool> received(http::WebSocketMessage message) override {
        if (stage_ == Stage::probing) {
            Task<bool> probing = probe(std::move(message));
            co_return co_await std::move(probing);
        }
        auto hand_over = [message = std::move(message)](SocketIoConnection& connection) mutable -> Result<void> {
            auto& engine = connection.engine();
            if (engine.transport() != Transport::websocket) return Error(Errc::invalid_argument, "not upgraded");
            if (message.binary) return engine.receive(engine_binary(std::move(message.data)));
            auto packet = decode_engine_text(message.data);
            if (!packet) {
                engine.close(CloseReason::protocol_error);
                return packet.error();
            }
            return engine.receive(std::move(*packet));
        };
        Task<Result<void>> delivering = with_connection(shared_, worker_, connection_, std::move(hand_over));
        co_return static_cast<bool>(co_await std::move(delivering));
    }

    Task<> ended(Error why) override {
        if (stage_ == Stage::probing) {
            // The probe failed (the client went away or sent something else): polling carries on.
            auto abort = [](SocketIoConnection& connection) -> Result<void> {
                connection.engine().abort_probe();
                return ok();
            };
            Task<Result<void>> aborting = with_connection(shared_, worker_, connection_, abort);
            co_await std::move(aborting);
            Task<Result<void>> closing = ws_->close(1002, "expected 2probe then 5");
            co_await std::move(closing);
            co_return;
        }
        if (stage_ != Stage::attached) co_return;
        Task<Result<void>> closed = with_connection(shared_, worker_, connection_, closing(close_reason_for(why)));
        co_await std::move(closed);  // a session already gone needs no closing
        Task<> ending = finished();  // the writer closes the WebSocket with the session's reason
        co_await std::move(ending);
    }

    void frames_ready() override {
        auto connection = connection_.lock();
        if (!connection) return;  // being destroyed: its thread is going away
        // A closed session's last reference (its heartbeat's) is already on its way out: the task
        // holds it until the WebSocket is closed. An open one is held by the ready list until the
        // pass: other handlers run before it, and one of them may close the session meanwhile.
        if (!at_home_ || connection->engine().is_closed()) return start_task(std::move(connection));
        join_ready(std::move(connection));
    }

    // From the pass, on the session's thread: sends the queued frames now if the socket takes them,
    // else hands over to the task. One write takes at most max_write_now_messages frames; with more
    // queued, the writer goes back on the list for the rest (a later slice of the pass). The writer
    // is alive: it was told and is not idle since, so it is not finished; the list held the session.
    void write_now(std::shared_ptr<SocketIoConnection> connection) {
        constexpr std::size_t max_messages = http::WebSocket::max_write_now_messages;
        auto& engine = connection->engine();
        if (engine.is_closed()) return start_task(std::move(connection));
        auto const queued = engine.queued();
        auto const frames = queued.first(std::min(queued.size(), max_messages));
        bool const more = frames.size() < queued.size();
        std::array<http::OutgoingMessage, max_messages> messages;
        std::transform(frames.begin(), frames.end(), messages.begin(), outgoing);
        switch (ws_->write_now(std::span(messages.data(), frames.size()))) {
        case http::WebSocket::Immediate::sent:
            engine.sent(frames.size(), more);
            if (more) join_ready(std::move(connection));
            return;
        case http::WebSocket::Immediate::owed:
            engine.sent(frames.size(), true);
            return start_task(std::move(connection));
        case http::WebSocket::Immediate::not_taken: return start_task(std::move(connection));
        }
    }

private:
    // Joins the end of the thread's ready list, holding the session, and posts the pass unless one
    // is posted or under way.
    void join_ready(std::shared_ptr<SocketIoConnection> connection) {
        auto& home = shared_.threads[worker_];
        home.ready.push_back({this, std::move(connection)});
        if (home.ready_pass_posted) return;
        home.ready_pass_posted = true;
        net::post(home.executor, ReadyPass(shared_, worker_));
    }

    // Becomes the session's writer; false (and the WebSocket closed) when the session is gone.
    Task<bool> attach() {
        at_home_ = ws_->executor() == shared_.threads[worker_].executor;
        auto become_writer = [this](SocketIoConnection& connection) -> Result<void> {
            connection.engine().set_writer(this);
            return ok();
        };
        Task<Result<void>> attaching = with_connection(shared_, worker_, connection_, become_writer);
        if (auto attached = co_await std::move(attaching); !attached) {
            stage_ = Stage::over;
            Task<Result<void>> closing = ws_->close(close_code_for(CloseReason::client_closed), "the session is gone");
            co_await std::move(closing);
            co_return false;
        }
        stage_ = Stage::attached;
        co_return true;
    }

    // One message of the probe (protocol "Upgrade"); false ends it.
    Task<bool> probe(http::WebSocketMessage message) {
        if (message.binary) co_return false;
        if (message.data == "2probe") {
            Task<Result<void>> answering = ws_->write("3probe", false);
            if (auto answered = co_await std::move(answering); !answered) co_return false;
            auto probed = [](SocketIoConnection& connection) -> Result<void> {
                connection.engine().probe_received();
                return ok();
            };
            Task<Result<void>> telling = with_connection(shared_, worker_, connection_, probed);
            co_return static_cast<bool>(co_await std::move(telling));
        }
        if (message.data != "5") co_return false;
        auto complete = [](SocketIoConnection& connection) -> Result<void> {
            auto upgraded = connection.engine().complete_upgrade();
            if (upgraded) connection.upgraded();
            return upgraded;
        };
        Task<Result<void>> completing = with_connection(shared_, worker_, connection_, complete);
        if (auto completed = co_await std::move(completing); !completed) co_return false;
        stage_ = Stage::attaching;
        Task<bool> attaching = attach();
        co_return co_await std::move(attaching);
    }

    // The last step of ended(): the writer has closed (or dropped) the WebSocket. The session must
    // be closed already, so the writer has been told.
    Task<> finished() {
        while (!finished_) {
            if (!done_) done_ = std::make_unique<net::steady_timer>(ws_->executor());
            done_->expires_at(Clock::time_point::max());
            co_await done_->async_wait(use_result);
        }
    }

    void start_task(std::shared_ptr<SocketIoConnection> connection) {
        spawn(ws_->executor(), write_queued(*this, std::move(connection)), "socket.io websocket writer");
    }

    static Task<Pulled> take_there(std::shared_ptr<SocketIoConnection> connection) {
        co_return connection->engine().take();
    }

    Task<Pulled> take(std::shared_ptr<SocketIoConnection> const& connection) {
        Task<Pulled> there = take_there(connection);
        Task<Pulled> hop = on_owner(shared_, worker_, std::move(there));
        co_return co_await std::move(hop);
    }

    // The writer's reference may be the session's last: it is dropped on the session's own thread,
    // where every member of the session lives (the WebSocket's thread is another one after an upgrade
    // from polling).
    void release_at_home(std::shared_ptr<SocketIoConnection> connection) {
        net::post(shared_.threads[worker_].executor,
                  [connection = std::move(connection)]() mutable { connection.reset(); });
    }

    // `writer` outlives the task: ended() waits for finished().
    static Task<> write_queued(SessionWebSocket& writer, std::shared_ptr<SocketIoConnection> connection) {
        // Not inline in the send() that told the writer: whatever the thread queues meanwhile goes
        // out in the same write.
        co_await net::post(writer.ws_->executor(), use_task);
        bool clean = true;
        CloseReason why = CloseReason::client_closed;
        try {
            // First what write_now() left owed (an empty write_all() sends just that).
            Task<Result<void>> flushing = writer.ws_->write_all({});
            if (auto flushed = co_await std::move(flushing); !flushed) clean = false;
            while (clean) {
                Task<Pulled> taking = writer.take(connection);
                Pulled pulled = co_await std::move(taking);
                if (pulled.frames.empty() && !pulled.closed) {  // idle: the session tells again
                    writer.release_at_home(std::move(connection));
                    co_return;
                }
                // Views of the pulled frames, which live until the write is done.
                std::vector<http::OutgoingMessage> messages(pulled.frames.size());
                std::transform(pulled.frames.begin(), pulled.frames.end(), messages.begin(), outgoing);
                Task<Result<void>> writing = writer.ws_->write_all(messages);
                if (auto written = co_await std::move(writing); !written) {
                    clean = false;
                    break;
                }
                if (pulled.closed) {
                    why = pulled.reason;
                    break;
                }
            }
        } catch (std::exception const& e) {
            log::error("socket.io websocket writer: {}", e.what());
            clean = false;
        }
        writer.release_at_home(std::move(connection));
        if (clean) {
            Task<Result<void>> closing = writer.ws_->close(close_code_for(why), close_reason_name(why));
            co_await std::move(closing);
        } else {
            writer.ws_->abort();  // the reader must not wait for a peer this side can no longer write to
        }
        writer.finished_ = true;
        if (writer.done_) writer.done_->cancel();
    }

    SocketIoShared& shared_;
    std::size_t worker_;
    std::weak_ptr<SocketIoConnection> connection_;
    Stage stage_;
    bool at_home_ = false;  // the WebSocket's thread is the session's (from attach() on)
    bool finished_ = false;
    http::WebSocket* ws_ = nullptr;
    std::unique_ptr<net::steady_timer> done_;  // made when ended() waits for the writer
};

namespace {

// How many times a posted pass goes to the back of its thread's queue before it writes. An event
// reaches a thread through a chain of handlers (a publisher's message read, its session's handler,
// the hub's post), so events already on their way when the pass was posted join each socket's
// queue first, and one write carries them all: under load, a send per socket carries several
// events instead of one each (docs/benchmarks.md, "session 10"). A turn is one post; on an
// otherwise idle thread the 8 cost a few microseconds.
constexpr unsigned max_ready_pass_turns = 8;

// How many WebSockets the pass writes before it lets the thread's other handlers run (its HTTP
// requests, the next events); at 5-10 microseconds a send on loopback, 256 hold the thread 1-3 ms.
// The rest, and any told meanwhile, follow in the same order.
constexpr std::size_t ready_pass_slice = 256;

// The thread's pass over its ready WebSockets (SessionWebSocket::frames_ready), a slice at a time.
// A writer told during the pass joins its end.
void write_ready(SocketIoShared& shared, std::size_t worker) {
    auto& home = shared.threads[worker];
    if (home.ready_pass_turns < max_ready_pass_turns) {
        ++home.ready_pass_turns;
        return net::post(home.executor, ReadyPass(shared, worker));
    }
    // Each entry is moved out before it is written: the list may grow meanwhile (write_now() puts
    // back a writer with more than one write's worth queued).
    std::size_t const end = std::min(home.ready.size(), home.ready_at + ready_pass_slice);
    while (home.ready_at < end) {
        auto [writer, connection] = std::move(home.ready[home.ready_at++]);
        writer->write_now(std::move(connection));
    }
    if (home.ready_at == home.ready.size()) {
        home.ready.clear();
        home.ready_at = 0;
        home.ready_pass_turns = 0;
        home.ready_pass_posted = false;
        return;
    }
    // While writers keep being told the pass may not reach the end for long: the written part goes
    // once it is most of the list, so the list stays as long as what is left.
    if (home.ready_at > home.ready.size() / 2) {
        home.ready.erase(home.ready.begin(), home.ready.begin() + static_cast<std::ptrdiff_t>(home.ready_at));
        home.ready_at = 0;
    }
    net::post(home.executor, ReadyPass(shared, worker));
}

ReadyPass::~ReadyPass() {
    if (!shared_) return;
    // The thread is over: no pass runs again (ready_pass_posted stays set). The sessions go from a
    // list of their own, in case one's end touches the thread's.
    auto& home = shared_->threads[worker_];
    auto const leftovers = std::move(home.ready);
    home.ready.clear();
    home.ready_at = 0;
    home.ready_pass_turns = 0;
}

void ReadyPass::operator()() { write_ready(*std::exchange(shared_, nullptr), worker_); }

}  // namespace

// A WebSocket that opens a session of its own: makes the session, on the connection's thread
// (which is the session's).
std::unique_ptr<http::WebSocketHandler> new_session_websocket(SocketIoShared& shared, Opening opening) {
    std::size_t const worker = opening.worker;
    std::string sid = make_sid(worker);
    auto connection = std::make_shared<SocketIoConnection>(shared, sid, Transport::websocket,
                                                           shared.threads[worker].executor, std::move(opening));
    shared.threads[worker].by_sid.emplace(std::move(sid), connection);
    connection->start();  // its heartbeat keeps it alive from here
    return std::make_unique<SessionWebSocket>(shared, worker, connection, SessionWebSocket::Stage::attaching);
}

std::unique_ptr<http::WebSocketHandler> upgrading_websocket(SocketIoShared& shared, std::size_t worker,
                                                            std::weak_ptr<SocketIoConnection> connection) {
    return std::make_unique<SessionWebSocket>(shared, worker, std::move(connection), SessionWebSocket::Stage::probing);
}

http::WebSocketOptions websocket_options(SocketIoShared const& shared) {
    auto const& engine = shared.options.engine;
    // A live client sends a pong every pingInterval, so silence past interval + timeout means it is
    // gone; the same bound ends a write to a client that stopped reading.
    return http::WebSocketOptions{.max_message_bytes = engine.max_payload,
                                  .handshake_timeout = std::chrono::milliseconds(10'000),
                                  .idle_timeout = engine.ping_interval + engine.ping_timeout};
}

}  // namespace onda::realtime::detail
