// One server thread's state: its io_context, acceptor and live connections. Only that thread
// touches it once the server runs (other threads post to `context`).
#pragma once

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

// A connection as its worker sees it, for shutdown: idle ones are closed at once, and so are
// WebSockets (their session sees its read cancelled and ends).
struct ConnectionEntry {
    net::ip::tcp::socket* socket = nullptr;
    bool idle = true;
    bool upgraded = false;
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
    }
    // Frames still suspended on `context` when it shuts down (past the drain deadline) run their
    // destructors then, and those touch `connections`: so the members they use are declared before
    // `context` (destroyed after it), and the timer goes first, while the context still lives.
    ~Worker() { drain_timer.reset(); }

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
    WorkerContext context;
    // Keeps the thread running when it has nothing of its own left to do during shutdown: other
    // threads' connections may still post work here until the server stops every thread together.
    net::executor_work_guard<net::io_context::executor_type> keep_running{context.get_executor()};
    net::ip::tcp::acceptor acceptor;

    void begin_shutdown();
    void connection_ended();
    void report_drained();
};

// The coroutine of one connection; `worker` outlives it.
Task<> serve_connection(Server::Worker& worker, net::ip::tcp::socket socket);

}  // namespace onda::http
