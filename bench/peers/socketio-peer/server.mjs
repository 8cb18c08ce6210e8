// The peer of bench/run_realtime_bench.sh: the plainest socket.io 4.x server (version pinned in
// package-lock.json) doing what onda does in that benchmark, on 127.0.0.1.
//
//   node server.mjs [PORT]
//
// What it does, like onda:
//   - every client is put in room `user:<auth.sub>` when it connects (onda: the user room of its token;
//     the load tool sends `auth: {sub: "bench"}` here, a token there), and may `join` / `leave` others
//     with an ack {ok, room, viewers};
//   - `POST /publish?room=ROOM&event=EVENT` with a JSON body broadcasts that body to the room, encoded
//     once by socket.io's adapter for every socket (onda: a tus PATCH publishes `upload_progress` to
//     the uploader's user room). 204 once handed to the adapter.
// Defaults everywhere else (pingInterval 25 s, pingTimeout 20 s, no per-message deflate). PORT 0 (the
// default) lets the kernel choose; once listening the server prints {"port":N} as one line on stdout.
// SIGTERM and SIGINT close it.
import http from 'node:http';
import { Server } from 'socket.io';

const [portText = '0'] = process.argv.slice(2);
const maxBodyBytes = 64 * 1024;

function publish(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const room = url.searchParams.get('room');
  const event = url.searchParams.get('event') || 'message';
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > maxBodyBytes) req.destroy();
    else chunks.push(chunk);
  });
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (!room) {
      res.writeHead(400).end();
      return;
    }
    io.to(room).emit(event, body);
    res.writeHead(204).end();
  });
}

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url.startsWith('/publish')) return publish(req, res);
  res.writeHead(404).end();
});

const io = new Server(server);
io.on('connection', (socket) => {
  const sub = socket.handshake.auth && socket.handshake.auth.sub;
  if (typeof sub === 'string' && sub) socket.join(`user:${sub}`);
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
