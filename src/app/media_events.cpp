#include "app/media_events.hpp"

#include <optional>

#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "auth/identity.hpp"
#include "http/sse.hpp"

namespace onda::app {
namespace {

namespace json = boost::json;

std::string progress_data(std::string_view state, double progress) {
    return json::serialize(json::object{{"state", state}, {"progress", progress}});
}

std::string failed_data(std::optional<std::string> const& error) {
    return json::serialize(
        json::object{{"state", "failed"}, {"error", error ? json::value(*error) : json::value(nullptr)}});
}

// The `ready` event: the media object as it is now (with its renditions), or just the state when it
// was deleted in the meantime.
Task<std::string> ready_event(media::Library& library, storage::MetaStore& meta, std::string media_id) {
    auto record = co_await meta.find_media(std::move(media_id));
    std::string data =
        record ? json::serialize(library.to_json(*record)) : json::serialize(json::object{{"state", "done"}});
    co_return http::format_sse_event({.name = "ready", .id = "ready", .data = data});
}

// The body: the opening event, then the room's media_progress events as progress/ready/failed, until
// ready or failed (or the hub closes, or the client goes).
class MediaEventStream final : public http::BodyStream {
public:
    MediaEventStream(std::shared_ptr<realtime::Subscriber> subscriber, media::Library& library,
                     storage::MetaStore& meta, std::string media_id, std::chrono::milliseconds keepalive,
                     std::string opening, bool finished)
        : subscriber_(std::move(subscriber)),
          library_(library),
          meta_(meta),
          media_id_(std::move(media_id)),
          keepalive_(keepalive),
          opening_(std::move(opening)),
          finished_(finished) {}

    Task<Result<std::optional<std::string>>> next() override {
        std::optional<std::string> chunk;
        if (!opening_.empty()) {
            chunk = std::exchange(opening_, {});
            co_return chunk;
        }
        if (finished_) co_return chunk;  // the end of the body
        auto const deadline = std::chrono::steady_clock::now() + keepalive_;
        realtime::Subscriber::Batch batch = co_await subscriber_->next(deadline);
        if (batch.ended) co_return chunk;
        std::string text;
        for (auto const& event : batch.events) {
            if (event->name != "media_progress") continue;
            boost::system::error_code ec;
            json::value data = json::parse(event->data, ec);
            if (ec || !data.is_object()) continue;
            auto const& object = data.get_object();
            auto const* state = object.if_contains("state");
            if (!state || !state->is_string()) continue;
            std::string_view const name = state->get_string();
            if (name == "done") {
                Task<std::string> ready = ready_event(library_, meta_, media_id_);
                text += co_await std::move(ready);
                finished_ = true;
                break;
            }
            if (name == "failed") {
                std::optional<std::string> error;
                if (auto const* reason = object.if_contains("error"); reason && reason->is_string())
                    error = std::string(reason->get_string());
                http::append_sse_event(text, {.name = "failed", .id = "failed", .data = failed_data(error)});
                finished_ = true;
                break;
            }
            double progress = 0;
            if (auto const* value = object.if_contains("progress"); value && value->is_number())
                progress = value->to_number<double>();
            http::append_sse_event(text, {.name = "progress", .data = progress_data(name, progress)});
        }
        chunk = text.empty() ? http::format_sse_comment("keepalive") : std::move(text);
        co_return chunk;
    }

private:
    std::shared_ptr<realtime::Subscriber> subscriber_;
    media::Library& library_;
    storage::MetaStore& meta_;
    std::string media_id_;
    std::chrono::milliseconds keepalive_;
    std::string opening_;
    bool finished_;
};

}  // namespace

MediaEvents::MediaEvents(media::Library& library, storage::MetaStore& meta, realtime::Hub& hub,
                         std::chrono::milliseconds keepalive)
    : library_(library), meta_(meta), hub_(hub), keepalive_(keepalive) {}

void MediaEvents::add_routes(http::Router& router) {
    router.add("GET", "/v1/media/{id}/events", "media.events", [this](http::Request& r) { return stream(r); });
}

Task<http::Response> MediaEvents::stream(http::Request& request) {
    std::string id(request.param("id"));
    Task<Result<void>> check = library_.check_readable(auth::identity_of(request), id);
    if (auto allowed = co_await std::move(check); !allowed) co_return http::error_response(allowed.error());
    if (hub_.is_closed()) co_return http::error_response(Error(Errc::unavailable, "the server is shutting down"));

    std::vector<std::string> rooms{"media:" + id};
    auto executor = co_await net::this_coro::executor;
    auto subscriber = hub_.subscribe(executor, std::move(rooms));
    auto record = co_await meta_.find_media(id);
    if (!record)
        co_return http::error_response(
            record.error().code() == Errc::not_found ? Error(Errc::not_found, "no such media") : record.error());
    std::string const& state = record->transcode_state;
    bool const finished = state == "done" || state == "failed";
    auto const last_event_id = request.header("Last-Event-ID");
    if (finished && (last_event_id == "ready" || last_event_id == "failed")) co_return http::Response(204);

    std::string opening;
    if (state == "done")
        opening = http::format_sse_event(
            {.name = "ready", .id = "ready", .data = json::serialize(library_.to_json(*record))});
    else if (state == "failed")
        opening =
            http::format_sse_event({.name = "failed", .id = "failed", .data = failed_data(record->transcode_error)});
    else
        opening =
            http::format_sse_event({.name = "progress", .data = progress_data(state, record->transcode_progress)});

    auto response = http::sse_response();
    response.set_stream(std::make_unique<MediaEventStream>(std::move(subscriber), library_, meta_, std::move(id),
                                                           keepalive_, std::move(opening), finished));
    co_return response;
}

}  // namespace onda::app
