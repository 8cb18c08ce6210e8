#include "http/response.hpp"

#include "http/request.hpp"

#include <boost/json/serialize.hpp>

namespace onda::http {
void Response::add_header(std::string_view name, std::string value) {
    if (headers_.capacity() == 0) headers_.reserve(10);  // a delivered file has about eight
    headers_.emplace_back(std::string(name), std::move(value));
}

void Response::set_header(std::string_view name, std::string value) {
    std::erase_if(headers_, [&](Header const& h) { return iequals(h.first, name); });
    headers_.emplace_back(std::string(name), std::move(value));
}

std::string_view Response::header(std::string_view name) const {
    for (auto const& [key, value] : headers_)
        if (iequals(key, name)) return value;
    return {};
}

std::optional<std::uint64_t> Response::content_length() const {
    struct Visitor {
        std::optional<std::uint64_t> operator()(std::string const& text) const { return text.size(); }
        std::optional<std::uint64_t> operator()(FileBody const& file) const {
            std::uint64_t total = 0;
            for (auto const& piece : file.pieces) total += piece.size();
            return total;
        }
        std::optional<std::uint64_t> operator()(std::unique_ptr<BodyStream> const& stream) const {
            return stream ? stream->length() : std::nullopt;
        }
        std::optional<std::uint64_t> operator()(NoBody const& none) const { return none.content_length; }
        std::optional<std::uint64_t> operator()(std::shared_ptr<WebSocketUpgrade> const&) const { return std::nullopt; }
    };
    return std::visit(Visitor{}, body_);
}

Response json_response(unsigned status, boost::json::value const& body) {
    Response response(status);
    response.add_header("Content-Type", "application/json");
    response.set_text(boost::json::serialize(body));
    return response;
}

unsigned status_for(Errc code) {
    switch (code) {
    case Errc::internal: return 500;
    case Errc::invalid_argument: return 400;
    case Errc::not_found: return 404;
    case Errc::gone: return 410;
    case Errc::method_not_allowed: return 405;
    case Errc::unauthenticated: return 401;
    case Errc::forbidden: return 403;
    case Errc::bad_signature: return 403;
    case Errc::expired: return 403;
    case Errc::conflict: return 409;
    case Errc::precondition_failed: return 412;
    case Errc::out_of_range: return 416;
    case Errc::too_large: return 413;
    case Errc::headers_too_large: return 431;
    case Errc::unsupported_media: return 415;
    case Errc::rate_limited: return 429;
    case Errc::device_limit: return 429;
    case Errc::resource_exhausted: return 503;
    case Errc::insufficient_storage: return 507;
    case Errc::unavailable: return 503;
    case Errc::timeout: return 408;
    case Errc::not_ready: return 404;
    case Errc::checksum_mismatch: return 460;
    case Errc::cancelled: return 499;
    }
    return 500;
}

Response error_response(Error const& error) {
    boost::json::object detail;
    detail["code"] = code_name(error.code());
    detail["message"] = error.message();
    boost::json::object body;
    body["error"] = std::move(detail);
    return json_response(status_for(error.code()), body);
}

}  // namespace onda::http
