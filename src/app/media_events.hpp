// GET /v1/media/{id}/events (API.md "Media library"): a media object's transcode as Server-Sent
// Events, for whoever may read the media (public, owner, admin):
//
//   event: progress   data: {"state":"running","progress":0.42}   the state now, then each change
//   event: ready      data: the media object                      the transcode is done; the stream ends
//   event: failed     data: {"state":"failed","error":"…"}        it failed for good; the stream ends
//
// A media already done or failed gets its ready or failed event at once. ready and failed carry
// `id: ready` / `id: failed`: a browser's EventSource reconnects after any end of the stream, and a
// reconnection with that Last-Event-ID is answered 204 No Content, which tells it to stop (HTML
// §9.2.3). The events come from the hub's `media:{id}` room (media_progress, app/media_progress.hpp);
// the room is joined before the row is read, so no change falls between the two.
#pragma once

#include <chrono>

#include "http/request.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "media/library.hpp"
#include "realtime/hub.hpp"
#include "storage/meta_store.hpp"

namespace onda::app {

class MediaEvents {
public:
    // Every reference must outlive the server.
    MediaEvents(media::Library& library, storage::MetaStore& meta, realtime::Hub& hub,
                std::chrono::milliseconds keepalive);

    void add_routes(http::Router& router);
    Task<http::Response> stream(http::Request& request);

private:
    media::Library& library_;
    storage::MetaStore& meta_;
    realtime::Hub& hub_;
    std::chrono::milliseconds keepalive_;
};

}  // namespace onda::app
