// socketio_fixture: the Socket.IO endpoint of onda on its own, with one test-only event, for the
// Node tests of binary attachments (tests/e2e/js/socketio.test.mjs). onda itself has no event that
// carries bytes yet, and an echo has no place in the product; here one is registered the way a module
// registers its handlers:
//
//   binary_echo (data, ...)  acks {ok, sizes:[bytes of each attachment], data:[the attachments in
//                            reverse order]}, and emits `binary_echo` back with `data` as sent.
//
// Usage: socketio_fixture --ready-file FILE  (listens on 127.0.0.1, an ephemeral port written to FILE
// as {"port":N}; SIGTERM stops it). Tokens are HS256 with the secret "socketio-fixture-secret".
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>

#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include "auth/device_limit.hpp"
#include "auth/rate_limit.hpp"
#include "core/log.hpp"
#include "http/server.hpp"
#include "realtime/hub.hpp"
#include "realtime/socketio_server.hpp"

namespace {

using namespace onda;
namespace json = boost::json;

// Routes requests to the router's handlers, nothing else (no tokens, limits or CORS).
class RouterService final : public http::Service {
public:
    explicit RouterService(http::Router const& router) : router_(router) {}
    Task<http::Response> handle(http::Request& request) override {
        auto match = router_.match(request.method(), request.path());
        if (match.kind != http::RouteMatch::Kind::found)
            co_return http::error_response(Error(Errc::not_found, "no route"));
        request.set_params(std::move(match.params));
        co_return co_await match.route->handler(request);
    }

private:
    http::Router const& router_;
};

Task<> binary_echo(std::shared_ptr<realtime::SocketIoClient> client, realtime::ClientEvent event, realtime::Ack ack) {
    json::array sizes;
    for (auto const& bytes : event.attachments) sizes.push_back(bytes.size());
    std::vector<std::string> reversed(event.attachments.rbegin(), event.attachments.rend());
    json::array placeholders;
    for (std::size_t i = 0; i < reversed.size(); ++i) placeholders.push_back(realtime::make_placeholder(i));
    ack.reply(json::object{{"ok", true}, {"sizes", std::move(sizes)}, {"data", std::move(placeholders)}},
              std::move(reversed));
    client->emit("binary_echo", event.arg(0), std::move(event.attachments));
    co_return;
}

}  // namespace

int main(int argc, char** argv) {
    std::string ready_file;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--ready-file") == 0) ready_file = argv[i + 1];
    if (ready_file.empty()) {
        std::cerr << "usage: socketio_fixture --ready-file FILE\n";
        return 2;
    }
    log::init(log::Level::info);
    std::signal(SIGPIPE, SIG_IGN);

    SystemClock clock;
    MetricsRegistry metrics;
    std::string const secret = "socketio-fixture-secret";
    auth::Authenticator authenticator(secret, clock);
    auth::DeviceLimiter devices(3);
    auth::RateLimiter events(0, clock);
    realtime::Hub hub({}, clock, &metrics);
    realtime::SocketIoServer socketio({}, hub, authenticator, devices, events, nullptr, metrics);
    socketio.on("binary_echo", binary_echo);

    http::Router router;
    socketio.add_routes(router);
    RouterService service(router);
    http::Server server({.host = "127.0.0.1", .port = 0, .threads = 2}, service, metrics);
    socketio.set_executors(server.executors());
    if (auto started = server.start(); !started) {
        std::cerr << started.error().message() << "\n";
        return 1;
    }
    {
        std::ofstream out(ready_file + ".tmp");
        out << "{\"port\":" << server.port() << "}\n";
    }
    std::rename((ready_file + ".tmp").c_str(), ready_file.c_str());

    net::io_context main_context;
    net::signal_set signals(main_context, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) {
        hub.close();
        socketio.close();
        server.stop();
    });
    main_context.run();
    server.wait();
    return 0;
}
