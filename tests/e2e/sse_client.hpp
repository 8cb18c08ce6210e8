// A streaming HTTP client for event streams (SSE), header-only for the e2e tests that read them.
#pragma once

#include <cctype>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <curl/curl.h>

namespace onda::test {

// A streaming GET with libcurl: reads the body as it arrives until `done(body)` holds (then hangs
// up), the server ends the body, or the timeout passes. `body` may be read from another thread
// through snapshot().
class SseClient {
public:
    SseClient(std::string url, std::vector<std::string> headers) : url_(std::move(url)), headers_(std::move(headers)) {
        static std::once_flag init;
        std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    }

    // The CURLcode: CURLE_OK when the server ended the body, CURLE_WRITE_ERROR when `done` hung up.
    CURLcode read(std::function<bool(std::string const&)> done, long timeout_ms = 10'000) {
        done_ = std::move(done);
        CURL* curl = curl_easy_init();
        curl_slist* list = nullptr;
        for (auto const& header : headers_) list = curl_slist_append(list, header.c_str());
        curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, this);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, this);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        CURLcode rc = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status_);
        curl_slist_free_all(list);
        curl_easy_cleanup(curl);
        return rc;
    }

    long status() const { return status_; }
    std::string snapshot() const {
        std::lock_guard lock(mutex_);
        return body_;
    }
    // The head as received, lowercased names: "content-type: text/event-stream\r\n…".
    std::string const& head() const { return head_; }

private:
    static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
        auto* self = static_cast<SseClient*>(user);
        std::lock_guard lock(self->mutex_);
        self->body_.append(data, size * count);
        if (self->done_ && self->done_(self->body_)) return 0;  // hang up
        return size * count;
    }
    static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
        auto* self = static_cast<SseClient*>(user);
        for (std::size_t i = 0; i < size * count; ++i)
            self->head_ += static_cast<char>(std::tolower(static_cast<unsigned char>(data[i])));
        return size * count;
    }

    std::string url_;
    std::vector<std::string> headers_;
    std::function<bool(std::string const&)> done_;
    mutable std::mutex mutex_;
    std::string body_;
    std::string head_;
    long status_ = 0;
};

}  // namespace onda::test
