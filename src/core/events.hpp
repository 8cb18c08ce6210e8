// The internal event bus as publishers see it: a module publishes a named event with a JSON payload
// to a room ("user:alice", "upload:u_…", "media:m_…"); whoever listens (the realtime hub: Socket.IO,
// SSE, Redis between nodes) is not the publisher's business.
//
// Example:
//   events.publish("user:alice", "upload_progress", {{"uploadId", id}, {"percentage", 42}});
#pragma once

#include <string_view>

#include <boost/json/object.hpp>

namespace onda {

class EventSink {
public:
    virtual ~EventSink() = default;
    // Thread-safe, callable from any thread; never waits for listeners.
    virtual void publish(std::string_view room, std::string_view event, boost::json::object data) = 0;
};

// Drops every event: for commands and tests that run without a hub.
class NullEventSink final : public EventSink {
public:
    void publish(std::string_view, std::string_view, boost::json::object) override {}
};

}  // namespace onda
