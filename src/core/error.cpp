#include "core/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace onda {

std::string_view code_name(Errc code) {
    switch (code) {
    case Errc::internal: return "internal";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::not_found: return "not_found";
    case Errc::gone: return "gone";
    case Errc::method_not_allowed: return "method_not_allowed";
    case Errc::unauthenticated: return "unauthenticated";
    case Errc::forbidden: return "forbidden";
    case Errc::bad_signature: return "bad_signature";
    case Errc::expired: return "expired";
    case Errc::conflict: return "conflict";
    case Errc::precondition_failed: return "precondition_failed";
    case Errc::out_of_range: return "range_not_satisfiable";
    case Errc::too_large: return "too_large";
    case Errc::headers_too_large: return "headers_too_large";
    case Errc::unsupported_media: return "unsupported_media";
    case Errc::rate_limited: return "rate_limited";
    case Errc::device_limit: return "device_limit";
    case Errc::resource_exhausted: return "resource_exhausted";
    case Errc::insufficient_storage: return "insufficient_storage";
    case Errc::unavailable: return "unavailable";
    case Errc::timeout: return "timeout";
    case Errc::not_ready: return "not_ready";
    case Errc::checksum_mismatch: return "checksum_mismatch";
    case Errc::cancelled: return "cancelled";
    }
    return "internal";
}

std::optional<Errc> parse_code_name(std::string_view name) {
    for (int code = 0; code <= static_cast<int>(Errc::cancelled); ++code)  // cancelled: the last one
        if (code_name(static_cast<Errc>(code)) == name) return static_cast<Errc>(code);
    return std::nullopt;
}

Error Error::context(std::string_view what) const& { return Error(code_, std::string(what) + ": " + message_); }

Error Error::context(std::string_view what) && {
    message_.insert(0, std::string(what) + ": ");
    return std::move(*this);
}

void throw_exception_from_error(Error const& error, boost::source_location const&) { throw ErrorException(error); }

namespace detail {
void assert_failed(char const* cond, char const* why, char const* file, int line) {
    std::fprintf(stderr, "onda: assertion failed at %s:%d: %s (%s)\n", file, line, cond, why);
    std::abort();
}
}  // namespace detail

}  // namespace onda
