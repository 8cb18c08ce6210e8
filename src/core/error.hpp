// The one error currency of onda: an Errc (whose names are API.md's error `code` strings), a human
// message, and Result<T> for anything that can fail with an expected failure.
//
// Example:
//   Result<Range> parse(std::string_view s) {
//       if (s.empty()) return Error(Errc::invalid_argument, "empty range");
//       ...
//   }
//   auto r = parse(text);
//   if (!r) return r.error().context("read Range header");
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <boost/system/result.hpp>

namespace onda {

enum class Errc {
    internal,
    invalid_argument,
    not_found,
    gone,  // existed, but has expired or was removed for good
    method_not_allowed,
    unauthenticated,
    forbidden,
    bad_signature,
    expired,
    conflict,
    precondition_failed,
    out_of_range,  // a Range that cannot be satisfied
    too_large,     // a body past its limit
    headers_too_large,
    unsupported_media,
    rate_limited,
    device_limit,          // a user already holds as many connected devices as allowed
    resource_exhausted,    // a bounded queue or pool is full
    insufficient_storage,  // disk full or a write failed
    unavailable,
    timeout,
    not_ready,
    checksum_mismatch,
    cancelled,  // keep last: parse_code_name walks the codes up to this one
};

// The snake_case name used as `code` in JSON error bodies, e.g. "not_found".
std::string_view code_name(Errc code);
// The Errc a code_name() names (what a child process reported); nullopt for any other text.
std::optional<Errc> parse_code_name(std::string_view name);

class Error {
public:
    Error() = default;  // result<T, Error>::error() on a value; not for use elsewhere
    Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

    Errc code() const { return code_; }
    std::string const& message() const { return message_; }

    // Prefixes what was being done when the error happened: "open asset a1: file not found".
    Error context(std::string_view what) const&;
    Error context(std::string_view what) &&;

private:
    Errc code_ = Errc::internal;
    std::string message_;
};

// Thrown by Result<T>::value() on an error, and by code that treats a failure as the end of a task.
class ErrorException : public std::exception {
public:
    explicit ErrorException(Error error) : error_(std::move(error)) {}
    char const* what() const noexcept override { return error_.message().c_str(); }
    Error const& error() const { return error_; }

private:
    Error error_;
};

[[noreturn]] void throw_exception_from_error(Error const& error, boost::source_location const& where);

template <class T = void>
using Result = boost::system::result<T, Error>;

// An empty success for Result<void>: `return ok();`.
inline Result<void> ok() { return {}; }

}  // namespace onda

// ONDA_ASSERT checks an invariant of our own code, never outside data: a failure is a bug and aborts.
#define ONDA_ASSERT(cond, why) \
    ((cond) ? static_cast<void>(0) : ::onda::detail::assert_failed(#cond, why, __FILE__, __LINE__))

namespace onda::detail {
[[noreturn]] void assert_failed(char const* cond, char const* why, char const* file, int line);
}
