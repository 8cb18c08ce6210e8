// What a handler sees of an HTTP request: method, path, query, headers, route parameters, the
// caller's address, and the body as a stream it reads at its own pace. Beast stays behind this
// header: handlers do not include it.
//
// Lifetime: a Request lives in its connection's coroutine for exactly one exchange; handlers get it
// by reference and must not keep it past their return.
#pragma once

#include <any>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "core/error.hpp"
#include "core/task.hpp"
#include "http/percent.hpp"

namespace onda::http {

// Where the body comes from; implemented by the connection.
class BodySource {
public:
    virtual ~BodySource() = default;
    // Up to out.size() body bytes; 0 at the end of the body. Errors: too_large past the body limit,
    // timeout, invalid_argument for a malformed (chunked) body, cancelled when the peer went away.
    virtual Task<Result<std::size_t>> read_some(std::span<char> out) = 0;
    virtual bool is_done() const = 0;
};

class Request {
public:
    using Header = std::pair<std::string, std::string>;
    using HeaderView = std::pair<std::string_view, std::string_view>;

    Request(std::string method, std::string target, std::vector<Header> const& headers, std::string remote_address,
            std::string id, BodySource* body, std::size_t worker = 0);
    // What the connection builds: `method`, `target` and every name and value are views into
    // `head`, the request's head as received, which the Request copies once (one allocation for all).
    Request(std::string_view head, std::string_view method, std::string_view target,
            std::span<HeaderView const> headers, std::string remote_address, std::string id, BodySource* body,
            std::size_t worker);
    // Its views point into itself: neither copied nor moved.
    Request(Request const&) = delete;
    Request& operator=(Request const&) = delete;

    std::string_view method() const { return method_; }
    bool is_head() const { return method_ == "HEAD"; }
    // The request-target as sent: "/v1/media?limit=5".
    std::string_view target() const { return target_; }
    // The path part, still percent-encoded: "/v1/media".
    std::string_view path() const { return path_; }
    // A query parameter, percent-decoded ('+' is a space); nullopt when absent.
    std::optional<std::string> query(std::string_view name) const;
    // The first header of that name (case-insensitive); "" when absent.
    std::string_view header(std::string_view name) const;
    bool has_header(std::string_view name) const;
    std::span<HeaderView const> headers() const { return headers_; }
    // A cookie from the Cookie header; nullopt when absent.
    std::optional<std::string> cookie(std::string_view name) const;

    // A parameter the router captured from a `{name}` segment (percent-decoded); "" when absent.
    std::string_view param(std::string_view name) const;
    void set_params(std::vector<std::pair<std::string, std::string>> params) { params_ = std::move(params); }

    // Per-request state the service attaches before routing (e.g. the caller's identity), so http
    // need not know what it is.
    std::any& context() { return context_; }
    std::any const& context() const { return context_; }

    std::string const& remote_address() const { return remote_address_; }
    // The index of the server thread this request runs on (0..threads-1): state kept per thread
    // can be indexed by it without a lock.
    std::size_t worker() const { return worker_; }
    std::string const& id() const { return id_; }

    // The declared Content-Length, if any.
    std::optional<std::uint64_t> content_length() const;
    // True when the request carries a body (Content-Length > 0 or chunked).
    bool has_body() const;

    // Reads the body piece by piece (see BodySource).
    Task<Result<std::size_t>> read_some(std::span<char> out);
    // Reads the whole body; too_large past `limit` bytes. For small bodies (JSON) only.
    Task<Result<std::string>> read_body(std::size_t limit);

private:
    void parse_target();

    std::string text_;  // the bytes method_, target_ and headers_ view
    std::string_view method_;
    std::string_view target_;
    std::string_view path_;
    std::vector<std::pair<std::string, std::string>> query_;
    boost::container::small_vector<HeaderView, 16> headers_;
    std::vector<std::pair<std::string, std::string>> params_;
    std::string remote_address_;
    std::string id_;
    BodySource* body_;
    std::size_t worker_;
    std::any context_;
};

}  // namespace onda::http
