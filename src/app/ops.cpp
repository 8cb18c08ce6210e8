#include "app/ops.hpp"

namespace onda::app {

void Ops::add_routes(http::Router& router) {
    http::RouteOptions const unlimited{.rate_limited = false};
    router.add(
        "GET", "/healthz", "ops.healthz", [this](http::Request& r) { return healthz(r); }, unlimited);
    router.add(
        "GET", "/readyz", "ops.readyz", [this](http::Request& r) { return readyz(r); }, unlimited);
    router.add(
        "GET", "/metrics", "ops.metrics", [this](http::Request& r) { return metrics(r); }, unlimited);
}

Task<http::Response> Ops::healthz(http::Request&) {
    co_return http::json_response(200, boost::json::object{{"status", "ok"}});
}

Task<http::Response> Ops::readyz(http::Request&) {
    boost::json::object checks;
    bool ready = true;
    auto meta = co_await meta_.ping();
    checks["metadata"] = meta ? "ok" : meta.error().message();
    ready = ready && meta;
    auto ping_blobs = [this] { return blobs_.ping(); };
    auto blobs = co_await offload(pool_, ping_blobs);
    checks["blobs"] = blobs ? "ok" : blobs.error().message();
    ready = ready && blobs;
    boost::json::object body{{"status", ready ? "ready" : "unavailable"}, {"checks", std::move(checks)}};
    co_return http::json_response(ready ? 200 : 503, body);
}

Task<http::Response> Ops::metrics(http::Request&) {
    http::Response response(200);
    response.add_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    response.add_header("Cache-Control", "no-store");
    response.set_text(metrics_.render());
    co_return response;
}

}  // namespace onda::app
