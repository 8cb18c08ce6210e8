#include "app/media_progress.hpp"

#include <boost/json/object.hpp>

#include "core/log.hpp"

namespace onda::app {

MediaProgress::MediaProgress(storage::MetaStore& meta, EventSink& events, std::chrono::milliseconds min_interval)
    : meta_(meta), events_(events), min_interval_(min_interval) {}

Task<> MediaProgress::publish(media::JobEvent event) {
    auto const now = std::chrono::steady_clock::now();
    bool const running = event.state == "running";
    std::string owner;
    if (auto it = running_.find(event.media_id); it != running_.end()) {
        if (running && now - it->second.last_published < min_interval_) co_return;  // the next one will tell
        owner = it->second.owner;
    } else {
        auto record = co_await meta_.find_media(event.media_id);
        if (!record) {
            if (record.error().code() != Errc::not_found)
                log::warn("media_progress {}: {}", event.media_id, record.error().message());
            co_return;
        }
        owner = record->owner;
    }
    if (running)
        running_[event.media_id] = Running{.owner = owner, .last_published = now};
    else
        running_.erase(event.media_id);  // queued again, done or failed: the next run looks the owner up anew

    boost::json::object data{{"mediaId", event.media_id},
                             {"state", event.state},
                             {"progress", event.progress},
                             {"error", event.error ? boost::json::value(*event.error) : boost::json::value(nullptr)}};
    events_.publish("media:" + event.media_id, "media_progress", data);
    if (!owner.empty()) events_.publish("user:" + owner, "media_progress", std::move(data));
}

}  // namespace onda::app
