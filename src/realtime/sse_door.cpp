#include "realtime/sse_door.hpp"

#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/this_coro.hpp>

#include "core/log.hpp"
#include "http/sse.hpp"
#include "realtime/room.hpp"

namespace onda::realtime {
namespace {

// The body of one event stream. Runs on the connection's thread, which is also the subscriber's.
class SseStream final : public http::BodyStream {
public:
    SseStream(std::shared_ptr<Subscriber> subscriber, std::chrono::milliseconds keepalive, std::string opening,
              std::string_view request_id)
        : subscriber_(std::move(subscriber)),
          keepalive_(keepalive),
          opening_(std::move(opening)),
          log_("req", request_id) {}

    Task<Result<std::optional<std::string>>> next() override {
        std::optional<std::string> chunk;
        if (!opening_.empty()) {
            chunk = std::move(opening_);
            opening_.clear();
            co_return chunk;
        }
        auto const deadline = std::chrono::steady_clock::now() + keepalive_;
        Subscriber::Batch batch = co_await subscriber_->next(deadline);
        if (batch.ended) {  // the end of the body: hub closed, or the client fell behind
            if (subscriber_->end_reason() == Subscriber::End::overflow)
                log_.warn("sse stream ended: slow consumer (its queue of events to send overflowed) rooms={}",
                          fmt::join(subscriber_->rooms(), ","));
            co_return chunk;
        }
        if (batch.events.empty()) {
            chunk = http::format_sse_comment("keepalive");
            co_return chunk;
        }
        std::string text;
        for (auto const& event : batch.events) text += event->sse_text();  // encoded once per event
        chunk = std::move(text);
        co_return chunk;
    }

private:
    std::shared_ptr<Subscriber> subscriber_;
    std::chrono::milliseconds keepalive_;
    std::string opening_;  // sent first: retry, then the position or the reset
    log::Context log_;     // for the line of a stream that falls behind
};

std::string_view start_name(Subscriber::Start start) {
    switch (start) {
    case Subscriber::Start::fresh: return "fresh";
    case Subscriber::Start::resumed: return "resumed";
    case Subscriber::Start::reset: return "reset";
    }
    return "unknown";
}

http::Response bad_request(std::string message) {
    return http::error_response(Error(Errc::invalid_argument, std::move(message)));
}

// "a,b,,c" -> a, b, c (empty items are skipped).
std::vector<std::string> split_rooms(std::string_view text) {
    std::vector<std::string> rooms;
    while (!text.empty()) {
        auto const comma = text.find(',');
        auto const item = text.substr(0, comma);
        if (!item.empty()) rooms.emplace_back(item);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return rooms;
}

}  // namespace

SseDoor::SseDoor(Hub& hub, SseOptions options, RoomAccess access)
    : hub_(hub), options_(options), access_(std::move(access)) {}

void SseDoor::add_routes(http::Router& router) {
    // One request per connection is counted by the API rate limit; the events it carries are not.
    router.add("GET", "/v1/events", "realtime.events", [this](http::Request& r) { return events(r); });
}

Task<http::Response> SseDoor::events(http::Request& request) {
    auto rooms = split_rooms(request.query("rooms").value_or(""));
    if (rooms.empty()) co_return bad_request("rooms is required: ?rooms=chat:s1,media:m_…");
    if (rooms.size() > options_.max_rooms)
        co_return bad_request(fmt::format("at most {} rooms per stream", options_.max_rooms));
    for (auto const& room : rooms)
        if (!parse_room(room))
            co_return bad_request("malformed room '" + room.substr(0, 64) +
                                  "': expected user:, upload:, media:, chat:, stream: or tts: and an id");
    auto const& who = auth::identity_of(request);
    for (auto const& room : rooms) {
        Task<Result<void>> check = check_room_access(who, room, access_);
        auto allowed = co_await std::move(check);
        if (!allowed) co_return http::error_response(allowed.error());
    }
    co_return co_await stream_rooms(request, std::move(rooms));
}

Task<http::Response> SseDoor::stream_rooms(http::Request& request, std::vector<std::string> rooms) {
    if (hub_.is_closed()) co_return http::error_response(Error(Errc::unavailable, "the server is shutting down"));
    std::string last_event_id(request.header("Last-Event-ID"));
    if (last_event_id.empty()) last_event_id = request.query("lastEventId").value_or("");

    auto executor = co_await net::this_coro::executor;
    auto subscriber = hub_.subscribe(executor, std::move(rooms), last_event_id);
    std::string opening = http::format_sse_retry(options_.retry);
    switch (subscriber->start()) {
    case Subscriber::Start::fresh: opening += http::format_sse_id(subscriber->position()); break;
    case Subscriber::Start::resumed:
        break;  // the replayed events carry their ids; with none, the client's id is still right
    case Subscriber::Start::reset:
        http::append_sse_event(opening, {.name = "reset", .id = subscriber->position(), .data = "{}"});
        break;
    }
    log::debug("req={} sse rooms={} start={}", request.id(), fmt::join(subscriber->rooms(), ","),
               start_name(subscriber->start()));

    auto response = http::sse_response();
    response.set_stream(
        std::make_unique<SseStream>(std::move(subscriber), options_.keepalive, std::move(opening), request.id()));
    co_return response;
}

}  // namespace onda::realtime
