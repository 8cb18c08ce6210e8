// Server-Sent Events (API.md "Server-Sent Events", GET /v1/events) resumed with Last-Event-ID on
// the real binary. The events are real ones: each tus PATCH makes onda publish `upload_progress` to
// the upload's room (`upload:{uid}`, readable by its owner), which SSE readers follow.
//
//   ONDA_BIN=build/ci/src/onda node --test tests/e2e/js/events.test.mjs     (ctest: e2e.js.events)
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createUpload, patch, startOnda, within } from './support/onda.mjs';

const TIMEOUT = 60_000;
const SETTINGS = { 'transcode.workers': '0' };
const LENGTH = 1000; // the upload never completes: only its progress matters here

// ---------------------------------------------------------------------------------------------
// Helpers

// Sends the next 10 bytes of the upload; once the 204 comes its progress is published.
async function sendTen(upload) {
  const answer = await patch(upload.url, upload.token, upload.offset, new Uint8Array(10));
  assert.equal(answer.status, 204, answer.text);
  upload.offset += 10;
}

async function newUpload(onda, token) {
  const url = await createUpload(onda, token, LENGTH);
  return { url, token, offset: 0, room: `upload:${new URL(url).pathname.split('/').pop()}` };
}

// One open GET /v1/events stream, parsed into events ({event, id, data}) as they arrive. Comments
// (": keepalive") and the `retry:` line are skipped.
class SseReader {
  static async open(t, onda, { token, rooms, lastEventId }) {
    const controller = new AbortController();
    const headers = { Authorization: `Bearer ${token}` };
    if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
    const response = await fetch(`${onda.base}/v1/events?rooms=${encodeURIComponent(rooms)}`, { headers, signal: controller.signal });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /^text\/event-stream/);
    const reader = new SseReader(response.body.getReader(), controller);
    t.after(() => reader.close());
    return reader;
  }

  constructor(body, controller) {
    this.body = body;
    this.controller = controller;
    this.text = '';
    this.decoder = new TextDecoder();
  }

  // The next event, waiting up to `ms`.
  async next(ms = 10_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const end = this.text.indexOf('\n\n');
      if (end >= 0) {
        const block = this.text.slice(0, end);
        this.text = this.text.slice(end + 2);
        const event = {};
        for (const line of block.split('\n')) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue; // a comment, or nothing
          const field = line.slice(0, colon);
          const value = line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
          else if (field === 'event' || field === 'id') event[field] = value;
        }
        if (event.event === undefined && event.data === undefined) continue; // retry: alone
        if (event.data !== undefined) event.data = JSON.parse(event.data);
        return event;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event in ${ms} ms; unparsed: ${JSON.stringify(this.text)}`);
      const { value, done } = await within(left, this.body.read(), 'an SSE chunk');
      if (done) throw new Error('the server ended the stream');
      this.text += this.decoder.decode(value, { stream: true });
    }
  }

  // upload_progress events up to the one that reports `offset` bytes (nothing else may come).
  async progressUntil(offset) {
    const events = [];
    for (;;) {
      const event = await this.next();
      assert.equal(event.event, 'upload_progress', `expected upload_progress, got ${JSON.stringify(event)}`);
      assert.ok(event.id, 'every event has an id');
      events.push(event);
      if (event.data.uploadedSize === offset) return events;
      assert.ok(event.data.uploadedSize < offset, `past ${offset}: ${JSON.stringify(event)}`);
    }
  }

  close() {
    this.controller.abort();
  }
}

const after = (events, id) => events.slice(events.findIndex((event) => event.id === id) + 1);

// ---------------------------------------------------------------------------------------------

test('an SSE stream resumed with Last-Event-ID gets the events it missed, once each, in order, then the live ones', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, SETTINGS);
  const token = onda.token('alice', 'creator');
  const upload = await newUpload(onda, token);
  // `live` stays connected throughout: what it sees is what a resumed stream must see.
  const live = await SseReader.open(t, onda, { token, rooms: upload.room });
  const first = await SseReader.open(t, onda, { token, rooms: upload.room });

  await sendTen(upload);
  await sendTen(upload);
  const seen = await first.progressUntil(20);
  const left = seen.at(-1).id;
  first.close();

  // Away: three more PATCHes.
  for (let i = 0; i < 3; ++i) await sendTen(upload);
  const all = await live.progressUntil(50);
  assert.deepEqual(all.slice(0, seen.length), seen, 'two live readers see the same events');

  const back = await SseReader.open(t, onda, { token, rooms: upload.room, lastEventId: left });
  const missed = await back.progressUntil(50);
  assert.deepEqual(missed, after(all, left));
  assert.ok(missed.length >= 3, `one event per PATCH at least: ${JSON.stringify(missed)}`);
  const ids = all.map((event) => event.id);
  assert.equal(new Set(ids).size, ids.length, `ids repeat: ${ids}`);

  // The replay joins the live stream with nothing lost or doubled.
  await sendTen(upload);
  all.push(...(await live.progressUntil(60)));
  assert.deepEqual(await back.progressUntil(60), after(all, missed.at(-1).id));

  // The same id again replays the same events, with the same ids.
  const again = await SseReader.open(t, onda, { token, rooms: upload.room, lastEventId: left });
  assert.deepEqual(await again.progressUntil(60), after(all, left));
});

test('a room kind keeps what realtime.history.<kind>.size says: resuming past it gets a reset, within it a replay', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, { ...SETTINGS, 'realtime.history.upload.size': '2' });
  const token = onda.token('alice', 'creator');
  const upload = await newUpload(onda, token);
  const live = await SseReader.open(t, onda, { token, rooms: upload.room });
  for (let i = 0; i < 4; ++i) await sendTen(upload);
  const all = await live.progressUntil(40);
  assert.ok(all.length >= 4, JSON.stringify(all));

  // The room keeps the last two: after the third from last, nothing is missing.
  const kept = await SseReader.open(t, onda, { token, rooms: upload.room, lastEventId: all.at(-3).id });
  assert.deepEqual(await kept.progressUntil(40), all.slice(-2));

  // After the fourth from last, the third from last is gone: the reader must start over, and is
  // told so first; from the position the reset gives, the stream is live.
  const past = await SseReader.open(t, onda, { token, rooms: upload.room, lastEventId: all.at(-4).id });
  const reset = await past.next();
  assert.equal(reset.event, 'reset', JSON.stringify(reset));
  assert.ok(reset.id, 'the reset carries the position to go on from');
  await sendTen(upload);
  const next = await past.progressUntil(50);
  assert.ok(next[0].data.uploadedSize > 40, JSON.stringify(next));
  // That position is a real one: resuming from it replays exactly what came after.
  const fromReset = await SseReader.open(t, onda, { token, rooms: upload.room, lastEventId: reset.id });
  assert.deepEqual(await fromReset.progressUntil(50), next);
});
