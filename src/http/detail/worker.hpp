// One server thread's state: its io_context, acceptor and live connections. Only that thread
// touches it once the server runs (other threads post to `context`).
#pragma once

#include <chrono>
#include <list>
#include <memory>
#include <string>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/metrics.hpp"
#include "http/server.hpp"

namespace onda::http {

// A connection's socket. Its executor is its thread's io_context's own rather than
// any_io_executor: 8 bytes instead of 56, in the socket and in the work each pending operation keeps.
using Socket = net::basic_stream_socket<net::ip::tcp, net::io_context::executor_type>;

// A connection as its worker sees it. For shutdown: idle ones are closed at once, and so are
// WebSockets (their wait for the peer's bytes is cancelled, and the handler ends). For timeouts: the socket operation a
// connection has under way must end by `deadline`, or the worker's sweep (every sweep_period)
// cancels it and sets `timed_out`, which tells the connection why its operation was aborted. One
// coarse per-thread sweep instead of a timer per connection: arming a deadline is a store, where a
// timer per operation cost a timer-queue insert, a cancel and a second completion per request.
struct ConnectionEntry {
    using Clock = std::chrono::steady_clock;

    Socket* socket = nullptr;
    bool idle = true;
    bool upgraded = false;
    bool timed_out = false;
    bool stopping = false;  // the server is shutting down: a WebSocket's closing handshake waits less
    Clock::time_point deadline = Clock::time_point::max();
    // A WebSocket's write, which may be under way together with its read (whose is `deadline`).
    Clock::time_point write_deadline = Clock::time_point::max();

    void expires_after(std::chrono::milliseconds timeout) {
        deadline = Clock::now() + timeout;
        timed_out = false;
    }
    void expires_never() {
        deadline = Clock::time_point::max();
        timed_out = false;
    }
};

struct HttpMetrics {
    Gauge* open_connections;
    Counter* accepted;
    Counter* bytes_sent;
    Counter* rejected_connections;
};

// A thread's io_context whose shutdown (destroying the handlers and frames still queued) can run
// before it is destroyed. A task one thread spawns onto another's context holds work on both, so the
// server shuts every context down while all of them still exist, then destroys them.
class WorkerContext : public net::io_context {
public:
    WorkerContext() : net::io_context(1) {}
    using net::io_context::shutdown;
};

struct Server::Worker {
    Worker(Server& server, unsigned index, ServerOptions const& options, Service& service, HttpMetrics metrics)
        : server(server), index(index), options(options), service(service), metrics(metrics), acceptor(context) {
        drain_timer = std::make_unique<net::steady_timer>(context);
        sweep_timer = std::make_unique<net::steady_timer>(context);
        sweep_period = sweep_period_for(options);
    }
    // Frames still suspended on `context` when it shuts down (past the drain deadline) run their
    // destructors then, and those touch `connections`: so the members they use are declared before
    // `context` (destroyed after it), and the timer goes first, while the context still lives.
    ~Worker() {
        drain_timer.reset();
        sweep_timer.reset();
    }

    Server& server;
    unsigned index;
    ServerOptions const& options;
    Service& service;
    HttpMetrics metrics;
    std::list<ConnectionEntry> connections;
    bool stopping = false;
    bool drained = false;  // stopping, with no connection left: the server was told
    std::uint64_t request_counter = 0;
    std::unique_ptr<net::steady_timer> drain_timer;  // null once the worker is being destroyed
    std::unique_ptr<net::steady_timer> sweep_timer;  // likewise
    std::chrono::milliseconds sweep_period{1000};
    bool sweeping = false;  // sweep_timer is armed
    WorkerContext context;
    // Keeps the thread running when it has nothing of its own left to do during shutdown: other
    // threads' connections may still post work here until the server stops every thread together.
    net::executor_work_guard<net::io_context::executor_type> keep_running{context.get_executor()};
    net::ip::tcp::acceptor acceptor;

    void begin_shutdown();
    void connection_ended();
    void report_drained();
    // Arms the sweep unless it is armed; it re-arms itself while the thread has connections.
    void start_sweeping();
    void sweep();
    // A quarter of the shortest timeout, from 50 ms to 1 s: a deadline is met within that much.
    static std::chrono::milliseconds sweep_period_for(ServerOptions const& options);
};

// The coroutine of one connection; `worker` outlives it.
Task<> serve_connection(Server::Worker& worker, Socket socket);

}  // namespace onda::http
