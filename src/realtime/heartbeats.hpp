// The Engine.IO heartbeats of one thread's sessions with one timer (protocol "Heartbeat"): instead of
// a task and a timer per session (10,000 idle WebSockets held 10,000 of each), the thread keeps two
// lists ordered by deadline: sessions whose next ping is due (ping_interval after they opened or
// last answered), and sessions waiting for a pong (ping_timeout after their ping). The timer wakes
// at the earliest deadline of the two; each due session gets its ping, or is closed (ping_timeout).
//
// Both lists stay ordered by appending: every session of one Heartbeats uses the same interval and
// timeout (the EngineOptions given here), so a deadline computed now is never earlier than one
// computed before. Membership is an intrusive hook in the session: joining, moving and leaving cost
// no allocation.
//
// Lifetime: a Heartbeats lives while its timer waits, i.e. while any session is listed (the wait's
// handler owns it), and while someone else holds it. A listed session is kept alive by the keep-alive
// it joined with, released when it closes; when the Heartbeats itself goes (its io_context is
// destroyed at shutdown), it releases the sessions still listed, so nothing outlives the thread.
//
// Threads: everything on the executor's thread, which must be the sessions' own.
#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include "realtime/engineio_session.hpp"

namespace onda::realtime {

class Heartbeats : public std::enable_shared_from_this<Heartbeats> {
public:
    // `options` must outlive the Heartbeats (its sessions use the same).
    Heartbeats(net::any_io_executor executor, EngineOptions const& options);
    ~Heartbeats();
    Heartbeats(Heartbeats const&) = delete;
    Heartbeats& operator=(Heartbeats const&) = delete;

    // Through EngineIoSession::start_heartbeat, pong and close.
    void join(EngineIoSession& session);    // its first ping is due ping_interval from now
    void ponged(EngineIoSession& session);  // its next ping is due ping_interval from now
    void leave(EngineIoSession& session);

    std::size_t size() const { return due_ping_.size() + due_pong_.size(); }

private:
    using Clock = std::chrono::steady_clock;
    using List = boost::intrusive::list<EngineIoSession,
                                        boost::intrusive::member_hook<EngineIoSession, EngineIoSession::HeartbeatHook,
                                                                      &EngineIoSession::heartbeat_hook_>,
                                        boost::intrusive::constant_time_size<true>>;

    void unlink(EngineIoSession& session);  // from whichever list holds it
    void append(List& list, EngineIoSession& session, Clock::time_point deadline);
    void arm();
    void fire();

    net::steady_timer timer_;
    EngineOptions const& options_;
    List due_ping_;  // by EngineIoSession::heartbeat_deadline_, earliest first
    List due_pong_;
    bool waiting_ = false;
    Clock::time_point armed_for_{};
};

}  // namespace onda::realtime
