// Job changes become `media_progress` events (API.md "Realtime"): {mediaId, state, progress, error}
// in the rooms `media:{id}` and `user:{owner}`. Every change of state is published; a moving
// progress at most every `min_interval` per media (about four a second by default), so a chatty
// transcoder cannot flood the hub.
//
// Runs on one executor (the worker supervisor's). The owner is looked up once per job run and kept
// while the job runs; a media that no longer exists gets no events.
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>

#include "core/events.hpp"
#include "core/task.hpp"
#include "media/transcode_worker.hpp"
#include "storage/meta_store.hpp"

namespace onda::app {

class MediaProgress {
public:
    // `meta` and `events` must outlive this.
    MediaProgress(storage::MetaStore& meta, EventSink& events,
                  std::chrono::milliseconds min_interval = std::chrono::milliseconds(250));

    Task<> publish(media::JobEvent event);

private:
    struct Running {
        std::string owner;
        std::chrono::steady_clock::time_point last_published;
    };

    storage::MetaStore& meta_;
    EventSink& events_;
    std::chrono::milliseconds min_interval_;
    std::unordered_map<std::string, Running> running_;  // media whose last published state is running
};

}  // namespace onda::app
