// Operations routes: GET /healthz (the process answers), GET /readyz (the stores answer too),
// GET /metrics (Prometheus text format).
#pragma once

#include <boost/asio/thread_pool.hpp>

#include "core/metrics.hpp"
#include "http/router.hpp"
#include "storage/blob_store.hpp"
#include "storage/meta_store.hpp"

namespace onda::app {

class Ops {
public:
    // Every reference must outlive the routes.
    Ops(storage::MetaStore& meta, storage::BlobStore& blobs, net::thread_pool& pool, MetricsRegistry& metrics)
        : meta_(meta), blobs_(blobs), pool_(pool), metrics_(metrics) {}

    void add_routes(http::Router& router);

    Task<http::Response> healthz(http::Request& request);
    Task<http::Response> readyz(http::Request& request);
    Task<http::Response> metrics(http::Request& request);

private:
    storage::MetaStore& meta_;
    storage::BlobStore& blobs_;
    net::thread_pool& pool_;
    MetricsRegistry& metrics_;
};

}  // namespace onda::app
