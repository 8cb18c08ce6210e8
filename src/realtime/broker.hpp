// Where a published event goes before the hub hands it to subscribers. On one node the broker is
// in-process and delivers at once; with several nodes a Redis broker would carry each event to every
// node's hub (its own included), which then delivers it to the subscribers it holds. The hub numbers
// what the broker delivers (seq, per-room offset), so every node sees each room's events in one
// order and doors never know how many nodes there are.
//
// Threads: publish() may be called from any thread; `deliver` may be called from any thread (the
// in-process broker calls it on the publisher's, a Redis broker on its reader's), one call at a time
// or concurrently: the hub orders what it is given.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace onda::realtime {

class Broker {
public:
    // An event for this node's hub: room, event name, JSON payload (serialised), and the Socket.IO
    // socket it must not reach ("" for none; Event::except).
    using Deliver =
        std::function<void(std::string_view room, std::string_view event, std::string data, std::string_view except)>;

    virtual ~Broker() = default;
    // Once, before the first publish; `deliver` must stay callable until the broker is destroyed.
    virtual void start(Deliver deliver) = 0;
    // Sends the event to every node, this one included.
    virtual void publish(std::string_view room, std::string_view event, std::string data, std::string_view except) = 0;
};

// One node: publish() is deliver().
class InProcessBroker final : public Broker {
public:
    void start(Deliver deliver) override { deliver_ = std::move(deliver); }
    void publish(std::string_view room, std::string_view event, std::string data, std::string_view except) override {
        deliver_(room, event, std::move(data), except);
    }

private:
    Deliver deliver_;
};

}  // namespace onda::realtime
