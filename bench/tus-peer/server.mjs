// The peer of bench/run_tus_bench.sh: the reference tus 1.0.0 server, @tus/server with @tus/file-store
// (versions pinned in package-lock.json), as its README sets it up, on 127.0.0.1 at path /files.
//
//   node server.mjs DIRECTORY [PORT]
//
// DIRECTORY receives the uploads (one data file and one .json metadata file per upload). PORT 0 (the
// default) lets the kernel choose; once listening the server prints {"port":N} as one line on stdout.
// No authentication, no hooks, the default in-memory locker: the plainest @tus/server there is.
// SIGTERM and SIGINT close it.
import http from 'node:http';
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

const [directory, portText = '0'] = process.argv.slice(2);
if (!directory) {
  console.error('usage: node server.mjs DIRECTORY [PORT]');
  process.exit(2);
}

const tus = new Server({
  path: '/files',
  datastore: new FileStore({ directory }),
});

const server = http.createServer((req, res) => tus.handle(req, res));
server.listen(Number(portText), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
