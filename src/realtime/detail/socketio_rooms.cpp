#include "realtime/detail/socketio_rooms.hpp"

#include <boost/json/parse.hpp>

#include "realtime/room.hpp"

namespace onda::realtime::detail {
namespace {

// The room named by the event's first argument ({room: "chat:s1"}), checked against the room names.
Result<std::string> room_of(ClientEvent const& event) {
    auto const* object = event.arg(0).if_object();
    auto const* room = object ? object->if_contains("room") : nullptr;
    if (!room || !room->is_string()) return Error(Errc::invalid_argument, "expected {room: \"<kind>:<id>\"}");
    std::string name(room->get_string());
    if (!parse_room(name))
        return Error(Errc::invalid_argument,
                     "malformed room '" + name.substr(0, 64) +
                         "': expected user:, upload:, media:, chat:, stream: or tts: and an id");
    return name;
}

boost::json::array history_of(std::vector<EventPtr> const& events) {
    boost::json::array history;
    history.reserve(events.size());
    for (auto const& event : events) {
        boost::system::error_code ec;
        auto data = boost::json::parse(event->data, ec);  // the hub serialised it, so it parses
        history.push_back(boost::json::object{
            {"id", event->id}, {"offset", event->offset}, {"event", event->name}, {"data", std::move(data)}});
    }
    return history;
}

}  // namespace

Task<> join_room(std::shared_ptr<SocketIoConnection> client, SocketIoShared& shared, ClientEvent event, Ack ack) {
    auto room = room_of(event);
    if (!room) co_return ack.fail(room.error());
    auto* subscriber = client->subscriber();
    if (!subscriber) co_return;
    if (subscriber->rooms().size() >= shared.options.max_rooms + (client->user_room().empty() ? 0 : 1))
        co_return ack.fail(
            Error(Errc::invalid_argument, fmt::format("at most {} rooms per connection", shared.options.max_rooms)));
    Task<Result<void>> check = check_room_access(client->identity(), *room, shared.access);
    auto allowed = co_await std::move(check);
    if (!allowed) co_return ack.fail(allowed.error());
    // The access check may have waited: the client may have left meanwhile.
    subscriber = client->subscriber();
    if (!subscriber) co_return;
    auto joined = shared.hub.add_room(*subscriber, *room);
    client->log().debug("joined {}", *room);
    ack.reply(boost::json::object{
        {"ok", true}, {"room", *room}, {"history", history_of(joined.history)}, {"viewers", joined.subscribers}});
}

Task<> leave_room(std::shared_ptr<SocketIoConnection> client, SocketIoShared& shared, ClientEvent event, Ack ack) {
    auto room = room_of(event);
    if (!room) co_return ack.fail(room.error());
    if (*room == client->user_room())
        co_return ack.fail(Error(Errc::invalid_argument, "every connection of a user stays in its user room"));
    if (auto* subscriber = client->subscriber()) shared.hub.remove_room(*subscriber, *room);
    ack.reply(boost::json::object{{"ok", true}, {"room", *room}});
}

}  // namespace onda::realtime::detail
