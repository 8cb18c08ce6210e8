// What the library's handlers share about answers: how media of each visibility may be cached
// (API.md "Delivery"), and the one-line error response.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "http/response.hpp"

namespace onda::media::detail {

// An object's bytes never change (a new upload is a new id), so public ones are cached for good;
// private ones are checked every time.
inline std::string_view cache_control_for(std::string_view visibility) {
    return visibility == "public" ? "public, max-age=31536000, immutable" : "private, max-age=0, must-revalidate";
}

inline http::Response error(Errc code, std::string message) {
    return http::error_response(Error(code, std::move(message)));
}

}  // namespace onda::media::detail
