// Playback sync and stream_track (API.md "Realtime") against the real binary, with the stock
// socket.io-client 4.x: a user's devices following each other (sync_state, not echoed to the
// sender), the state a new device and a restarted server see, preload near the end of a track,
// and binary audio_chunk streams checked with ffprobe/ffmpeg (pacing, quality switch, audio_end).
//
//   ONDA_BIN=build/ci/src/onda node --test tests/e2e/js/playback.test.mjs     (ctest: e2e.js.playback)
//
// Tracks are short sine WAVs (8–10 s) so the paced streams keep the suite quick.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { io } from 'socket.io-client';

import { eventually, makeTempDir, makeWav, sleep, startOnda, within } from './support/onda.mjs';

const TIMEOUT = 90_000;
// No background transcodes: these tests convert on the fly, and the machine's cores are for that.
const SETTINGS = { 'transcode.workers': '0' };
const MP3_FRAME_SECONDS = 1152 / 48_000;

// ---------------------------------------------------------------------------------------------
// Helpers

// A socket.io-client socket for `token` as device `deviceId`, closed when the test ends. Events of
// `events` are recorded from the start (sync_state arrives right after the connect).
function device(t, onda, token, deviceId, events = ['sync_state']) {
  const auth = token ? { token, deviceId } : {};
  const socket = io(onda.base, { reconnection: false, forceNew: true, timeout: 5_000, transports: ['websocket'], auth });
  t.after(() => socket.close());
  const seen = Object.fromEntries(events.map((name) => [name, []]));
  for (const name of events) socket.on(name, (data) => seen[name].push({ ...data, receivedAt: Date.now() }));
  // The first recorded `name` event matching `match` (already there, or arriving within `ms`).
  const next = (name, match = () => true, ms = 5_000) =>
    within(ms, eventually(() => seen[name].find(match), ms + 100), `${deviceId}: ${name}`);
  const connected = within(
    10_000,
    new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    }),
    `${deviceId}: connect`,
  );
  return { socket, seen, next, connected };
}

const ack = (socket, event, ...args) => socket.timeout(10_000).emitWithAck(event, ...args);

function assertError(reply, code, what) {
  assert.equal(reply.ok, false, `${what}: expected an error, got ${JSON.stringify(reply)}`);
  assert.equal(reply.error.code, code, `${what}: ${JSON.stringify(reply)}`);
  assert.equal(typeof reply.error.message, 'string');
}

// An uploaded sine WAV of `seconds`; the media object.
async function upload(t, onda, token, seconds, visibility = 'private') {
  const wav = await makeWav(t, seconds);
  const res = await fetch(onda.url(`/v1/media?filename=sine-${seconds}s.wav&visibility=${visibility}`), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'audio/wav' },
    body: wav.bytes,
    signal: AbortSignal.timeout(30_000),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json();
}

async function metrics(onda) {
  return (await fetch(onda.url('/metrics'), { signal: AbortSignal.timeout(10_000) })).text();
}

function metricValue(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

// Streams `trackId` to `socket`; resolves with {reply, chunks, end, startedAt, endedAt} once
// audio_end arrives. `onChunk(chunk)` sees each chunk as it comes.
async function streamTrack(socket, trackId, quality, onChunk = () => {}) {
  const chunks = [];
  const onAudio = (chunk) => {
    const entry = { ...chunk, data: Buffer.from(chunk.data), receivedAt: Date.now() };
    chunks.push(entry);
    onChunk(entry);
  };
  socket.on('audio_chunk', onAudio);
  const end = new Promise((resolve) => socket.once('audio_end', resolve));
  const startedAt = Date.now();
  const reply = await ack(socket, 'stream_track', { trackId, quality });
  assert.equal(reply.ok, true, JSON.stringify(reply));
  const ended = await within(60_000, end, 'audio_end');
  socket.off('audio_chunk', onAudio);
  return { reply, chunks, end: ended, startedAt, endedAt: Date.now() };
}

function ffprobe(file, args) {
  const r = spawnSync('ffprobe', ['-v', 'error', ...args, '-of', 'json', file], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

// Decodes `file` completely: ffmpeg's complaints (empty when the MP3 is clean) and the decoded
// audio's duration in seconds, counted in frames.
function decode(file) {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const counted = ffprobe(file, ['-count_frames', '-select_streams', 'a:0', '-show_entries', 'stream=nb_read_frames,codec_name,sample_rate']);
  const stream = counted.streams[0];
  return { errors: r.stderr.trim(), codec: stream.codec_name, sampleRate: Number(stream.sample_rate), seconds: Number(stream.nb_read_frames) * MP3_FRAME_SECONDS };
}

async function writeChunks(t, chunks) {
  const dir = await makeTempDir(t, 'onda-js-stream-');
  const file = path.join(dir, 'stream.mp3');
  fs.writeFileSync(file, Buffer.concat(chunks.map((c) => c.data)));
  return file;
}

// ---------------------------------------------------------------------------------------------
// Sync between devices

test('two devices of one user follow each other: sync_state names the sender and never returns to it', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, SETTINGS);
  const token = onda.token('alice', 'creator');
  const track = await upload(t, onda, token, 8);
  const laptop = device(t, onda, token, 'laptop');
  const phone = device(t, onda, token, 'phone');
  await Promise.all([laptop.connected, phone.connected]);
  await phone.next('sync_state', (m) => m.action === 'connect');
  await laptop.next('sync_state', (m) => m.action === 'connect');

  const played = await ack(laptop.socket, 'play_track', { trackId: track.id, position: 2 });
  assert.equal(played.ok, true, JSON.stringify(played));
  assert.equal(played.state.trackId, track.id);
  assert.equal(played.state.playing, true);
  const play = await phone.next('sync_state', (m) => m.action === 'play');
  assert.equal(play.deviceId, 'laptop');
  assert.deepEqual(play.payload, { trackId: track.id, position: 2 });
  assert.equal(typeof play.timestamp, 'number');
  assert.equal(play.state.trackId, track.id);
  assert.equal(play.state.playing, true);
  assert.ok(play.state.position >= 2 && play.state.position < 4, `position ${play.state.position}`);
  assert.equal(play.state.quality, '192k');
  assert.equal(play.state.volume, 1);
  assert.equal(typeof play.state.updatedAt, 'number');

  // And back: the phone's changes reach the laptop, through the five events and audio_control.
  assert.equal((await ack(phone.socket, 'volume_change', { volume: 0.4 })).ok, true);
  const volume = await laptop.next('sync_state', (m) => m.action === 'volume');
  assert.equal(volume.deviceId, 'phone');
  assert.equal(volume.state.volume, 0.4);
  assert.equal((await ack(phone.socket, 'audio_control', { action: 'pause', payload: { position: 3 } })).ok, true);
  const pause = await laptop.next('sync_state', (m) => m.action === 'pause');
  assert.equal(pause.deviceId, 'phone');
  assert.equal(pause.state.playing, false);
  assert.equal(pause.state.position, 3);
  assert.equal((await ack(laptop.socket, 'seek_position', { position: 5 })).ok, true);
  assert.equal((await phone.next('sync_state', (m) => m.action === 'seek')).state.position, 5);
  assert.equal((await ack(laptop.socket, 'quality_change', { quality: '320k' })).ok, true);
  assert.equal((await phone.next('sync_state', (m) => m.action === 'quality')).state.quality, '320k');
  assert.equal((await ack(laptop.socket, 'audio_control', { action: 'volume', payload: { volume: 0.7 } })).ok, true);
  assert.equal((await phone.next('sync_state', (m) => m.action === 'volume')).deviceId, 'laptop');
  // audio_control's other two actions, quality and play, act as their own events do.
  assert.equal((await ack(laptop.socket, 'audio_control', { action: 'quality', payload: { quality: '192k' } })).ok, true);
  assert.equal((await phone.next('sync_state', (m) => m.action === 'quality' && m.state.quality === '192k')).deviceId, 'laptop');
  assert.equal((await ack(laptop.socket, 'audio_control', { action: 'play', payload: { trackId: track.id, position: 4 } })).ok, true);
  const resumed = await phone.next('sync_state', (m) => m.action === 'play' && m.state.volume === 0.7);
  assert.equal(resumed.state.trackId, track.id);
  assert.equal(resumed.state.playing, true);
  assert.ok(resumed.state.position >= 4 && resumed.state.position < 6, JSON.stringify(resumed.state));
  assert.equal((await ack(laptop.socket, 'audio_control', { action: 'pause', payload: { position: 5 } })).ok, true);
  assert.equal((await phone.next('sync_state', (m) => m.action === 'pause' && m.deviceId === 'laptop')).state.playing, false);

  await sleep(500); // anything echoed would have arrived by now
  for (const [who, other] of [[laptop, 'phone'], [phone, 'laptop']]) {
    const changes = who.seen.sync_state.filter((m) => m.action !== 'connect');
    assert.ok(changes.length > 0);
    for (const m of changes) assert.equal(m.deviceId, other, `an own change came back: ${JSON.stringify(m)}`);
  }
  const state = await ack(phone.socket, 'get_state', {});
  assert.equal(state.ok, true);
  assert.deepEqual(
    { trackId: state.state.trackId, playing: state.state.playing, position: state.state.position, volume: state.state.volume, quality: state.state.quality },
    { trackId: track.id, playing: false, position: 5, volume: 0.7, quality: '192k' },
  );
});

test('a device that connects later gets the state on connect, with the position as of now', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, SETTINGS);
  const token = onda.token('alice', 'creator');
  const track = await upload(t, onda, token, 8);
  const laptop = device(t, onda, token, 'laptop');
  await laptop.connected;
  const first = await laptop.next('sync_state', (m) => m.action === 'connect');
  assert.equal(first.state.trackId, null); // nothing played yet
  assert.equal(first.state.playing, false);

  assert.equal((await ack(laptop.socket, 'play_track', { trackId: track.id, position: 1 })).ok, true);
  const playedAt = Date.now();
  await sleep(1_500);
  const tablet = device(t, onda, token, 'tablet');
  await tablet.connected;
  const hello = await tablet.next('sync_state', (m) => m.action === 'connect');
  const elapsed = (hello.receivedAt - playedAt) / 1000;
  assert.equal(hello.state.trackId, track.id);
  assert.equal(hello.state.playing, true);
  assert.equal(hello.deviceId, 'laptop'); // who made the last change
  assert.ok(hello.state.position >= 1 + 1.4 && hello.state.position <= 1 + elapsed + 0.2,
    `position ${hello.state.position} after ${elapsed} s of playing from 1 s`);
  // Only the new socket is greeted.
  await sleep(300);
  assert.equal(laptop.seen.sync_state.length, 1);
});

test('the state survives a crash and restart of the server', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, SETTINGS);
  const token = onda.token('alice', 'creator');
  const [a, b] = [await upload(t, onda, token, 8), await upload(t, onda, token, 8)];
  const laptop = device(t, onda, token, 'laptop');
  await laptop.connected;
  for (const [event, payload] of [
    ['queue_set', { trackIds: [a.id, b.id], index: 0 }],
    ['play_track', { trackId: a.id, position: 4 }],
    ['volume_change', { volume: 0.25 }],
    ['quality_change', { quality: '128k' }],
    ['pause_track', { position: 4.5 }],
  ]) {
    const reply = await ack(laptop.socket, event, payload);
    assert.equal(reply.ok, true, `${event}: ${JSON.stringify(reply)}`);
  }
  laptop.socket.close();

  await onda.restart(); // SIGKILL, then a new process on the same data dir
  const again = device(t, onda, token, 'laptop');
  await again.connected;
  const hello = await again.next('sync_state', (m) => m.action === 'connect');
  assert.equal(hello.state.trackId, a.id);
  assert.equal(hello.state.playing, false);
  assert.equal(hello.state.position, 4.5);
  assert.equal(hello.state.volume, 0.25);
  assert.equal(hello.state.quality, '128k');
  assert.deepEqual(hello.state.queue, { trackIds: [a.id, b.id], index: 0 });
  const state = await ack(again.socket, 'get_state');
  assert.equal(state.state.position, 4.5);
});

// ---------------------------------------------------------------------------------------------
// Preload

test('position_update near the end preloads the next queued track once, with links that play', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, SETTINGS);
  const token = onda.token('alice', 'creator');
  const [a, b] = [await upload(t, onda, token, 8), await upload(t, onda, token, 8)];
  const laptop = device(t, onda, token, 'laptop', ['sync_state', 'preload']);
  await laptop.connected;
  assert.equal((await ack(laptop.socket, 'queue_set', { trackIds: [a.id, b.id], index: 0 })).ok, true);
  assert.equal((await ack(laptop.socket, 'play_track', { trackId: a.id })).ok, true);

  const early = await ack(laptop.socket, 'position_update', { position: 1, duration: 60 });
  assert.deepEqual(early, { ok: true });
  const due = await ack(laptop.socket, 'position_update', { position: 3, duration: 8 });
  assert.equal(due.ok, true);
  assert.equal(due.preload, b.id);
  const preload = await laptop.next('preload');
  assert.equal(preload.trackId, b.id);
  const again = await ack(laptop.socket, 'position_update', { position: 5, duration: 8 });
  assert.deepEqual(again, { ok: true });
  await sleep(300);
  assert.equal(laptop.seen.preload.length, 1, 'preload is sent once');

  // b is private: its links are signed, so they play without a token; the bare path does not.
  const { urls } = preload;
  assert.match(urls.stream, new RegExp(`^/v1/media/${b.id}/stream\\?exp=\\d+&sig=`));
  assert.equal((await fetch(onda.url(`/v1/media/${b.id}/stream`))).status, 401);
  const original = await fetch(onda.url(urls.stream), { signal: AbortSignal.timeout(15_000) });
  assert.equal(original.status, 200);
  assert.equal(original.headers.get('content-type'), 'audio/wav');
  await original.arrayBuffer();
  assert.match(urls.mp3, /format=mp3&bitrate=192k/);
  const mp3 = await fetch(onda.url(urls.mp3), { signal: AbortSignal.timeout(30_000) });
  assert.equal(mp3.status, 200);
  assert.equal(mp3.headers.get('content-type'), 'audio/mpeg');
  assert.ok((await mp3.arrayBuffer()).byteLength > 8 * 192_000 / 8 * 0.9);
  assert.equal(urls.hls, null); // no ladder: transcoding is off here

  // Moving to the last track: nothing follows it.
  assert.equal((await ack(laptop.socket, 'play_track', { trackId: b.id })).ok, true);
  assert.deepEqual(await ack(laptop.socket, 'position_update', { position: 7, duration: 8 }), { ok: true });
});

// ---------------------------------------------------------------------------------------------
// stream_track

test('stream_track sends MP3 chunks paced at playback speed after a 3 s lead, then audio_end', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, SETTINGS);
  const token = onda.token('alice', 'creator');
  const track = await upload(t, onda, token, 8);
  const laptop = device(t, onda, token, 'laptop');
  await laptop.connected;

  const { reply, chunks, end, startedAt, endedAt } = await streamTrack(laptop.socket, track.id, '128k');
  assert.equal(reply.quality, '128k');
  assert.equal(reply.chunks, chunks.length);
  assert.deepEqual(end, { trackId: track.id, chunks: chunks.length });
  assert.deepEqual(chunks.map((c) => c.seq), [...chunks.keys()]);
  for (const c of chunks) {
    assert.equal(c.trackId, track.id);
    assert.equal(c.timestamp, c.seq * 960); // 40 frames of 1152 samples at 48 kHz
    assert.equal(c.quality, '128k');
  }
  // Pacing: nothing much earlier than 3 s ahead of its time; the whole 8 s track takes at least ~5 s.
  for (const c of chunks) assert.ok(c.receivedAt - startedAt >= c.timestamp - 3_000 - 250, `chunk ${c.seq} came ${c.receivedAt - startedAt} ms in`);
  // The lead: the first 3 s come at once, not at playback speed (paced from the start, the chunk at
  // 2.88 s would come 2.88 s after the first). Counted from the first chunk, so that the start of the
  // conversion does not count.
  for (const c of chunks.filter((c) => c.timestamp <= 2_880))
    assert.ok(c.receivedAt - chunks[0].receivedAt < 1_500, `chunk ${c.seq} (at ${c.timestamp} ms of audio) came ${c.receivedAt - chunks[0].receivedAt} ms after the first`);
  assert.ok(endedAt - startedAt >= 8_000 - 3_000 - 1_000, `the stream took ${endedAt - startedAt} ms`);

  const file = await writeChunks(t, chunks);
  const decoded = decode(file);
  assert.equal(decoded.errors, '');
  assert.equal(decoded.codec, 'mp3');
  assert.equal(decoded.sampleRate, 48_000);
  assert.ok(Math.abs(decoded.seconds - 8) < 0.2, `decoded ${decoded.seconds} s`);
  const format = ffprobe(file, ['-show_entries', 'format=duration,bit_rate']).format;
  assert.ok(Math.abs(Number(format.duration) - 8) < 0.2, `ffprobe says ${format.duration} s`);
  assert.ok(Math.abs(Number(format.bit_rate) - 128_000) < 4_000, `bit rate ${format.bit_rate}`);
});

test('quality_change during stream_track switches the bit rate at the next chunk without a gap', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, SETTINGS);
  const token = onda.token('alice', 'creator');
  const track = await upload(t, onda, token, 10);
  const laptop = device(t, onda, token, 'laptop');
  await laptop.connected;

  let switched = null;
  const { chunks, end } = await streamTrack(laptop.socket, track.id, '128k', (chunk) => {
    if (chunk.seq === 0) switched = ack(laptop.socket, 'quality_change', { quality: '320k' });
  });
  assert.equal((await switched).ok, true);
  assert.equal(end.chunks, chunks.length);
  assert.equal(chunks[0].quality, '128k');
  assert.equal(chunks[0].data.length, 41 * 384); // the Info frame and 40 frames of 384 bytes (128k at 48 kHz)
  const firstHigh = chunks.findIndex((c) => c.quality === '320k');
  assert.ok(firstHigh > 0, 'a later chunk is at 320k');
  for (const c of chunks.slice(firstHigh)) assert.equal(c.quality, '320k');
  for (const c of chunks.slice(firstHigh, -1)) assert.equal(c.data.length, 40 * 960, `chunk ${c.seq}`);
  for (const c of chunks.slice(1, firstHigh)) assert.equal(c.data.length, 40 * 384, `chunk ${c.seq}`);
  // One timeline: each chunk starts where the one before ended.
  for (let i = 1; i < chunks.length; ++i) assert.equal(chunks[i].timestamp, chunks[i - 1].timestamp + chunks[i - 1].duration);

  const decoded = decode(await writeChunks(t, chunks));
  assert.equal(decoded.errors, '');
  assert.ok(Math.abs(decoded.seconds - 10) < 0.2, `decoded ${decoded.seconds} s`);
  const text = await metrics(onda);
  assert.equal(metricValue(text, 'onda_playback_quality_switches_total{quality="320k"}'), 1);
  assert.equal(metricValue(text, 'onda_playback_stream_restarts_total'), 1);
});

test('a new stream_track or a disconnect ends the running stream', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, SETTINGS);
  const token = onda.token('alice', 'creator');
  const [a, b] = [await upload(t, onda, token, 10), await upload(t, onda, token, 8)];
  const laptop = device(t, onda, token, 'laptop');
  await laptop.connected;
  const seenA = [];
  const ends = [];
  laptop.socket.on('audio_chunk', (c) => c.trackId === a.id && seenA.push(c.seq));
  laptop.socket.on('audio_end', (e) => ends.push(e.trackId));
  const first = await ack(laptop.socket, 'stream_track', { trackId: a.id, quality: '192k' });
  assert.equal(first.ok, true);
  await eventually(() => seenA.length > 0, 5_000);
  const { chunks } = await streamTrack(laptop.socket, b.id, '128k');
  assert.ok(chunks.length > 0);
  assert.ok(seenA.length < first.chunks, `a's stream went on: ${seenA.length} of ${first.chunks} chunks`);
  assert.deepEqual(ends, [b.id]);

  // A client that leaves mid-stream: its stream (and conversion) ends.
  const phone = device(t, onda, token, 'phone');
  await phone.connected;
  const gotOne = new Promise((resolve) => phone.socket.once('audio_chunk', resolve));
  assert.equal((await ack(phone.socket, 'stream_track', { trackId: a.id, quality: '320k' })).ok, true);
  await within(5_000, gotOne, 'a chunk');
  assert.equal(metricValue(await metrics(onda), 'onda_playback_streams'), 1);
  phone.socket.close();
  assert.ok(await eventually(async () => metricValue(await metrics(onda), 'onda_playback_streams') === 0, 5_000), 'the stream ended with its client');
});

test('the server stops cleanly in the middle of a stream', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, SETTINGS);
  const token = onda.token('alice', 'creator');
  const track = await upload(t, onda, token, 10);
  const laptop = device(t, onda, token, 'laptop');
  await laptop.connected;
  const gotOne = new Promise((resolve) => laptop.socket.once('audio_chunk', resolve));
  assert.equal((await ack(laptop.socket, 'stream_track', { trackId: track.id, quality: '192k' })).ok, true);
  await within(5_000, gotOne, 'a chunk');
  // SIGTERM: sessions end, the stream and its conversion child with them; a sanitizer report or a
  // hang would show in the exit status.
  assert.equal(await onda.stop(), 0, onda.logTail());
});

// ---------------------------------------------------------------------------------------------
// Bad input

test('bad payloads, unknown tracks, viewers and strangers get ack errors; the server carries on', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, SETTINGS);
  const token = onda.token('alice', 'creator');
  const track = await upload(t, onda, token, 8);
  const alice = device(t, onda, token, 'laptop');
  const bob = device(t, onda, onda.token('bob'), 'bobs-phone');
  const viewer = device(t, onda, null, 'viewer');
  await Promise.all([alice.connected, bob.connected, viewer.connected]);

  const bad = [
    ['play_track', { trackId: 42 }, 'invalid_argument'],
    ['play_track', 'm_x', 'invalid_argument'],
    ['play_track', {}, 'invalid_argument'], // nothing played yet: play needs a track
    ['play_track', { trackId: 'm_doesnotexist0000000' }, 'not_found'],
    ['play_track', { trackId: track.id, position: -3 }, 'invalid_argument'],
    ['play_track', { trackId: track.id, quality: 'max' }, 'invalid_argument'],
    ['seek_position', {}, 'invalid_argument'],
    ['seek_position', { position: '12' }, 'invalid_argument'],
    ['volume_change', { volume: 2 }, 'invalid_argument'],
    ['volume_change', [0.5], 'invalid_argument'],
    ['quality_change', { quality: '1000k' }, 'invalid_argument'],
    ['queue_set', { trackIds: 'nope' }, 'invalid_argument'],
    ['queue_set', { trackIds: [track.id], index: 3 }, 'invalid_argument'],
    ['queue_set', { trackIds: [track.id, 'm_missing'] }, 'not_found'],
    ['audio_control', { action: 'explode' }, 'invalid_argument'],
    ['audio_control', { action: 'seek', payload: { position: null } }, 'invalid_argument'],
    ['position_update', { position: 1 }, 'invalid_argument'],
    ['stream_track', {}, 'invalid_argument'],
    ['stream_track', { trackId: track.id, quality: '64k' }, 'invalid_argument'],
    ['stream_track', { trackId: 'm_doesnotexist0000000', quality: '128k' }, 'not_found'],
  ];
  for (const [event, payload, code] of bad) assertError(await ack(alice.socket, event, payload), code, `${event} ${JSON.stringify(payload)}`);

  for (const [event, payload] of [
    ['play_track', { trackId: track.id }],
    ['pause_track', {}],
    ['volume_change', { volume: 0.5 }],
    ['audio_control', { action: 'pause' }],
    ['queue_set', { trackIds: [] }],
    ['get_state', {}],
    ['position_update', { position: 1, duration: 2 }],
  ])
    assertError(await ack(viewer.socket, event, payload), 'unauthenticated', `viewer ${event}`);
  assertError(await ack(viewer.socket, 'stream_track', { trackId: track.id, quality: '128k' }), 'unauthenticated', 'viewer stream of a private track');
  assertError(await ack(bob.socket, 'play_track', { trackId: track.id }), 'forbidden', "bob plays alice's private track");
  assertError(await ack(bob.socket, 'stream_track', { trackId: track.id, quality: '128k' }), 'forbidden', "bob streams alice's private track");

  // Nothing changed, nothing was told, and the server is fine.
  const state = await ack(alice.socket, 'get_state');
  assert.equal(state.ok, true);
  assert.equal(state.state.trackId, null);
  assert.equal(bob.seen.sync_state.filter((m) => m.action !== 'connect').length, 0);
  assert.equal((await fetch(onda.url('/healthz'))).status, 200);
  assert.equal((await ack(alice.socket, 'play_track', { trackId: track.id })).ok, true);
});

test('a flood of control events is acked rate_limited', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, { ...SETTINGS, 'realtime.events_per_minute': '10' });
  const token = onda.token('alice', 'creator');
  const laptop = device(t, onda, token, 'laptop');
  await laptop.connected;
  const replies = await Promise.all(Array.from({ length: 15 }, (_, i) => ack(laptop.socket, 'volume_change', { volume: i / 20 })));
  const limited = replies.filter((r) => !r.ok);
  assert.ok(limited.length >= 5, JSON.stringify(replies));
  for (const r of limited) assert.equal(r.error.code, 'rate_limited');
  assert.equal((await fetch(onda.url('/healthz'))).status, 200);
});
