// The peer of bench/run_realtime_bench.sh: the plainest socket.io 4.x server (version pinned in
// package-lock.json) doing what onda does in that benchmark, on 127.0.0.1.
//
//   node server.mjs [PORT]
//
// What it does, like onda:
//   - every client is put in room `user:<auth.sub>` when it connects (onda: the user room of its token;
//     the load tool sends `auth: {sub: "bench", deviceId}` here, a token there), and may `join` / `leave`
//     others with an ack {ok, room, viewers};
//   - `volume_change {volume}` (0..1) with an ack: `sync_state` of the same shape and size as onda's
//     (API.md "Realtime": {action: "volume", payload: {volume}, timestamp, deviceId, state: {trackId,
//     playing, position, volume, quality, updatedAt, duration, queue}}) goes to every other socket of the
//     user with `socket.to(room).emit`, encoded once by socket.io's adapter, and the sender gets
//     {ok, state}. onda also saves the user's state in its database before it acks; this peer keeps
//     nothing (it has no database).
// Defaults everywhere else (pingInterval 25 s, pingTimeout 20 s, no per-message deflate). PORT 0 (the
// default) lets the kernel choose; once listening the server prints {"port":N} as one line on stdout.
// SIGTERM and SIGINT close it.
import http from 'node:http';
import { Server } from 'socket.io';

const [portText = '0'] = process.argv.slice(2);

const server = http.createServer((req, res) => {
  res.writeHead(404).end();
});

const io = new Server(server);
io.on('connection', (socket) => {
  const { sub, deviceId } = socket.handshake.auth || {};
  const userRoom = typeof sub === 'string' && sub ? `user:${sub}` : null;
  if (userRoom) socket.join(userRoom);
  socket.on('join', (args, ack) => {
    const room = args && typeof args.room === 'string' ? args.room : null;
    if (!room) return typeof ack === 'function' && ack({ ok: false, error: { code: 'invalid_argument' } });
    socket.join(room);
    const viewers = io.sockets.adapter.rooms.get(room)?.size ?? 0;
    if (typeof ack === 'function') ack({ ok: true, room, viewers });
  });
  socket.on('leave', (args, ack) => {
    const room = args && typeof args.room === 'string' ? args.room : null;
    if (room) socket.leave(room);
    if (typeof ack === 'function') ack({ ok: true, room });
  });
  socket.on('volume_change', (args, ack) => {
    const volume = args && typeof args.volume === 'number' ? args.volume : NaN;
    if (!userRoom || !(volume >= 0 && volume <= 1)) {
      if (typeof ack === 'function') ack({ ok: false, error: { code: 'invalid_argument' } });
      return;
    }
    const now = Date.now();
    const state = {
      trackId: null,
      playing: false,
      position: 0,
      volume,
      quality: '128k',
      updatedAt: now,
      duration: 0,
      queue: { trackIds: [], index: 0 },
    };
    socket.to(userRoom).emit('sync_state', {
      action: 'volume',
      payload: { volume },
      timestamp: now,
      deviceId: typeof deviceId === 'string' ? deviceId : null,
      state,
    });
    if (typeof ack === 'function') ack({ ok: true, state });
  });
});

server.listen(Number(portText), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});

const stop = () => {
  io.close();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
