// The built-in events `join` and `leave` ({room}): a client follows hub rooms it may read
// (realtime/room_access.hpp). Acks: join {ok:true, room, history:[{id, offset, event, data}], viewers} where
// history is what the room kept (oldest first) and viewers counts its subscribers now, this client
// included; leave {ok:true, room}; either {ok:false, error:{code, message}}.
#pragma once

#include <memory>

#include "core/task.hpp"
#include "realtime/detail/socketio_connection.hpp"

namespace onda::realtime::detail {

Task<> join_room(std::shared_ptr<SocketIoConnection> client, SocketIoShared& shared, ClientEvent event, Ack ack);
Task<> leave_room(std::shared_ptr<SocketIoConnection> client, SocketIoShared& shared, ClientEvent event, Ack ack);

}  // namespace onda::realtime::detail
