#include "http/server.hpp"

#include <algorithm>
#include <charconv>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/socket_base.hpp>

#include "core/log.hpp"
#include "http/detail/worker.hpp"

namespace onda::http {
namespace {

using tcp = net::ip::tcp;
using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

Task<> accept_loop(Server::Worker& worker) {  // the worker outlives its loop
    for (;;) {
        auto [ec, socket] = co_await worker.acceptor.async_accept(worker.context.get_executor(), use_result);
        if (ec == net::error::operation_aborted || !worker.acceptor.is_open()) co_return;
        if (ec) {
            // EMFILE and friends: back off briefly instead of spinning on a failing accept.
            log::warn("accept failed: {}", ec.message());
            net::steady_timer pause(worker.context, std::chrono::milliseconds(50));
            co_await pause.async_wait(use_result);
            continue;
        }
        if (worker.connections.size() >= worker.options.max_connections_per_thread) {
            worker.metrics.rejected_connections->add();
            continue;  // the socket closes as it goes out of scope
        }
        socket.set_option(tcp::no_delay(true), ec);
        worker.metrics.accepted->add();
        spawn(worker.context.get_executor(), serve_connection(worker, std::move(socket)), "http connection");
    }
}

}  // namespace

Result<std::pair<std::string, std::uint16_t>> parse_listen_address(std::string_view text) {
    std::string_view host, port_text;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find("]:");
        if (close == std::string_view::npos) return Error(Errc::invalid_argument, "expected [ipv6]:port");
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return Error(Errc::invalid_argument, "expected host:port");
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535 || host.empty())
        return Error(Errc::invalid_argument, "bad listen address '" + std::string(text) + "'");
    return std::pair{std::string(host == "localhost" ? "127.0.0.1" : host), static_cast<std::uint16_t>(port)};
}

Server::Server(ServerOptions options, Service& service, MetricsRegistry& metrics)
    : options_(std::move(options)), service_(service), metrics_(metrics) {
    HttpMetrics http_metrics{
        &metrics_.gauge("onda_http_open_connections", "HTTP connections open now", {}),
        &metrics_.counter("onda_http_connections_total", "HTTP connections accepted", {}),
        &metrics_.counter("onda_http_response_bytes_total", "HTTP response bytes sent, headers included", {}),
        &metrics_.counter("onda_http_rejected_connections_total", "Connections refused past the per-thread limit", {}),
    };
    // The threads' io_contexts exist from here on, so executors() can be handed out before start().
    unsigned const count = std::max(1u, options_.threads);
    for (unsigned i = 0; i < count; ++i)
        workers_.push_back(std::make_unique<Worker>(*this, i, options_, service_, http_metrics));
    undrained_ = workers_.size();
}

Server::~Server() {
    stop();
    wait();
    // Every context's leftovers go while all contexts exist (see WorkerContext).
    for (auto& worker : workers_) worker->context.shutdown();
}

Result<void> Server::start() {
    boost::system::error_code ec;
    auto address = net::ip::make_address(options_.host, ec);
    if (ec) return Error(Errc::invalid_argument, "bad listen host '" + options_.host + "': " + ec.message());

    port_ = options_.port;
    for (auto& worker : workers_) {
        tcp::endpoint endpoint(address, port_);
        auto& acceptor = worker->acceptor;
        acceptor.open(endpoint.protocol(), ec);
        if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
        if (!ec) acceptor.set_option(reuse_port(true), ec);
        if (!ec) acceptor.bind(endpoint, ec);
        if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
        if (ec) return Error(Errc::unavailable, fmt::format("listen on {}:{}: {}", options_.host, port_, ec.message()));
        port_ = acceptor.local_endpoint().port();  // port 0: every later acceptor joins the one picked
    }
    for (auto& worker : workers_) {
        spawn(worker->context.get_executor(), accept_loop(*worker), "http accept");
        threads_.emplace_back([w = worker.get()] { w->context.run(); });
    }
    log::info("listening on {}:{} threads={}", options_.host, port_, workers_.size());
    return ok();
}

void Server::stop() {
    for (auto& worker : workers_) net::post(worker->context, [w = worker.get()] { w->begin_shutdown(); });
}

void Server::wait() {
    for (auto& thread : threads_)
        if (thread.joinable()) thread.join();
    threads_.clear();
}

std::vector<net::any_io_executor> Server::executors() const {
    std::vector<net::any_io_executor> result;
    for (auto const& worker : workers_) result.push_back(worker->context.get_executor());
    return result;
}

void Server::Worker::begin_shutdown() {
    if (stopping) return;
    stopping = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    // Idle keep-alive connections have nothing in flight: close them now, and WebSockets, which
    // never finish by themselves. Busy ones finish their exchange and close when they see `stopping`.
    for (auto& entry : connections) {
        entry.stopping = true;
        if (entry.idle || entry.upgraded) entry.socket->cancel(ignored);
    }
    if (connections.empty()) {
        report_drained();
        return;
    }
    drain_timer->expires_after(options.shutdown_timeout);
    drain_timer->async_wait([this](boost::system::error_code ec) {
        if (!ec) server.stop_threads();  // past the deadline: whatever still runs is cut off
    });
}

std::chrono::milliseconds Server::Worker::sweep_period_for(ServerOptions const& options) {
    auto shortest =
        std::min({options.header_timeout, options.idle_timeout, options.body_timeout, options.send_timeout});
    return std::clamp(shortest / 4, std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
}

void Server::Worker::start_sweeping() {
    if (sweeping || !sweep_timer) return;
    sweeping = true;
    sweep_timer->expires_after(sweep_period);
    sweep_timer->async_wait([this](boost::system::error_code ec) {
        sweeping = false;
        if (!ec && sweep_timer) sweep();
    });
}

void Server::Worker::sweep() {
    auto const now = ConnectionEntry::Clock::now();
    boost::system::error_code ignored;
    for (auto& entry : connections) {
        if (std::min(entry.deadline, entry.write_deadline) > now) continue;
        // The operations under way complete with operation_aborted; `timed_out` says why. (A deadline
        // left over from an operation that already ended cancels nothing.)
        entry.deadline = ConnectionEntry::Clock::time_point::max();
        entry.write_deadline = ConnectionEntry::Clock::time_point::max();
        entry.timed_out = true;
        entry.socket->cancel(ignored);
    }
    if (!connections.empty()) start_sweeping();  // an idle thread does not wake up for nothing
}

void Server::Worker::connection_ended() {
    if (stopping && connections.empty()) report_drained();
}

void Server::Worker::report_drained() {
    if (drained) return;
    drained = true;
    if (drain_timer) drain_timer->cancel();
    server.worker_drained();
}

void Server::worker_drained() {
    // A drained thread keeps running until every thread is: a connection on another thread may
    // still be waiting for work it posted here (Socket.IO sessions live on one thread, their
    // transports on any).
    if (--undrained_ == 0) stop_threads();
}

void Server::stop_threads() {
    for (auto& worker : workers_) worker->context.stop();
}

}  // namespace onda::http
