// The HTTP/1.1 server: shared-nothing per core. Each of N threads runs its own io_context with its
// own acceptor on the same address (SO_REUSEPORT, so the kernel spreads connections), and a
// connection lives its whole life on the thread that accepted it. No lock on the request path.
//
// Lifecycle: start() binds (port 0 picks a free port, see port()) and starts the threads; stop()
// (any thread, e.g. a signal handler's) stops accepting, closes idle keep-alive connections and
// WebSockets, lets in-flight exchanges finish for up to shutdown_timeout, then stops the threads
// together once all are done; wait() joins them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/task.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace onda::http {

// What answers requests. handle() returns every expected failure as a Response; an exception that
// escapes becomes a 500 and is logged with the request id.
class Service {
public:
    virtual ~Service() = default;
    virtual Task<Response> handle(Request& request) = 0;
};

struct ServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    unsigned threads = 1;
    std::size_t max_header_bytes = 16 * 1024;
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds body_timeout{30'000};
    std::chrono::milliseconds send_timeout{60'000};
    std::chrono::milliseconds shutdown_timeout{10'000};
    std::size_t max_connections_per_thread = 50'000;
};

// "127.0.0.1:8080", "[::1]:0", "localhost:80" -> host and port; invalid_argument otherwise.
Result<std::pair<std::string, std::uint16_t>> parse_listen_address(std::string_view text);

class Server {
public:
    // `service` and `metrics` must outlive the server.
    Server(ServerOptions options, Service& service, MetricsRegistry& metrics);
    ~Server();
    Server(Server const&) = delete;
    Server& operator=(Server const&) = delete;

    Result<void> start();
    void stop();
    void wait();

    std::uint16_t port() const { return port_; }
    // One executor per worker thread (index = Request::worker()), for modules that keep per-thread
    // state; valid from construction, so they can be handed out before start().
    std::vector<net::any_io_executor> executors() const;

    struct Worker;

private:
    void worker_drained();  // any thread
    void stop_threads();    // any thread

    ServerOptions options_;
    Service& service_;
    MetricsRegistry& metrics_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::thread> threads_;
    std::atomic<std::size_t> undrained_{0};  // threads still finishing connections after stop()
    std::uint16_t port_ = 0;
};

}  // namespace onda::http
