#include "support/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include <curl/curl.h>
#include <openssl/sha.h>

namespace onda::test {
namespace {

bool iequals(std::string const& a, std::string const& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* response = static_cast<HttpResponse*>(user);
    std::string line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) {
        response->headers.clear();  // a new head (after 100 Continue, say)
        return size * count;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos) return size * count;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
    response->headers.emplace_back(line.substr(0, colon), value);
    return size * count;
}

}  // namespace

std::string HttpResponse::header(std::string const& name) const {
    for (auto const& [key, value] : headers)
        if (iequals(key, name)) return value;
    return {};
}

bool HttpResponse::has_header(std::string const& name) const {
    return std::any_of(headers.begin(), headers.end(), [&](auto const& h) { return iequals(h.first, name); });
}

HttpResponse http_request(HttpRequest const& request) {
    static std::once_flag init;
    std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

    HttpResponse response;
    CURL* curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_slist* headers = nullptr;
    for (auto const& [name, value] : request.headers)
        headers = curl_slist_append(headers, (name + ": " + value).c_str());
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip unless a test asks for it
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (request.body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body->data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body->size()));
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, request.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    else
        response.error = curl_easy_strerror(rc);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return response;
}

HttpResponse http_get(std::string const& url, std::vector<std::pair<std::string, std::string>> headers) {
    return http_request({.method = "GET", .url = url, .headers = std::move(headers)});
}

std::pair<std::string, std::string> bearer(std::string const& token) { return {"Authorization", "Bearer " + token}; }

std::string sha256_hex(std::string const& bytes) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<unsigned char const*>(bytes.data()), bytes.size(), digest);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : digest) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

}  // namespace onda::test
