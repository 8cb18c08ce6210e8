#include "realtime/socketio_client.hpp"

#include "realtime/socketio_packet.hpp"

namespace onda::realtime {

boost::json::value const& ClientEvent::arg(std::size_t i) const {
    static boost::json::value const none;
    return i < args.size() ? args[i] : none;
}

std::optional<std::string_view> ClientEvent::attachment(boost::json::value const& value) const {
    auto const index = placeholder_index(value);
    if (!index || *index >= attachments.size()) return std::nullopt;
    return std::string_view(attachments[*index]);
}

void Ack::reply(boost::json::value reply, std::vector<std::string> attachments) {
    if (!state_ || state_->done) return;
    state_->done = true;
    boost::json::array args;
    args.push_back(std::move(reply));
    state_->send(std::move(args), std::move(attachments));
}

void Ack::fail(Error const& error) { reply(ack_error(error)); }

boost::json::object ack_error(Error const& error) {
    return boost::json::object{
        {"ok", false},
        {"error", boost::json::object{{"code", code_name(error.code())}, {"message", error.message()}}},
    };
}

}  // namespace onda::realtime
