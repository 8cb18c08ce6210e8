// Shared steps of the integration tests: uploading, reading JSON, waiting for a condition.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "support/onda_process.hpp"

namespace onda::test {

boost::json::value parse_json(std::string const& text);

struct Upload {
    HttpResponse response;
    boost::json::value body;
    std::string id;  // empty unless 201
};

// POST /v1/media with a raw body.
Upload upload_raw(OndaProcess const& onda, std::string const& token, std::string const& bytes,
                  std::string const& query = "filename=clip.wav", std::string const& content_type = "audio/wav");

// The error code of a JSON error body, or "" when the body is not one.
std::string error_code(HttpResponse const& response);

// The value of the sample `series` (a metric name with its labels, as /metrics writes it, e.g.
// `onda_http_open_connections` or `onda_x_total{route="a"}`) in a Prometheus text body; nullopt
// when the body has no such line.
std::optional<double> metric_value(std::string const& body, std::string const& series);

// Regular files below `dir` (recursively); 0 when it does not exist.
std::size_t count_files(std::filesystem::path const& dir);

}  // namespace onda::test
