#include "realtime/detail/socketio_transport.hpp"

#include <array>
#include <charconv>
#include <span>
#include <type_traits>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include "auth/identity.hpp"
#include "http/websocket.hpp"
#include "realtime/detail/socketio_connection.hpp"

namespace onda::realtime::detail {
namespace {

using Clock = std::chrono::steady_clock;
using Pulled = EngineIoSession::Pulled;

// A polling POST carries at most this many packets (each at least one byte and a separator, so a
// body within maxPayload would allow half a million).
constexpr std::size_t max_packets_per_post = 1024;

http::Response text(std::string body, std::string content_type = "text/plain; charset=UTF-8") {
    http::Response response(200);
    response.add_header("Content-Type", std::move(content_type));
    response.set_text(std::move(body));
    return response;
}

Error unknown_session() { return Error(Errc::invalid_argument, "Session ID unknown"); }

std::string make_sid(std::size_t worker) { return random_id() + "-" + std::to_string(worker); }

std::shared_ptr<SocketIoConnection> find(SocketIoShared& shared, std::size_t worker, std::string const& sid) {
    auto& table = shared.threads[worker].by_sid;
    auto it = table.find(sid);
    if (it == table.end()) return nullptr;
    auto connection = it->second.lock();
    if (!connection) table.erase(it);
    return connection;
}

// Runs `task` on the thread that owns the sessions of `worker` and resumes here with its result.
// Already there (a WebSocket opened on the session's own thread, the usual case): it just runs.
template <class T>
Task<T> on_owner(SocketIoShared& shared, std::size_t worker, Task<T> task) {
    auto const here = co_await net::this_coro::executor;
    if (here == shared.threads[worker].executor) co_return co_await std::move(task);
    auto spawned = net::co_spawn(shared.threads[worker].executor, std::move(task), use_task);
    co_return co_await std::move(spawned);
}

// On the owner thread: fn(session), or "Session ID unknown". `fn` is a plain function object.
template <class Fn>
Task<std::invoke_result_t<Fn&, SocketIoConnection&>> with_session_there(SocketIoShared& shared, std::size_t worker,
                                                                        std::string sid, Fn fn) {
    auto connection = find(shared, worker, sid);
    if (!connection) co_return unknown_session();
    co_return fn(*connection);
}

template <class Fn>
Task<std::invoke_result_t<Fn&, SocketIoConnection&>> with_session(SocketIoShared& shared, std::size_t worker,
                                                                  std::string sid, Fn fn) {
    using R = std::invoke_result_t<Fn&, SocketIoConnection&>;
    Task<R> there = with_session_there(shared, worker, std::move(sid), std::move(fn));
    Task<R> hop = on_owner(shared, worker, std::move(there));
    co_return co_await std::move(hop);
}

Task<Result<Pulled>> pull_there(SocketIoShared& shared, std::size_t worker, std::string sid, Transport via,
                                Clock::time_point deadline) {
    auto connection = find(shared, worker, sid);
    if (!connection) co_return unknown_session();
    Task<Result<Pulled>> pulling = connection->engine().pull(via, deadline);
    co_return co_await std::move(pulling);
}

Task<Result<Pulled>> pull(SocketIoShared& shared, std::size_t worker, std::string sid, Transport via,
                          Clock::time_point deadline) {
    // On the owner thread already (a long-poll on the session's own thread): pull there directly,
    // two frames fewer while the GET is held.
    auto const here = co_await net::this_coro::executor;
    if (here == shared.threads[worker].executor) {
        auto connection = find(shared, worker, sid);
        if (!connection) co_return unknown_session();
        Task<Result<Pulled>> pulling = connection->engine().pull(via, deadline);
        co_return co_await std::move(pulling);
    }
    Task<Result<Pulled>> there = pull_there(shared, worker, std::move(sid), via, deadline);
    Task<Result<Pulled>> hop = on_owner(shared, worker, std::move(there));
    co_return co_await std::move(hop);
}

Task<> close_session(SocketIoShared& shared, std::size_t worker, std::string sid, CloseReason reason) {
    auto close = [reason](SocketIoConnection& connection) -> Result<void> {
        connection.engine().close(reason);
        return ok();
    };
    Task<Result<void>> closing = with_session(shared, worker, std::move(sid), close);
    co_await std::move(closing);  // a session already gone needs no closing
}

// A polling answer: the frames as one payload, then a close packet when the session is over, or a
// noop when the long-poll ended with nothing to say.
http::Response payload_response(Pulled const& pulled) {
    std::string body;
    for (auto const& frame : pulled.frames) append_engine_payload(body, *frame.bytes, frame.binary);
    if (pulled.closed) append_engine_payload(body, encode_engine_text(EngineType::close), false);
    if (body.empty()) body = encode_engine_text(EngineType::noop);
    return text(std::move(body));
}

http::WebSocketOptions websocket_options(SocketIoShared const& shared) {
    auto const& engine = shared.options.engine;
    // A live client sends a pong every pingInterval, so silence past interval + timeout means it is
    // gone; the same bound ends a write to a client that stopped reading.
    return http::WebSocketOptions{.max_message_bytes = engine.max_payload,
                                  .handshake_timeout = std::chrono::milliseconds(10'000),
                                  .idle_timeout = engine.ping_interval + engine.ping_timeout};
}

void write_ready(SocketIoShared& shared, std::size_t worker);

}  // namespace

// Writes what the session queues, as the session's Writer. On the session's own thread (the usual
// case) it is written without a task: the session tells the writer, the writer joins the thread's
// list of ready WebSockets, and one pass after the current handler (write_ready) sends each one's
// queued frames with a single non-blocking write. Whatever the thread queues meanwhile (the rest of
// a hub delivery) goes out in the same write. Only when a socket cannot take everything now (a
// slow reader), when the session closes, or on another thread (a WebSocket that upgraded a polling
// session of another thread) does a task take over: it takes everything queued, writes it with one
// gathered write (a message per frame) and takes again, until nothing is left. An idle WebSocket
// has no writer task, no frame and no timer. Once the session is over the task closes the
// WebSocket with the reason's code (or drops it after a failed write) and the writer is finished.
class WebSocketWriter final : public EngineIoSession::Writer {
public:
    WebSocketWriter(SocketIoShared& shared, std::size_t worker, http::WebSocket& ws, net::any_io_executor executor)
        : shared_(shared),
          worker_(worker),
          ws_(ws),
          executor_(std::move(executor)),
          at_home_(executor_ == shared.threads[worker].executor) {}

    // On the session's thread, with the session attached.
    void attach(SocketIoConnection& connection) {
        connection_ = connection.weak_from_this();
        connection.engine().set_writer(this);
    }

    void frames_ready() override {
        auto connection = connection_.lock();
        if (!connection) return;  // being destroyed: its thread is going away
        // A closed session's last reference (its heartbeat's) is already on its way out: the task
        // holds it until the WebSocket is closed. An open one stays alive until the pass, which runs
        // before anything that closes it later could release it.
        if (!at_home_ || connection->engine().is_closed()) return start_task(std::move(connection));
        auto& home = shared_.threads[worker_];
        home.ready.emplace_back(this, connection_);
        if (!home.ready_pass_posted) {
            home.ready_pass_posted = true;
            net::post(home.executor, [&shared = shared_, worker = worker_] { write_ready(shared, worker); });
        }
    }

    // From write_ready(), on the session's thread: sends the queued frames now if the socket takes
    // them, else hands over to the task. The writer is alive: it was told and is not idle since, so
    // it is not finished.
    void write_now(std::shared_ptr<SocketIoConnection> connection) {
        constexpr std::size_t max_messages = http::WebSocket::max_write_now_messages;
        auto& engine = connection->engine();
        auto const frames = engine.queued();
        if (engine.is_closed() || frames.size() > max_messages) return start_task(std::move(connection));
        std::array<http::OutgoingMessage, max_messages> messages;
        for (std::size_t i = 0; i < frames.size(); ++i)
            messages[i] = http::OutgoingMessage{.data = *frames[i].bytes, .binary = frames[i].binary};
        switch (ws_.write_now(std::span(messages.data(), frames.size()))) {
        case http::WebSocket::Immediate::sent: engine.sent_queued(false); return;
        case http::WebSocket::Immediate::owed: engine.sent_queued(true); return start_task(std::move(connection));
        case http::WebSocket::Immediate::not_taken: return start_task(std::move(connection));
        }
    }

    // The reader's last step: the writer has closed (or dropped) the WebSocket. The session must be
    // closed already, so the writer has been told.
    Task<> finished() {
        while (!finished_) {
            if (!done_) done_ = std::make_unique<net::steady_timer>(executor_);
            done_->expires_at(Clock::time_point::max());
            co_await done_->async_wait(use_result);
        }
    }

private:
    void start_task(std::shared_ptr<SocketIoConnection> connection) {
        spawn(executor_, write_queued(*this, std::move(connection)), "socket.io websocket writer");
    }

    static Task<Pulled> take_there(std::shared_ptr<SocketIoConnection> connection) {
        co_return connection->engine().take();
    }

    Task<Pulled> take(std::shared_ptr<SocketIoConnection> const& connection) {
        Task<Pulled> there = take_there(connection);
        Task<Pulled> hop = on_owner(shared_, worker_, std::move(there));
        co_return co_await std::move(hop);
    }

    // `writer` outlives the task: the reader waits for finished() before it ends.
    // The writer's reference may be the session's last: it is dropped on the session's own thread,
    // where every member of the session lives (the WebSocket's thread is another one after an upgrade
    // from polling).
    void release_at_home(std::shared_ptr<SocketIoConnection> connection) {
        net::post(shared_.threads[worker_].executor,
                  [connection = std::move(connection)]() mutable { connection.reset(); });
    }

    static Task<> write_queued(WebSocketWriter& writer, std::shared_ptr<SocketIoConnection> connection) {
        // Not inline in the send() that told the writer: whatever the thread queues meanwhile goes
        // out in the same write.
        co_await net::post(writer.executor_, use_task);
        bool clean = true;
        CloseReason why = CloseReason::client_closed;
        try {
            // First what write_now() left owed (an empty write_all() sends just that).
            Task<Result<void>> flushing = writer.ws_.write_all({});
            if (auto flushed = co_await std::move(flushing); !flushed) clean = false;
            while (clean) {
                Task<Pulled> taking = writer.take(connection);
                Pulled pulled = co_await std::move(taking);
                if (pulled.frames.empty() && !pulled.closed) {  // idle: the session tells again
                    writer.release_at_home(std::move(connection));
                    co_return;
                }
                // Views of the pulled frames, which live until the write is done.
                std::vector<http::OutgoingMessage> messages;
                messages.reserve(pulled.frames.size());
                for (auto const& frame : pulled.frames)
                    messages.push_back(http::OutgoingMessage{.data = *frame.bytes, .binary = frame.binary});
                Task<Result<void>> writing = writer.ws_.write_all(messages);
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
            Task<Result<void>> closing = writer.ws_.close(close_code_for(why), close_reason_name(why));
            co_await std::move(closing);
        } else {
            writer.ws_.abort();  // the reader must not wait for a peer this side can no longer write to
        }
        writer.finished_ = true;
        if (writer.done_) writer.done_->cancel();
    }

    SocketIoShared& shared_;
    std::size_t worker_;
    http::WebSocket& ws_;
    net::any_io_executor executor_;  // the WebSocket's
    bool at_home_;                   // the WebSocket's thread is the session's
    std::weak_ptr<SocketIoConnection> connection_;
    bool finished_ = false;
    std::unique_ptr<net::steady_timer> done_;  // made when the reader waits for the end
};

namespace {

// The thread's pass over its ready WebSockets (WebSocketWriter::frames_ready). A writer told during
// the pass joins the next one.
void write_ready(SocketIoShared& shared, std::size_t worker) {
    auto& home = shared.threads[worker];
    home.ready_pass_posted = false;
    auto ready = std::move(home.spare_ready);
    ready.swap(home.ready);
    for (auto& [writer, weak] : ready)
        if (auto connection = weak.lock()) writer->write_now(std::move(connection));
    ready.clear();
    home.spare_ready = std::move(ready);
}

// Hands a WebSocket message to its session. Its own coroutine, so that the reader's frame, which
// lives as long as the connection, has no room for what this needs.
Task<Result<void>> deliver(SocketIoShared& shared, std::size_t worker, std::string const& sid,
                           http::WebSocketMessage message) {
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
    Task<Result<void>> delivering = with_session(shared, worker, sid, std::move(hand_over));
    co_return co_await std::move(delivering);
}

// The WebSocket of an open session: reads here, and writes with a WebSocketWriter, until either side
// ends.
Task<> run_websocket(SocketIoShared& shared, std::size_t worker, std::string sid, http::WebSocket& ws) {
    auto const executor = co_await net::this_coro::executor;
    WebSocketWriter writer(shared, worker, ws, executor);
    auto attach = [&writer](SocketIoConnection& connection) -> Result<void> {
        writer.attach(connection);
        return ok();
    };
    Task<Result<void>> attaching = with_session(shared, worker, sid, attach);
    if (auto attached = co_await std::move(attaching); !attached) {
        Task<Result<void>> closing = ws.close(close_code_for(CloseReason::client_closed), "the session is gone");
        co_await std::move(closing);
        co_return;
    }
    CloseReason why = CloseReason::client_closed;
    for (;;) {
        Task<Result<http::WebSocketMessage>> reading = ws.read();
        auto message = co_await std::move(reading);
        if (!message) {
            if (message.error().code() == Errc::too_large) why = CloseReason::too_large;
            if (message.error().code() == Errc::timeout) why = CloseReason::ping_timeout;
            break;
        }
        Task<Result<void>> delivering = deliver(shared, worker, sid, std::move(*message));
        if (auto delivered = co_await std::move(delivering); !delivered) break;
    }
    Task<> closing = close_session(shared, worker, sid, why);
    co_await std::move(closing);
    Task<> ending = writer.finished();
    co_await std::move(ending);
}

// Not a coroutine (one frame fewer per connection): makes the session, then its WebSocket task owns
// the one copy of the sid. Called on the connection's thread, which is the session's.
Task<> run_new_websocket(SocketIoShared& shared, Opening opening, http::WebSocket& ws) {
    std::size_t const worker = opening.worker;
    std::string sid = make_sid(worker);
    auto connection = std::make_shared<SocketIoConnection>(shared, sid, Transport::websocket,
                                                           shared.threads[worker].executor, std::move(opening));
    shared.threads[worker].by_sid.emplace(sid, connection);
    connection->start();  // its heartbeat keeps it alive from here
    return run_websocket(shared, worker, std::move(sid), ws);
}

// The WebSocket that upgrades polling session `sid`: "2probe" -> "3probe", then "5".
Task<> run_upgrade(SocketIoShared& shared, std::size_t worker, std::string sid, http::WebSocket& ws) {
    auto begin = [](SocketIoConnection& connection) { return connection.engine().begin_probe(); };
    Task<Result<void>> beginning = with_session(shared, worker, sid, begin);
    if (auto begun = co_await std::move(beginning); !begun) {
        Task<Result<void>> refusing = ws.close(1008, begun.error().message());
        co_await std::move(refusing);
        co_return;
    }
    for (;;) {
        Task<Result<http::WebSocketMessage>> reading = ws.read();
        auto message = co_await std::move(reading);
        if (!message || message->binary) break;
        if (message->data == "2probe") {
            Task<Result<void>> answering = ws.write("3probe", false);
            if (auto answered = co_await std::move(answering); !answered) break;
            auto probed = [](SocketIoConnection& connection) -> Result<void> {
                connection.engine().probe_received();
                return ok();
            };
            Task<Result<void>> telling = with_session(shared, worker, sid, probed);
            if (auto told = co_await std::move(telling); !told) break;
            continue;
        }
        if (message->data != "5") break;
        auto complete = [](SocketIoConnection& connection) -> Result<void> {
            auto upgraded = connection.engine().complete_upgrade();
            if (upgraded) connection.upgraded();
            return upgraded;
        };
        Task<Result<void>> completing = with_session(shared, worker, sid, complete);
        if (auto completed = co_await std::move(completing); !completed) break;
        Task<> running = run_websocket(shared, worker, sid, ws);
        co_await std::move(running);
        co_return;
    }
    // The probe failed (the client went away or sent something else): polling carries on.
    auto abort = [](SocketIoConnection& connection) -> Result<void> {
        connection.engine().abort_probe();
        return ok();
    };
    Task<Result<void>> aborting = with_session(shared, worker, sid, abort);
    co_await std::move(aborting);
    Task<Result<void>> closing = ws.close(1002, "expected 2probe then 5");
    co_await std::move(closing);
}

}  // namespace

std::optional<std::size_t> owner_of(std::string_view sid, std::size_t threads) {
    auto const dash = sid.rfind('-');
    if (dash == std::string_view::npos || dash + 1 >= sid.size()) return std::nullopt;
    auto const digits = sid.substr(dash + 1);
    std::size_t worker = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), worker);
    if (ec != std::errc{} || end != digits.data() + digits.size() || worker >= threads) return std::nullopt;
    return worker;
}

Task<http::Response> open_polling(SocketIoShared& shared, http::Request& request) {
    std::size_t const worker = request.worker();
    std::string const sid = make_sid(worker);
    auto connection = std::make_shared<SocketIoConnection>(
        shared, sid, Transport::polling, shared.threads[worker].executor,
        Opening{auth::Authenticator::token_of(request), request.remote_address(), worker});
    shared.threads[worker].by_sid.emplace(sid, connection);
    connection->start();
    // The open packet is queued already: this pull returns it at once.
    Task<Result<Pulled>> pulling = connection->engine().pull(Transport::polling, Clock::now());
    auto pulled = co_await std::move(pulling);
    if (!pulled) co_return http::error_response(pulled.error());
    co_return payload_response(*pulled);
}

Task<http::Response> poll(SocketIoShared& shared, http::Request&, std::string sid) {
    auto const worker = owner_of(sid, shared.threads.size());
    if (!worker) co_return http::error_response(unknown_session());
    auto const& engine = shared.options.engine;
    // A ping is queued every pingInterval, so a held GET ends by then; the deadline is a backstop.
    auto const deadline = Clock::now() + engine.ping_interval + engine.ping_timeout;
    Task<Result<Pulled>> pulling = pull(shared, *worker, std::move(sid), Transport::polling, deadline);
    auto pulled = co_await std::move(pulling);
    if (!pulled) co_return http::error_response(pulled.error());
    co_return payload_response(*pulled);
}

Task<http::Response> post(SocketIoShared& shared, http::Request& request, std::string sid) {
    auto const worker = owner_of(sid, shared.threads.size());
    if (!worker) co_return http::error_response(unknown_session());
    Task<Result<std::string>> reading = request.read_body(shared.options.engine.max_payload);
    auto body = co_await std::move(reading);
    if (!body) {
        // Engine.IO: a payload past maxPayload ends the session.
        if (body.error().code() == Errc::too_large) {
            Task<> closing = close_session(shared, *worker, sid, CloseReason::too_large);
            co_await std::move(closing);
        }
        co_return http::error_response(body.error());
    }
    auto packets = decode_engine_payload(*body, max_packets_per_post);
    if (!packets) {
        Task<> closing = close_session(shared, *worker, sid, CloseReason::protocol_error);
        co_await std::move(closing);
        co_return http::error_response(packets.error());
    }
    auto receive = [packets = std::move(*packets)](SocketIoConnection& connection) mutable -> Result<void> {
        auto& engine = connection.engine();
        if (engine.transport() != Transport::polling)
            return Error(Errc::invalid_argument, "the session has moved to its WebSocket");
        for (auto& packet : packets) {
            if (engine.is_closed()) break;
            if (auto received = engine.receive(std::move(packet)); !received) return received;
        }
        return ok();
    };
    Task<Result<void>> receiving = with_session(shared, *worker, std::move(sid), std::move(receive));
    if (auto received = co_await std::move(receiving); !received) co_return http::error_response(received.error());
    co_return text("ok", "text/html");
}

http::Response open_websocket(SocketIoShared& shared, http::Request& request) {
    Opening opening{auth::Authenticator::token_of(request), request.remote_address(), request.worker()};
    auto session = [&shared, opening = std::move(opening)](http::WebSocket& ws) {
        return run_new_websocket(shared, opening, ws);
    };
    return http::accept_websocket(session, websocket_options(shared));
}

Task<http::Response> upgrade(SocketIoShared& shared, http::Request&, std::string sid) {
    auto const worker = owner_of(sid, shared.threads.size());
    if (!worker) co_return http::error_response(unknown_session());
    // Only an open polling session can be upgraded; anything else is refused before the 101.
    auto check = [](SocketIoConnection& connection) -> Result<void> {
        auto const& engine = connection.engine();
        if (engine.is_closed() || engine.transport() != Transport::polling)
            return Error(Errc::invalid_argument, "the session cannot be upgraded");
        return ok();
    };
    Task<Result<void>> checking = with_session(shared, *worker, sid, check);
    if (auto checked = co_await std::move(checking); !checked) co_return http::error_response(checked.error());
    auto session = [&shared, worker = *worker, sid = std::move(sid)](http::WebSocket& ws) {
        return run_upgrade(shared, worker, sid, ws);
    };
    co_return http::accept_websocket(session, websocket_options(shared));
}

}  // namespace onda::realtime::detail
