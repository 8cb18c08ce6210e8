// One thread's part of the hub: which of the subscribers living on that thread are in which room.
// The hub posts each event once to every thread with subscribers in its room; deliver() then offers
// it to them there, so delivering to 10,000 sockets takes no lock and crosses no thread.
//
// Threads: everything but executor() runs on the shard's thread (or while no thread runs it). A
// subscriber may leave (and be destroyed) while deliver() or close_all() is offering to others: it is
// then only marked gone, and the list is tidied once the loop is over.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "core/task.hpp"
#include "realtime/event.hpp"

namespace onda::realtime {
class Subscriber;
}

namespace onda::realtime::detail {

class HubShard {
public:
    explicit HubShard(net::any_io_executor executor) : executor_(std::move(executor)) {}
    HubShard(HubShard const&) = delete;
    HubShard& operator=(HubShard const&) = delete;

    net::any_io_executor const& executor() const { return executor_; }

    void add(Subscriber& subscriber);
    void remove(Subscriber& subscriber);  // and from every room
    // From now on events of `room` with a seq above `after_seq` reach the subscriber. (Events the
    // hub posted before the join may still be on their way; the seq keeps them out.)
    void join(std::string const& room, Subscriber& subscriber, std::uint64_t after_seq);
    void leave(std::string const& room, Subscriber& subscriber);

    void deliver(EventPtr const& event);
    // The hub closed: every subscriber here ends (Subscriber::End::closed).
    void close_all();

private:
    struct Member {
        Subscriber* subscriber;  // nullptr: left while a loop was running
        std::uint64_t after_seq;
    };
    void erase_from(std::vector<Member>& members, Subscriber& subscriber);
    void tidy();

    net::any_io_executor executor_;
    std::unordered_map<std::string, std::vector<Member>> rooms_;
    std::vector<Subscriber*> subscribers_;
    int looping_ = 0;      // deliver() or close_all() running
    bool untidy_ = false;  // members were marked gone meanwhile
};

}  // namespace onda::realtime::detail
