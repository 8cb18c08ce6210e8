// onda's Socket.IO endpoint (/socket.io/) driven by the stock socket.io-client 4.x from npm in all
// three transport settings, and by raw WebSockets and HTTP (the `ws` package, fetch) where a client
// library would not send what is tested: malformed packets, oversized messages, silence.
//
//   ONDA_BIN=build/ci/src/onda node --test tests/e2e/js/socketio.test.mjs     (ctest: e2e.js.socketio)
//
// Binary attachments need an event that carries bytes; onda registers none yet, so those tests run
// against socketio_fixture (tests/realtime/socketio_fixture.cpp: the same endpoint with one
// test-only event), found through SOCKETIO_FIXTURE_BIN (default build/ci/tests/realtime/socketio_fixture).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { io } from 'socket.io-client';
import WebSocket from 'ws';

import {
  createUpload,
  eventually,
  makeTempDir,
  makeWav,
  patch,
  repoRoot,
  sleep,
  startOnda,
  within,
} from './support/onda.mjs';

const TIMEOUT = 60_000;
const FIXTURE_BIN = path.resolve(repoRoot, process.env.SOCKETIO_FIXTURE_BIN ?? 'build/ci/tests/realtime/socketio_fixture');

// [label, socket.io-client `transports`, the transport it ends on]
const MODES = [
  ['websocket only', ['websocket'], 'websocket'],
  ['polling only', ['polling'], 'polling'],
  ['default (polling, then the upgrade)', undefined, 'websocket'],
];

// ---------------------------------------------------------------------------------------------
// Helpers

// A socket.io-client socket closed when the test ends. No reconnection unless asked for.
function client(t, base, options = {}) {
  const socket = io(base, { reconnection: false, forceNew: true, timeout: 5_000, ...options });
  t.after(() => socket.close());
  return socket;
}

function connected(socket) {
  if (socket.connected) return Promise.resolve(socket);
  return within(
    10_000,
    new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    }),
    'connect',
  );
}

// The connect_error of a socket the server refuses.
function refused(socket) {
  return within(
    10_000,
    new Promise((resolve, reject) => {
      socket.once('connect', () => reject(new Error('connected, but a refusal was expected')));
      socket.once('connect_error', resolve);
    }),
    'connect_error',
  );
}

function disconnected(socket, ms = 10_000) {
  if (!socket.connected) return Promise.resolve('already');
  return within(ms, new Promise((resolve) => socket.once('disconnect', resolve)), 'disconnect');
}

// Resolves once the socket runs on `transport` (the default setting upgrades after connecting).
async function onTransport(socket, transport) {
  const engine = socket.io.engine;
  if (engine.transport.name !== transport)
    await within(10_000, new Promise((resolve) => engine.once('upgrade', resolve)), `upgrade to ${transport}`);
  assert.equal(engine.transport.name, transport);
}

const ack = (socket, event, ...args) => socket.timeout(5_000).emitWithAck(event, ...args);

// A WebSocket speaking Engine.IO by hand: `next()` is the next message (text as a string, binary as
// a Buffer), `closed` resolves with the close code.
function rawSocket(t, port, query = '') {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket${query}`);
  const queue = [];
  let wake = null;
  ws.on('message', (data, isBinary) => {
    queue.push(isBinary ? data : data.toString());
    wake?.();
  });
  ws.on('error', () => {}); // a refused or reset socket shows in `closed`
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  t.after(() => ws.terminate());
  return {
    ws,
    closed,
    opened: within(10_000, new Promise((resolve) => ws.once('open', resolve)), 'WebSocket open'),
    async next(ms = 5_000) {
      if (queue.length === 0)
        await within(ms, new Promise((resolve) => (wake = resolve)), 'a WebSocket message').finally(() => (wake = null));
      return queue.shift();
    },
    send: (data) => ws.send(data),
  };
}

// Opens a raw session and connects it to "/"; the socket and its handshake.
async function rawConnected(t, port, auth = '') {
  const raw = rawSocket(t, port);
  const open = await raw.next();
  assert.match(open, /^0\{/);
  raw.send(`40${auth}`);
  assert.match(await raw.next(), /^40\{"sid":/);
  return { raw, handshake: JSON.parse(open.slice(1)) };
}

// Long-polling by hand with fetch.
async function pollingHandshake(base, query = '') {
  const res = await fetch(`${base}/socket.io/?EIO=4&transport=polling${query}`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  const body = await res.text();
  assert.match(body, /^0\{/);
  return JSON.parse(body.slice(1)).sid;
}

const pollUrl = (base, sid) => `${base}/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;

async function pollPost(base, sid, body) {
  const res = await fetch(pollUrl(base, sid), {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, text: await res.text() };
}

async function pollGet(base, sid) {
  const res = await fetch(pollUrl(base, sid), { signal: AbortSignal.timeout(60_000) });
  return { status: res.status, text: await res.text() };
}

// socketio_fixture on an ephemeral port, stopped (and required to exit 0) when the test ends.
async function startFixture(t) {
  if (!fs.existsSync(FIXTURE_BIN)) throw new Error(`no socketio_fixture at ${FIXTURE_BIN}: build it, or set SOCKETIO_FIXTURE_BIN`);
  const dir = await makeTempDir(t);
  const ready = path.join(dir, 'ready.json');
  const child = spawn(FIXTURE_BIN, ['--ready-file', ready], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk) => (log += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  t.after(async () => {
    child.kill('SIGTERM');
    const status = await within(15_000, exited, 'socketio_fixture exit');
    if (status !== 0) throw new Error(`socketio_fixture exited with ${status}:\n${log}`);
  });
  const port = await eventually(() => {
    try {
      return JSON.parse(fs.readFileSync(ready, 'utf8')).port;
    } catch {
      return null;
    }
  }, 10_000);
  if (!port) throw new Error(`socketio_fixture did not start:\n${log}`);
  return `http://127.0.0.1:${port}`;
}

// ---------------------------------------------------------------------------------------------
// The three transport settings

for (const [label, transports, transport] of MODES) {
  test(`${label}: connect, join with an ack, and a tus upload's progress reaches its user's socket`, { timeout: TIMEOUT }, async (t) => {
    const onda = await startOnda(t);
    const token = onda.token('alice', 'creator');
    const socket = client(t, onda.base, { transports, auth: { token, deviceId: 'laptop' } });
    await connected(socket);
    await onTransport(socket, transport);

    assert.deepEqual(await ack(socket, 'join', { room: 'chat:lobby' }), { ok: true, room: 'chat:lobby', history: [], viewers: 1 });

    // A real publisher: tus reports an upload's progress to its owner's room, which every socket
    // of that user is in from the start.
    const progress = [];
    const completed = new Promise((resolve) =>
      socket.on('upload_progress', (event) => {
        progress.push(event);
        if (event.status === 'completed') resolve();
      }),
    );
    const wav = await makeWav(t, 1);
    const url = await createUpload(onda, token, wav.bytes.length);
    assert.equal((await patch(url, token, 0, wav.bytes)).status, 204);
    await within(20_000, completed, 'upload_progress completed');
    const uid = new URL(url).pathname.split('/').pop();
    assert.ok(progress.every((event) => event.uploadId === uid));
    assert.deepEqual([...new Set(progress.map((event) => event.status))].slice(-2), ['processing', 'completed']);

    // The upload's own room follows the access rules of GET /v1/events (its owner may), with history.
    const joined = await ack(socket, 'join', { room: `upload:${uid}` });
    assert.equal(joined.ok, true);
    assert.ok(joined.history.some((event) => event.event === 'upload_progress' && event.data.status === 'completed'));
    assert.equal((await ack(socket, 'leave', { room: `upload:${uid}` })).ok, true);
    assert.equal(socket.io.engine.transport.name, transport);
  });

  test(`${label}: binary attachments both ways (socketio_fixture)`, { timeout: TIMEOUT }, async (t) => {
    const base = await startFixture(t);
    const socket = client(t, base, { transports });
    await connected(socket);
    await onTransport(socket, transport);
    const small = Buffer.from([0, 1, 2, 253, 254, 255]);
    const large = Buffer.alloc(300_000, 7);
    const echoed = within(10_000, new Promise((resolve) => socket.once('binary_echo', resolve)), 'binary_echo event');
    const reply = await ack(socket, 'binary_echo', { name: 'two files', small, nested: { large } });
    assert.equal(reply.ok, true);
    assert.deepEqual(reply.sizes, [small.length, large.length]);
    assert.equal(reply.data.length, 2);
    assert.ok(Buffer.from(reply.data[0]).equals(large));
    assert.ok(Buffer.from(reply.data[1]).equals(small));
    const event = await echoed;
    assert.equal(event.name, 'two files');
    assert.ok(Buffer.from(event.small).equals(small));
    assert.ok(Buffer.from(event.nested.large).equals(large));
  });
}

// ---------------------------------------------------------------------------------------------
// Identity and limits

test('anonymous viewers connect read-only: public rooms yes, user rooms no; unknown events get not_found', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const socket = await connected(client(t, onda.base, { transports: ['websocket'] }));
  assert.equal((await ack(socket, 'join', { room: 'chat:s1' })).ok, true);
  assert.equal((await ack(socket, 'join', { room: 'stream:s1' })).ok, true);
  const user = await ack(socket, 'join', { room: 'user:alice' });
  assert.deepEqual(user.error.code, 'unauthenticated');
  assert.equal(user.ok, false);
  assert.equal((await ack(socket, 'join', { room: 'not a room' })).error.code, 'invalid_argument');
  assert.equal((await ack(socket, 'join', 'chat:s1')).error.code, 'invalid_argument');
  assert.equal((await ack(socket, 'no_such_event', { x: 1 })).error.code, 'not_found');
  socket.emit('no_such_event_either'); // without an ack: dropped, nothing else happens
  assert.equal((await ack(socket, 'leave', { room: 'chat:s1' })).ok, true);
  assert.ok(socket.connected);
});

test('a bad token is refused with connect_error invalid_token, from auth.token or the query', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  for (const transports of [['websocket'], ['polling']]) {
    const err = await refused(client(t, onda.base, { transports, auth: { token: 'not.a.token' } }));
    assert.equal(err.message, 'invalid_token');
    assert.equal(err.data.code, 'unauthenticated');
    const fromQuery = await refused(client(t, onda.base, { transports, query: { token: 'not.a.token' } }));
    assert.equal(fromQuery.message, 'invalid_token');
  }
  // A good token in the query is used when auth has none.
  const socket = await connected(client(t, onda.base, { query: { token: onda.token('alice') } }));
  assert.equal((await ack(socket, 'join', { room: 'user:alice' })).ok, true);
  assert.equal((await ack(socket, 'join', { room: 'user:bob' })).error.code, 'forbidden');
});

test('a user may hold 3 devices: the 4th gets connect_error device_limit; the same device again is fine', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const token = onda.token('alice');
  const device = (deviceId, transports = ['websocket']) => client(t, onda.base, { transports, auth: { token, deviceId } });
  const phone = await connected(device('phone'));
  await connected(device('laptop', ['polling']));
  const tv = await connected(device('tv'));

  const err = await refused(device('watch'));
  assert.equal(err.message, 'device_limit');
  assert.equal(err.data.code, 'device_limit');
  await connected(device('phone', undefined)); // a second tab of the phone
  await connected(client(t, onda.base, { auth: { token: onda.token('bob'), deviceId: 'watch' } })); // bob is counted apart

  tv.disconnect(); // a device that leaves makes room
  const watch = await eventually(async () => {
    const socket = device('watch');
    try {
      return await connected(socket);
    } catch {
      socket.close();
      return null;
    }
  }, 5_000);
  assert.ok(watch, 'the watch connects once the tv has left');
  assert.ok(phone.connected);
});

test('events past events_per_minute are acked rate_limited; a client that keeps flooding is cut off alone', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, { 'realtime.events_per_minute': '5' });
  const alice = await connected(client(t, onda.base, { transports: ['websocket'], auth: { token: onda.token('alice') } }));
  const bob = await connected(client(t, onda.base, { transports: ['polling'], auth: { token: onda.token('bob') } }));
  for (let i = 0; i < 5; ++i) assert.equal((await ack(alice, 'join', { room: 'chat:s1' })).ok, true);
  const limited = await ack(alice, 'join', { room: 'chat:s1' });
  assert.equal(limited.ok, false);
  assert.equal(limited.error.code, 'rate_limited');

  const gone = disconnected(alice);
  for (let i = 0; i < 150; ++i) alice.emit('join', { room: 'chat:s1' });
  assert.equal(await gone, 'transport close');
  assert.match(onda.log(), /disconnected: flood/);
  assert.equal((await ack(bob, 'join', { room: 'chat:s1' })).ok, true); // bob never noticed
});

// ---------------------------------------------------------------------------------------------
// Heartbeat, reconnection, shutdown

test('the heartbeat keeps live clients and drops silent ones', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, { 'realtime.ping_interval': '200ms', 'realtime.ping_timeout': '300ms' });
  const live = await connected(client(t, onda.base, { transports: ['websocket'] }));
  const polling = await connected(client(t, onda.base, { transports: ['polling'] }));
  let drops = 0;
  for (const socket of [live, polling]) socket.on('disconnect', () => drops++);

  const { raw, handshake } = await rawConnected(t, onda.port);
  assert.equal(handshake.pingInterval, 200);
  assert.equal(handshake.pingTimeout, 300);
  assert.deepEqual(handshake.upgrades, []);
  assert.equal(await raw.next(2_000), '2'); // a ping, left unanswered
  const started = Date.now();
  await within(5_000, raw.closed, 'the silent client is closed');
  assert.ok(Date.now() - started < 2_000);

  await sleep(1_000); // several pings later
  assert.equal(drops, 0);
  assert.equal((await ack(live, 'join', { room: 'chat:s1' })).ok, true);
  assert.equal((await ack(polling, 'join', { room: 'chat:s1' })).ok, true);
});

for (const [label, transports] of MODES) {
  test(`${label}: the client reconnects by itself after the server restarts`, { timeout: TIMEOUT }, async (t) => {
    const onda = await startOnda(t);
    const socket = client(t, onda.base, {
      transports,
      auth: { token: onda.token('alice'), deviceId: 'phone' },
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
    });
    await connected(socket);
    const before = socket.id;
    const reconnected = new Promise((resolve) => socket.io.once('reconnect', resolve));
    await onda.restartOnSamePort();
    await within(20_000, reconnected, 'reconnect');
    assert.notEqual(socket.id, before);
    assert.equal((await ack(socket, 'join', { room: 'user:alice' })).ok, true);
  });
}

test('SIGTERM ends every Socket.IO connection at once and the server exits cleanly', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const sockets = [];
  for (const [, transports] of MODES) sockets.push(await connected(client(t, onda.base, { transports })));
  await onTransport(sockets[2], 'websocket');
  const gone = sockets.map((socket) => disconnected(socket));
  const started = Date.now();
  assert.equal(await onda.stop(), 0, onda.logTail(60));
  await Promise.all(gone);
  assert.ok(Date.now() - started < 8_000, `stopping took ${Date.now() - started} ms`);
});

// ---------------------------------------------------------------------------------------------
// Bad input: only the offending client notices

test('malformed packets from a raw WebSocket close that socket; other clients carry on', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const bystander = await connected(client(t, onda.base, { transports: ['websocket'] }));
  const cases = [
    ['unknown Engine.IO type', [], 'x'],
    ['unknown Engine.IO type 9', [], '9'],
    ['an open packet from the client', [], '0'],
    ['an upgrade on the main transport', [], '5'],
    ['unknown Socket.IO type', [], '4garbage'],
    ['broken JSON', [], '40{"token":'],
    ['an event before CONNECT', [], '42["join",{"room":"chat:s1"}]'],
    ['CONNECT twice', ['40'], '40'],
    ['CONNECT_ERROR from a client', ['40'], '44{"message":"x"}'],
    ['an event that is not an array', ['40'], '42{"room":"chat:s1"}'],
    ['a reserved event name', ['40'], '42["disconnect"]'],
    ['a binary frame nobody announced', ['40'], Buffer.from([1, 2, 3])],
    ['text where an attachment was due', ['40', '451-["join",{"_placeholder":true,"num":0}]'], '42["join"]'],
    ['a placeholder past the attachments', ['40'], '451-["join",{"_placeholder":true,"num":4}]'],
    ['too many attachments', ['40'], '4511-["join"]'],
  ];
  for (const [what, setup, bad] of cases) {
    const raw = rawSocket(t, onda.port);
    assert.match(await raw.next(), /^0\{/, what);
    for (const packet of setup) {
      raw.send(packet);
      if (packet === '40') assert.match(await raw.next(), /^40\{/, what);
    }
    raw.send(bad);
    assert.equal(await within(5_000, raw.closed, `closed after ${what}`), 1002, what); // protocol error
  }
  // Harmless packets leave the socket open.
  const { raw } = await rawConnected(t, onda.port);
  for (const packet of ['6', '3', '42["no_such_event"]', '41', '40']) raw.send(packet);
  assert.match(await raw.next(), /^40\{/); // the second CONNECT (after DISCONNECT) is answered
  assert.equal(raw.ws.readyState, WebSocket.OPEN);

  assert.equal((await ack(bystander, 'join', { room: 'chat:s1' })).ok, true);
});

test('malformed polling requests are 400 with a JSON error and end only that session', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const bystander = await connected(client(t, onda.base, { transports: ['polling'] }));
  for (const query of ['', '?transport=polling', '?EIO=3&transport=polling', '?EIO=4', '?EIO=4&transport=flash',
    '?EIO=4&transport=polling&sid=nope', '?EIO=4&transport=websocket']) {
    const res = await fetch(`${onda.base}/socket.io/${query}`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 400, query);
    assert.equal((await res.json()).error.code, 'invalid_argument', query);
  }
  const post = await fetch(`${onda.base}/socket.io/?EIO=4&transport=polling`, { method: 'POST', body: '40' });
  assert.equal(post.status, 400);

  for (const body of ['x', '4garbage', '40\x1e\x1e40', 'b!!!']) {
    const sid = await pollingHandshake(onda.base);
    const res = await pollPost(onda.base, sid, body);
    const next = await pollGet(onda.base, sid);
    assert.ok(res.status === 400 || next.status === 400, `${JSON.stringify(body)}: ${res.status} ${next.status}`);
    assert.equal((await pollGet(onda.base, sid)).status, 400, JSON.stringify(body));
  }
  // Two GETs at once: the session ends (Engine.IO says so), the first GET is answered.
  const sid = await pollingHandshake(onda.base);
  const [first, second] = await Promise.all([pollGet(onda.base, sid), sleep(100).then(() => pollGet(onda.base, sid))]);
  assert.equal(first.status, 200);
  assert.equal(second.status, 400);
  assert.equal((await pollGet(onda.base, sid)).status, 400);

  assert.equal((await ack(bystander, 'join', { room: 'chat:s1' })).ok, true);
});

test('a payload past maxPayload closes that client (WebSocket 1009, polling 413)', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, { 'realtime.max_payload': '2000' });
  const bystander = await connected(client(t, onda.base, { transports: ['websocket'] }));

  const { raw, handshake } = await rawConnected(t, onda.port);
  assert.equal(handshake.maxPayload, 2000);
  raw.send(`42["join",{"room":"chat:${'x'.repeat(3000)}"}]`);
  assert.equal(await within(5_000, raw.closed, 'oversized WebSocket message'), 1009);

  const sid = await pollingHandshake(onda.base);
  assert.equal((await pollPost(onda.base, sid, '40')).status, 200);
  assert.equal((await pollPost(onda.base, sid, `42["join",{"room":"${'y'.repeat(3000)}"}]`)).status, 413);
  assert.equal((await pollGet(onda.base, sid)).status, 400);

  // The stock client's own oversized emit ends its connection too.
  const big = await connected(client(t, onda.base, { transports: ['websocket'] }));
  const gone = disconnected(big);
  big.emit('join', { room: `chat:${'z'.repeat(5000)}` });
  await gone;

  assert.equal((await ack(bystander, 'join', { room: 'chat:s1' })).ok, true);
});

test('the WebSocket layer (RFC 6455): pings answered, fragments joined, framing errors closed with their code', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const bystander = await connected(client(t, onda.base, { transports: ['websocket'] }));

  const { raw } = await rawConnected(t, onda.port);
  const pong = new Promise((resolve) => raw.ws.once('pong', (data) => resolve(data.toString())));
  raw.ws.ping('are you there');
  assert.equal(await within(5_000, pong, 'pong'), 'are you there');
  // One Socket.IO packet in three fragments, with a ping between two of them.
  raw.ws.send('421["jo', { fin: false });
  raw.ws.ping('between');
  raw.ws.send('in",{"room":"chat:s1"}', { fin: false });
  raw.ws.send(']', { fin: true });
  assert.match(await raw.next(), /^431\[\{"ok":true/);

  const framing = [
    ['an unmasked frame', 1002, (ws) => ws.send('42["join",{"room":"chat:s1"}]', { mask: false })],
    ['a text frame that is not UTF-8', 1007, (ws) => ws.send(Buffer.from([0x34, 0x32, 0xc0, 0xaf]), { binary: false })],
  ];
  for (const [what, code, send] of framing) {
    const { raw: bad } = await rawConnected(t, onda.port);
    send(bad.ws);
    assert.equal(await within(5_000, bad.closed, `closed after ${what}`), code, what);
  }

  // A handshake in another WebSocket version is refused with the one this server speaks.
  const refusal = await new Promise((resolve, reject) => {
    const req = http.get({
      host: '127.0.0.1', port: onda.port, path: '/socket.io/?EIO=4&transport=websocket',
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '8',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    }, (res) => { res.resume(); resolve(res); });
    req.on('upgrade', () => reject(new Error('upgraded, but a refusal was expected')));
    req.on('error', reject);
  });
  assert.equal(refusal.statusCode, 426);
  assert.equal(refusal.headers['sec-websocket-version'], '13');

  assert.equal((await ack(bystander, 'join', { room: 'chat:s1' })).ok, true);
});

test('a client that does not read is dropped as a slow consumer, with a log line', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, { 'realtime.send_queue_frames': '3' });
  const token = onda.token('alice', 'creator');
  const reader = await connected(client(t, onda.base, { transports: ['websocket'], auth: { token, deviceId: 'reader' } }));
  // A polling session of alice that connects and then never polls again.
  const sid = await pollingHandshake(onda.base);
  assert.equal((await pollPost(onda.base, sid, `40{"token":"${token}","deviceId":"idle"}`)).status, 200);

  const seen = [];
  reader.on('upload_progress', (event) => seen.push(event.status));
  const wav = await makeWav(t, 1);
  const url = await createUpload(onda, token, wav.bytes.length);
  assert.equal((await patch(url, token, 0, wav.bytes)).status, 204);
  assert.ok(await eventually(() => seen.includes('completed'), 20_000), 'the reading socket got every event');
  assert.ok(await eventually(() => /disconnected: slow consumer/.test(onda.log()), 5_000), 'a log line names the slow consumer');
  assert.equal((await pollGet(onda.base, sid)).status, 400);
  assert.ok(reader.connected);
});

// ---------------------------------------------------------------------------------------------
// Operations

test('/metrics counts Socket.IO connections by transport, and polling answers CORS', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, { 'cors.allowed_origins': 'http://app.example' });
  await connected(client(t, onda.base, { transports: ['websocket'] }));
  await connected(client(t, onda.base, { transports: ['polling'] }));
  const metrics = await (await fetch(onda.url('/metrics'))).text();
  assert.match(metrics, /onda_socketio_connections\{transport="websocket"\} 1/);
  assert.match(metrics, /onda_socketio_connections\{transport="polling"\} 1/);
  assert.match(metrics, /onda_socketio_events_total\{event="join"\} 0/);

  const res = await fetch(`${onda.base}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: 'http://app.example' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), 'http://app.example');
  assert.equal(res.headers.get('content-type'), 'text/plain; charset=UTF-8');
});
