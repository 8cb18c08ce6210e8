// A small blocking HTTP client over libcurl for integration tests: one request, the whole answer.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace onda::test {

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<std::string> body;
    long timeout_ms = 30'000;
};

struct HttpResponse {
    long status = 0;  // 0: no answer (connection failed)
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string error;  // libcurl's message when status is 0

    // The first header of that name (case-insensitive), or "".
    std::string header(std::string const& name) const;
    bool has_header(std::string const& name) const;
};

HttpResponse http_request(HttpRequest const& request);

// Shorthands.
HttpResponse http_get(std::string const& url, std::vector<std::pair<std::string, std::string>> headers = {});
std::pair<std::string, std::string> bearer(std::string const& token);

// SHA-256 of bytes, lowercase hex.
std::string sha256_hex(std::string const& bytes);

}  // namespace onda::test
