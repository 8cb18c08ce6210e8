#include "realtime/detail/socketio_transport.hpp"

#include <charconv>
#include <optional>

#include <boost/asio/this_coro.hpp>

#include "auth/identity.hpp"
#include "http/websocket.hpp"
#include "realtime/detail/session_calls.hpp"
#include "realtime/detail/session_websocket.hpp"
#include "realtime/detail/socketio_connection.hpp"

namespace onda::realtime::detail {
namespace {

using Clock = std::chrono::steady_clock;
using Pulled = EngineIoSession::Pulled;

// A polling POST carries at most this many packets (each at least one byte and a separator, so a
// body within maxPayload would allow half a million).
constexpr std::size_t max_packets_per_post = 1024;

http::Response text(std::string body, std::string content_type = "text/plain; charset=UTF-8") {
    http::Response response(200);
    response.add_header("Content-Type", std::move(content_type));
    response.set_text(std::move(body));
    return response;
}

Task<Result<Pulled>> pull_there(SocketIoShared& shared, std::size_t worker, std::string sid, Transport via,
                                Clock::time_point deadline) {
    auto connection = find(shared, worker, sid);
    if (!connection) co_return unknown_session();
    Task<Result<Pulled>> pulling = connection->engine().pull(via, deadline);
    co_return co_await std::move(pulling);
}

Task<Result<Pulled>> pull(SocketIoShared& shared, std::size_t worker, std::string sid, Transport via,
                          Clock::time_point deadline) {
    // On the owner thread already (a long-poll on the session's own thread): pull there directly,
    // two frames fewer while the GET is held.
    auto const here = co_await net::this_coro::executor;
    if (here == shared.threads[worker].executor) {
        auto connection = find(shared, worker, sid);
        if (!connection) co_return unknown_session();
        Task<Result<Pulled>> pulling = connection->engine().pull(via, deadline);
        co_return co_await std::move(pulling);
    }
    Task<Result<Pulled>> there = pull_there(shared, worker, std::move(sid), via, deadline);
    Task<Result<Pulled>> hop = on_owner(shared, worker, std::move(there));
    co_return co_await std::move(hop);
}

Task<> close_session(SocketIoShared& shared, std::size_t worker, std::string sid, CloseReason reason) {
    Task<Result<void>> closed = with_session(shared, worker, std::move(sid), closing(reason));
    co_await std::move(closed);  // a session already gone needs no closing
}

// A polling answer: the frames as one payload, then a close packet when the session is over, or a
// noop when the long-poll ended with nothing to say.
http::Response payload_response(Pulled const& pulled) {
    std::string body;
    for (auto const& frame : pulled.frames) append_engine_payload(body, *frame.bytes, frame.binary);
    if (pulled.closed) append_engine_payload(body, encode_engine_text(EngineType::close), false);
    if (body.empty()) body = encode_engine_text(EngineType::noop);
    return text(std::move(body));
}

}  // namespace

std::optional<std::size_t> owner_of(std::string_view sid, std::size_t threads) {
    auto const dash = sid.rfind('-');
    if (dash == std::string_view::npos || dash + 1 >= sid.size()) return std::nullopt;
    auto const digits = sid.substr(dash + 1);
    std::size_t worker = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), worker);
    if (ec != std::errc{} || end != digits.data() + digits.size() || worker >= threads) return std::nullopt;
    return worker;
}

Task<http::Response> open_polling(SocketIoShared& shared, http::Request& request) {
    std::size_t const worker = request.worker();
    std::string const sid = make_sid(worker);
    auto connection = std::make_shared<SocketIoConnection>(
        shared, sid, Transport::polling, shared.threads[worker].executor,
        Opening{auth::Authenticator::token_of(request), request.remote_address(), worker});
    shared.threads[worker].by_sid.emplace(sid, connection);
    connection->start();
    // The open packet is queued already: this pull returns it at once.
    Task<Result<Pulled>> pulling = connection->engine().pull(Transport::polling, Clock::now());
    auto pulled = co_await std::move(pulling);
    if (!pulled) co_return http::error_response(pulled.error());
    co_return payload_response(*pulled);
}

Task<http::Response> poll(SocketIoShared& shared, http::Request&, std::string sid) {
    auto const worker = owner_of(sid, shared.threads.size());
    if (!worker) co_return http::error_response(unknown_session());
    auto const& engine = shared.options.engine;
    // A ping is queued every pingInterval, so a held GET ends by then; the deadline is a backstop.
    auto const deadline = Clock::now() + engine.ping_interval + engine.ping_timeout;
    Task<Result<Pulled>> pulling = pull(shared, *worker, std::move(sid), Transport::polling, deadline);
    auto pulled = co_await std::move(pulling);
    if (!pulled) co_return http::error_response(pulled.error());
    co_return payload_response(*pulled);
}

Task<http::Response> post(SocketIoShared& shared, http::Request& request, std::string sid) {
    auto const worker = owner_of(sid, shared.threads.size());
    if (!worker) co_return http::error_response(unknown_session());
    Task<Result<std::string>> reading = request.read_body(shared.options.engine.max_payload);
    auto body = co_await std::move(reading);
    if (!body) {
        // Engine.IO: a payload past maxPayload ends the session.
        if (body.error().code() == Errc::too_large) {
            Task<> closing = close_session(shared, *worker, sid, CloseReason::too_large);
            co_await std::move(closing);
        }
        co_return http::error_response(body.error());
    }
    auto packets = decode_engine_payload(*body, max_packets_per_post);
    if (!packets) {
        Task<> closing = close_session(shared, *worker, sid, CloseReason::protocol_error);
        co_await std::move(closing);
        co_return http::error_response(packets.error());
    }
    auto receive = [packets = std::move(*packets)](SocketIoConnection& connection) mutable -> Result<void> {
        auto& engine = connection.engine();
        if (engine.transport() != Transport::polling)
            return Error(Errc::invalid_argument, "the session has moved to its WebSocket");
        for (auto& packet : packets) {
            if (engine.is_closed()) break;
            if (auto received = engine.receive(std::move(packet)); !received) return received;
        }
        return ok();
    };
    Task<Result<void>> receiving = with_session(shared, *worker, std::move(sid), std::move(receive));
    if (auto received = co_await std::move(receiving); !received) co_return http::error_response(received.error());
    co_return text("ok", "text/html");
}

http::Response open_websocket(SocketIoShared& shared, http::Request& request) {
    Opening opening{auth::Authenticator::token_of(request), request.remote_address(), request.worker()};
    auto session = [&shared, opening = std::move(opening)] { return new_session_websocket(shared, opening); };
    return http::accept_websocket(session, websocket_options(shared));
}

Task<http::Response> upgrade(SocketIoShared& shared, http::Request&, std::string sid) {
    auto const worker = owner_of(sid, shared.threads.size());
    if (!worker) co_return http::error_response(unknown_session());
    // Only an open polling session can be upgraded; anything else is refused before the 101.
    auto check = [](SocketIoConnection& connection) -> Result<std::weak_ptr<SocketIoConnection>> {
        auto const& engine = connection.engine();
        if (engine.is_closed() || engine.transport() != Transport::polling)
            return Error(Errc::invalid_argument, "the session cannot be upgraded");
        return connection.weak_from_this();
    };
    Task<Result<std::weak_ptr<SocketIoConnection>>> checking = with_session(shared, *worker, std::move(sid), check);
    auto checked = co_await std::move(checking);
    if (!checked) co_return http::error_response(checked.error());
    auto session = [&shared, worker = *worker, connection = std::move(*checked)] {
        return upgrading_websocket(shared, worker, connection);
    };
    co_return http::accept_websocket(session, websocket_options(shared));
}

}  // namespace onda::realtime::detail
