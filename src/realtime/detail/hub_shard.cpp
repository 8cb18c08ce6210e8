#include "realtime/detail/hub_shard.hpp"

#include <algorithm>
#include <memory>

#include "realtime/subscriber.hpp"

namespace onda::realtime::detail {

void HubShard::add(Subscriber& subscriber) { subscribers_.push_back(&subscriber); }

void HubShard::remove(Subscriber& subscriber) {
    for (auto& room : subscriber.rooms()) leave(room, subscriber);
    auto it = std::find(subscribers_.begin(), subscribers_.end(), &subscriber);
    if (it == subscribers_.end()) return;
    if (looping_ > 0) {
        *it = nullptr;
        untidy_ = true;
    } else {
        *it = subscribers_.back();
        subscribers_.pop_back();
    }
}

void HubShard::join(std::string const& room, Subscriber& subscriber, std::uint64_t after_seq) {
    rooms_[room].push_back(Member{&subscriber, after_seq});
}

void HubShard::erase_from(std::vector<Member>& members, Subscriber& subscriber) {
    auto it = std::find_if(members.begin(), members.end(),
                           [&subscriber](Member const& m) { return m.subscriber == &subscriber; });
    if (it == members.end()) return;
    if (looping_ > 0) {
        it->subscriber = nullptr;
        untidy_ = true;
    } else {
        members.erase(it);  // keeps the order of the others: they joined in that order
    }
}

void HubShard::leave(std::string const& room, Subscriber& subscriber) {
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return;
    erase_from(it->second, subscriber);
    if (it->second.empty()) rooms_.erase(it);
}

void HubShard::deliver(EventPtr const& event) {
    auto it = rooms_.find(event->room);
    if (it == rooms_.end()) return;
    ++looping_;
    // By index: a sink may make another subscriber join meanwhile (appended, with a later seq).
    auto& members = it->second;
    for (std::size_t i = 0; i < members.size(); ++i) {
        Member const member = members[i];
        if (member.subscriber && event->seq > member.after_seq) member.subscriber->offer(event);
    }
    --looping_;
    if (looping_ == 0 && untidy_) tidy();
}

void HubShard::close_all() {
    // Weak: ending one may release others (a connection leaving takes its subscriber with it).
    std::vector<std::weak_ptr<Subscriber>> everyone;
    everyone.reserve(subscribers_.size());
    for (auto* subscriber : subscribers_)
        if (subscriber) everyone.push_back(subscriber->weak_from_this());
    ++looping_;
    for (auto const& weak : everyone)
        if (auto subscriber = weak.lock()) subscriber->end(Subscriber::End::closed);
    --looping_;
    if (looping_ == 0 && untidy_) tidy();
}

void HubShard::tidy() {
    untidy_ = false;
    std::erase(subscribers_, nullptr);
    for (auto it = rooms_.begin(); it != rooms_.end();) {
        std::erase_if(it->second, [](Member const& m) { return m.subscriber == nullptr; });
        it = it->second.empty() ? rooms_.erase(it) : std::next(it);
    }
}

}  // namespace onda::realtime::detail
