// How the transports (socketio_transport.cpp, session_websocket.cpp) reach a session: on the
// thread that owns it, found by sid or by a weak reference, so that every reference to a session is
// taken and dropped on its own thread.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include "core/error.hpp"
#include "core/task.hpp"
#include "realtime/detail/socketio_connection.hpp"
#include "realtime/detail/socketio_shared.hpp"

namespace onda::realtime::detail {

// What looking for a session that is not there answers (the text Socket.IO clients know).
inline Error unknown_session() { return Error(Errc::invalid_argument, "Session ID unknown"); }

// A new sid: random, then "-<thread>", so that any thread can tell its owner (owner_of()).
inline std::string make_sid(std::size_t worker) { return random_id() + "-" + std::to_string(worker); }

// On thread `worker`: its session `sid`, or null (a dead entry is dropped on the way).
inline std::shared_ptr<SocketIoConnection> find(SocketIoShared& shared, std::size_t worker, std::string const& sid) {
    auto& table = shared.threads[worker].by_sid;
    auto it = table.find(sid);
    if (it == table.end()) return nullptr;
    auto connection = it->second.lock();
    if (!connection) table.erase(it);
    return connection;
}

// Runs `task` on the thread that owns the sessions of `worker` and resumes here with its result.
// Already there (a WebSocket opened on the session's own thread, the usual case): it just runs.
template <class T>
Task<T> on_owner(SocketIoShared& shared, std::size_t worker, Task<T> task) {
    auto const here = co_await net::this_coro::executor;
    if (here == shared.threads[worker].executor) co_return co_await std::move(task);
    auto spawned = net::co_spawn(shared.threads[worker].executor, std::move(task), use_task);
    co_return co_await std::move(spawned);
}

// How a transport finds its session, on the owner thread: by sid (a polling request, or a
// WebSocket before the upgrade), or by a weak reference (a WebSocket's, which keeps no copy of the
// sid). Either finds only an open session: a closed one has left the sid table.
struct BySid {
    SocketIoShared& shared;
    std::size_t worker;
    std::string sid;
    std::shared_ptr<SocketIoConnection> operator()() const { return find(shared, worker, sid); }
};

struct ByReference {
    std::weak_ptr<SocketIoConnection> weak;
    std::shared_ptr<SocketIoConnection> operator()() const {
        auto connection = weak.lock();
        return connection && !connection->engine().is_closed() ? connection : nullptr;
    }
};

// On the owner thread: fn(session), or "Session ID unknown". `find` and `fn` are plain function
// objects; the session's reference is taken, and dropped, there.
template <class Find, class Fn>
Task<std::invoke_result_t<Fn&, SocketIoConnection&>> with_found_there(Find find, Fn fn) {
    auto connection = find();
    if (!connection) co_return unknown_session();
    co_return fn(*connection);
}

template <class Find, class Fn>
Task<std::invoke_result_t<Fn&, SocketIoConnection&>> with_found(SocketIoShared& shared, std::size_t worker, Find find,
                                                                Fn fn) {
    using R = std::invoke_result_t<Fn&, SocketIoConnection&>;
    Task<R> there = with_found_there(std::move(find), std::move(fn));
    Task<R> hop = on_owner(shared, worker, std::move(there));
    co_return co_await std::move(hop);
}

template <class Fn>
Task<std::invoke_result_t<Fn&, SocketIoConnection&>> with_session(SocketIoShared& shared, std::size_t worker,
                                                                  std::string sid, Fn fn) {
    return with_found(shared, worker, BySid{shared, worker, std::move(sid)}, std::move(fn));
}

template <class Fn>
Task<std::invoke_result_t<Fn&, SocketIoConnection&>> with_connection(SocketIoShared& shared, std::size_t worker,
                                                                     std::weak_ptr<SocketIoConnection> weak, Fn fn) {
    return with_found(shared, worker, ByReference{std::move(weak)}, std::move(fn));
}

// What closes a session for `reason`, for with_session() or with_connection().
inline auto closing(CloseReason reason) {
    return [reason](SocketIoConnection& connection) -> Result<void> {
        connection.engine().close(reason);
        return ok();
    };
}

}  // namespace onda::realtime::detail
