// onda's tus 1.0 server (/v1/uploads) driven by the real tus-js-client from npm, and by raw HTTP
// where a client library cannot say what is tested (checksums, races, a dropped connection).
//
//   ONDA_BIN=build/ci/src/onda node --test tests/e2e/js/     (ctest: e2e.js.tus)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import * as tus from 'tus-js-client';

import {
  MiB,
  checksum,
  createUpload,
  dataDirContains,
  eventually,
  finishedMedia,
  head,
  makeWav,
  metadataHeader,
  offsetOf,
  openPatch,
  patch,
  sleep,
  startOnda,
  tusHeaders,
  tusOptions,
  tusUpload,
} from './support/onda.mjs';

const TIMEOUT = 60_000;
const gone = (status) => status === 404 || status === 410;


test('1. a 50 MB WAV in 5 MiB chunks with tus-js-client becomes a media object with its sha256', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const token = onda.token('alice', 'creator');
  const wav = await makeWav(t, 300);
  assert.ok(wav.bytes.length > 50_000_000);

  let progressCalls = 0;
  const r = await tusUpload(wav.bytes, {
    ...tusOptions(onda, token, 'big.wav'),
    chunkSize: 5 * MiB,
    onProgress: () => progressCalls++,
  });
  assert.ifError(r.error);
  assert.match(new URL(r.url, onda.base).pathname, /^\/v1\/uploads\/[^/]+$/);
  assert.equal(r.acked.length, Math.ceil(wav.bytes.length / (5 * MiB)), 'one PATCH per 5 MiB chunk');
  assert.deepEqual(r.acked, [...r.acked].sort((a, b) => a - b));
  assert.equal(r.acked.at(-1), wav.bytes.length);
  assert.ok(progressCalls > 0);

  const lastPatchMediaId = r.lastResponse.getHeader('Onda-Media-Id');
  assert.match(lastPatchMediaId ?? '', /^m_/, 'the last PATCH response carries Onda-Media-Id');
  const m = await finishedMedia(onda, token, r.url);
  assert.equal(m.id, lastPatchMediaId, 'HEAD after the last byte carries the same Onda-Media-Id');
  assert.equal(m.head.status, 200);
  assert.equal(m.head.headers.get('upload-offset'), String(wav.bytes.length));
  assert.equal(m.media.sha256, wav.sha256);
  assert.equal(m.media.size, wav.bytes.length);
  assert.ok(m.download.equals(wav.bytes), 'the download is the uploaded file');
  assert.equal(m.media.kind, 'audio');
  assert.equal(m.media.source, 'upload');
  assert.equal(m.media.owner, 'alice');
  assert.equal(m.media.filename, 'big.wav');
  assert.equal(m.media.title, 'tus big.wav');
  assert.equal(m.media.visibility, 'private');
  assert.equal(m.media.audio.channels, 2);
  assert.ok(Math.abs(m.media.duration - 300) < 0.1);
});

test('2. kill -9 after a few acknowledged chunks: HEAD keeps every acknowledged byte, tus-js-client resumes', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const token = onda.token('alice', 'creator');
  const wav = await makeWav(t, 300);

  let killed = null;
  const first = await tusUpload(wav.bytes, {
    ...tusOptions(onda, token, 'crash.wav'),
    chunkSize: 5 * MiB,
    onChunk(offset) {
      // The 4th PATCH starts right after this; SIGKILL lands while its body is on the wire.
      if (offset >= 3 * 5 * MiB && !killed) killed = onda.kill9();
    },
  });
  await killed;
  assert.ok(killed, 'the server was killed during the upload');
  assert.ok(first.error, 'the upload was interrupted');
  assert.ok(first.acked.length >= 3);
  const lastAcked = Math.max(...first.acked);
  assert.ok(lastAcked < wav.bytes.length);

  await onda.start(); // same data dir, new port
  const h = await head(onda.rebase(first.url), token);
  assert.equal(h.status, 200);
  const offset = Number(h.headers.get('upload-offset'));
  assert.ok(offset >= lastAcked, `HEAD after the restart says ${offset}, a PATCH acknowledged ${lastAcked}`);
  assert.ok(offset <= wav.bytes.length);
  assert.equal(h.headers.get('upload-length'), String(wav.bytes.length));
  t.diagnostic(`acknowledged before kill -9: ${lastAcked}; HEAD after the restart: ${offset}`);

  // Once more, deterministically in the middle of a body: 1 MiB of a 2 MiB PATCH has arrived
  // (unacknowledged) when the server dies. Whatever HEAD then reports must be a correct prefix.
  const partial = openPatch(onda.rebase(first.url), token, offset, 2 * MiB);
  await partial.write(wav.bytes.subarray(offset, offset + MiB));
  await sleep(300);
  await onda.kill9();
  await partial.response.catch(() => {});
  await onda.start();
  const offset2 = await offsetOf(onda.rebase(first.url), token);
  assert.ok(offset2 >= offset && offset2 <= offset + MiB, `HEAD after the second kill -9: ${offset2} (was ${offset})`);
  t.diagnostic(`1 MiB unacknowledged in flight at the second kill -9; HEAD after it: ${offset2}`);

  const second = await tusUpload(wav.bytes, {
    ...tusOptions(onda, token, 'crash.wav'),
    uploadUrl: onda.rebase(first.url),
    chunkSize: 5 * MiB,
  });
  assert.ifError(second.error);
  assert.ok(second.acked[0] > offset2, 'tus-js-client went on from the offset HEAD gave');
  assert.equal(second.acked[0], Math.min(offset2 + 5 * MiB, wav.bytes.length));
  assert.equal(second.acked.at(-1), wav.bytes.length);
  const m = await finishedMedia(onda, token, second.url);
  assert.equal(m.media.sha256, wav.sha256);
  assert.ok(m.download.equals(wav.bytes));
});

test('3. Upload-Checksum: a mismatch is 460 and the chunk is discarded; a correct sha256, md5 or sha1 is accepted', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const token = onda.token('alice', 'creator');
  const wav = await makeWav(t, 2);
  const third = 128 * 1024;
  const [a, b, c] = [wav.bytes.subarray(0, third), wav.bytes.subarray(third, 2 * third), wav.bytes.subarray(2 * third)];
  const url = await createUpload(onda, token, wav.bytes.length);

  const wrong = await patch(url, token, 0, a, { 'Upload-Checksum': checksum('sha256', b) });
  assert.equal(wrong.status, 460, wrong.text);
  assert.equal(await offsetOf(url, token), 0, 'a chunk with a wrong checksum is discarded');

  const right = await patch(url, token, 0, a, { 'Upload-Checksum': checksum('sha256', a) });
  assert.equal(right.status, 204, right.text);
  assert.equal(right.headers.get('upload-offset'), String(third));
  const rightMd5 = await patch(url, token, third, b, { 'Upload-Checksum': checksum('md5', b) });
  assert.equal(rightMd5.status, 204, rightMd5.text);
  assert.equal(rightMd5.headers.get('upload-offset'), String(2 * third));

  // The last chunk with a wrong checksum must not complete the upload.
  const wrongLast = await patch(url, token, 2 * third, c, { 'Upload-Checksum': checksum('md5', a) });
  assert.equal(wrongLast.status, 460, wrongLast.text);
  const h = await head(url, token);
  assert.equal(h.headers.get('upload-offset'), String(2 * third));
  assert.equal(h.headers.get('onda-media-id'), null);

  const unknown = await patch(url, token, 2 * third, c, { 'Upload-Checksum': `crc32 ${Buffer.from('1234').toString('base64')}` });
  assert.equal(unknown.status, 400, 'an algorithm the server does not support is 400 (tus checksum extension)');
  assert.equal(await offsetOf(url, token), 2 * third);

  const rightLast = await patch(url, token, 2 * third, c, { 'Upload-Checksum': checksum('sha1', c) });
  assert.equal(rightLast.status, 204, rightLast.text);
  assert.equal(rightLast.headers.get('upload-offset'), String(wav.bytes.length));
  const m = await finishedMedia(onda, token, url);
  assert.equal(m.media.sha256, wav.sha256);
});
test('4. termination: abort(true) and tus.Upload.terminate(url) delete the upload and its data', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const token = onda.token('alice', 'creator');

  // tus-js-client's abort() after the first chunk, then Upload.terminate(url).
  const wavA = await makeWav(t, 20);
  const stoppedA = new Promise((resolve) => {
    tusUpload(wavA.bytes, {
      ...tusOptions(onda, token, 'a.wav'),
      chunkSize: MiB,
      onChunk: (_offset, upload) => upload.abort().then(() => resolve(upload.url)),
    });
  });
  const urlA = await stoppedA;
  assert.equal((await head(urlA, token)).status, 200);
  assert.ok(await dataDirContains(onda.dataDir, wavA.marker), 'the first chunk is on disk before termination');
  await tus.Upload.terminate(urlA, { headers: { Authorization: `Bearer ${token}` } });
  const afterA = await head(urlA, token);
  assert.ok(gone(afterA.status), `HEAD after terminate: ${afterA.status}`);
  assert.equal(await eventually(async () => !(await dataDirContains(onda.dataDir, wavA.marker)), 3000), true, 'the data is gone');

  // abort(true): stop and terminate in one.
  const wavB = await makeWav(t, 20);
  const urlB = await new Promise((resolve, reject) => {
    tusUpload(wavB.bytes, {
      ...tusOptions(onda, token, 'b.wav'),
      chunkSize: MiB,
      onChunk: (_offset, upload) => upload.abort(true).then(() => resolve(upload.url), reject),
    });
  });
  const afterB = await head(urlB, token);
  assert.ok(gone(afterB.status), `HEAD after abort(true): ${afterB.status}`);
  assert.equal(await eventually(async () => !(await dataDirContains(onda.dataDir, wavB.marker)), 3000), true, 'the data is gone');
  const patchAfter = await patch(urlB, token, MiB, wavB.bytes.subarray(MiB, 2 * MiB));
  assert.ok(gone(patchAfter.status), `PATCH after termination: ${patchAfter.status}`);

  // Terminating while a PATCH body is on the wire (a user's "cancel" racing the upload): the
  // DELETE may meet that PATCH still holding the upload (409); tus-js-client retries it, the
  // client drops the PATCH, and in the end the upload and its data are gone.
  const wavC = await makeWav(t, 20);
  const urlC = await createUpload(onda, token, wavC.bytes.length);
  const inFlight = openPatch(urlC, token, 0, 2 * MiB);
  await inFlight.write(wavC.bytes.subarray(0, MiB));
  await sleep(200);
  const terminating = tus.Upload.terminate(urlC, { headers: { Authorization: `Bearer ${token}` }, retryDelays: [200, 500, 1000, 2000] });
  await sleep(50);
  inFlight.destroy();
  await terminating;
  const afterC = await head(urlC, token);
  assert.ok(gone(afterC.status), `HEAD after terminating mid-PATCH: ${afterC.status}`);
  assert.equal(await eventually(async () => !(await dataDirContains(onda.dataDir, wavC.marker)), 3000), true, 'the data is gone');
});

test('5. expiration: an incomplete upload past uploads.expire_after is swept (HEAD 404/410, data gone)', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, { 'uploads.expire_after': '2s', 'uploads.sweep_interval': '500ms' });
  const token = onda.token('alice', 'creator');
  const wav = await makeWav(t, 2);
  const url = await createUpload(onda, token, wav.bytes.length);
  const started = Date.now();
  const p = await patch(url, token, 0, wav.bytes.subarray(0, 64 * 1024));
  assert.equal(p.status, 204, p.text);

  const h = await head(url, token);
  assert.equal(h.status, 200);
  // onda's HEAD carries Upload-Expires (API.md).
  const expiresHeader = h.headers.get('upload-expires');
  const expires = Date.parse(expiresHeader ?? '');
  assert.ok(Number.isFinite(expires), `Upload-Expires is an HTTP date: ${expiresHeader}`);
  assert.ok(expires > started - 2000 && expires < started + 60_000, `Upload-Expires ${expiresHeader}`);
  assert.ok(await dataDirContains(onda.dataDir, wav.marker));

  const status = await eventually(async () => {
    const s = (await head(url, token)).status;
    return gone(s) ? s : null;
  }, 10_000, 250);
  assert.ok(status, 'the upload is gone within 10 s');
  assert.ok(Date.now() - started >= 1500, 'not before it expired');
  assert.equal(await eventually(async () => !(await dataDirContains(onda.dataDir, wav.marker)), 5000), true, 'the sweep deleted the data');
  const late = await patch(url, token, 64 * 1024, wav.bytes.subarray(64 * 1024));
  assert.ok(gone(late.status), `PATCH after expiry: ${late.status}`);
});

test('6. bytes that are not media: the last PATCH is 415 unsupported_media and no media is kept', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const token = onda.token('alice', 'creator');
  const marker = randomBytes(16).toString('hex');
  const bytes = Buffer.from(`${'x'.repeat(100_000)} ${marker} hello, this is not audio ${'y'.repeat(100_000)}`);
  const url = await createUpload(onda, token, bytes.length, { filename: 'a.wav', filetype: 'audio/wav' });

  const first = await patch(url, token, 0, bytes.subarray(0, 150_000));
  assert.equal(first.status, 204, first.text);
  const last = await patch(url, token, 150_000, bytes.subarray(150_000));
  assert.equal(last.status, 415, last.text);
  assert.match(last.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(last.text);
  assert.equal(body.error.code, 'unsupported_media');
  assert.equal(typeof body.error.message, 'string');
  assert.equal(last.headers.get('onda-media-id'), null);

  const list = await fetch(onda.url('/v1/media'), { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(list.status, 200);
  assert.deepEqual((await list.json()).items, []);
  const h = await head(url, token);
  assert.equal(h.headers.get('onda-media-id'), null, `HEAD after the 415: ${h.status}`);
  const kept = await eventually(async () => !(await dataDirContains(onda.dataDir, marker)), 3000);
  assert.equal(kept, true, 'nothing of a refused upload is kept (as POST /v1/media)');
});

test('7. two PATCHes at the same offset at once: exactly one 204, the other 409; the content is right', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const token = onda.token('alice', 'creator');
  const wav = await makeWav(t, 4);
  const chunk = 256 * 1024;
  const url = await createUpload(onda, token, wav.bytes.length);

  // Fired together, the same bytes.
  const both = await Promise.all([
    patch(url, token, 0, wav.bytes.subarray(0, chunk)),
    patch(url, token, 0, wav.bytes.subarray(0, chunk)),
  ]);
  assert.deepEqual(both.map((r) => r.status).sort(), [204, 409], both.map((r) => `${r.status} ${r.text}`).join(' | '));
  assert.equal(await offsetOf(url, token), chunk);

  // While one PATCH is still sending its body, another one (different bytes) is 409 at once and
  // writes nothing; the first one then completes.
  const slow = openPatch(url, token, chunk, chunk);
  await slow.write(wav.bytes.subarray(chunk, chunk + 64 * 1024));
  await sleep(300);
  const garbage = randomBytes(chunk);
  const racing = await patch(url, token, chunk, garbage);
  assert.equal(racing.status, 409, `a PATCH while another is in progress: ${racing.status} ${racing.text}`);
  await slow.write(wav.bytes.subarray(chunk + 64 * 1024, 2 * chunk));
  const done = await slow.end();
  assert.equal(done.status, 204, done.text);
  assert.equal(done.headers['upload-offset'], String(2 * chunk));

  const rest = await tusUpload(wav.bytes, { ...tusOptions(onda, token, 'race.wav'), uploadUrl: url, chunkSize: MiB });
  assert.ifError(rest.error);
  const m = await finishedMedia(onda, token, url);
  assert.equal(m.media.sha256, wav.sha256);
});

test('8. a PATCH whose client disconnects mid-body keeps the bytes that arrived; the upload goes on', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const token = onda.token('alice', 'creator');
  const wav = await makeWav(t, 4);
  const sent = 300 * 1024;
  const url = await createUpload(onda, token, wav.bytes.length);

  const p = openPatch(url, token, 0, wav.bytes.length);
  await p.write(wav.bytes.subarray(0, sent));
  await sleep(500);
  p.destroy();

  // The server notices the reset and keeps what it has; wait until HEAD says something stable.
  let last = -1;
  const offset = await eventually(async () => {
    const h = await head(url, token);
    if (h.status !== 200) return null;
    const o = Number(h.headers.get('upload-offset'));
    const stable = o > 0 && o === last;
    last = o;
    return stable ? o : null;
  }, 10_000, 200);
  assert.ok(offset, `HEAD after the disconnect never reported a stable offset > 0 (last ${last})`);
  assert.ok(offset <= sent, `HEAD reports ${offset} bytes, only ${sent} were sent`);
  t.diagnostic(`sent ${sent} bytes of a ${wav.bytes.length}-byte PATCH, then dropped it; HEAD: ${offset}`);

  const rest = await tusUpload(wav.bytes, {
    ...tusOptions(onda, token, 'dropped.wav'),
    uploadUrl: url,
    chunkSize: MiB,
    retryDelays: [100, 300, 1000, 2000], // tus-js-client retries a 409/423 while the dropped PATCH is let go
  });
  assert.ifError(rest.error);
  const m = await finishedMedia(onda, token, url);
  assert.equal(m.media.sha256, wav.sha256);
  assert.ok(m.download.equals(wav.bytes));
});

// Reads `event:`/`data:` blocks off a fetch() body until `stop(events)` or the deadline.
async function readSse(res, stop, ms) {
  const events = [];
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const deadline = setTimeout(() => reader.cancel().catch(() => {}), ms);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replaceAll('\r\n', '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const e = { event: 'message', data: '' };
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') e.event = value;
          else if (field === 'data') e.data += (e.data ? '\n' : '') + value;
          else if (field === 'id') e.id = value;
        }
        if (e.data || e.event !== 'message') events.push(e);
        if (stop(events)) return events;
      }
    }
  } finally {
    clearTimeout(deadline);
    reader.cancel().catch(() => {});
  }
  return events;
}

test('9. progress SSE: /v1/uploads/{uid}/events streams upload_progress up to completed', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const token = onda.token('alice', 'creator');
  const wav = await makeWav(t, 10);
  const url = await createUpload(onda, token, wav.bytes.length, { filename: 'progress.wav', filetype: 'audio/wav' });
  const uid = new URL(url).pathname.split('/').pop();

  const sse = await fetch(`${url}/events`, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' } });
  t.after(() => sse.body?.cancel().catch(() => {}));
  assert.equal(sse.status, 200, `GET ${new URL(url).pathname}/events with the uploader's token: ${sse.status} ${sse.status === 200 ? '' : await sse.text()}`);
  assert.match(sse.headers.get('content-type') ?? '', /^text\/event-stream/);

  const noToken = await fetch(`${url}/events`, { signal: AbortSignal.timeout(5000) });
  assert.equal(noToken.status, 401, 'progress SSE without a token');
  await noToken.body?.cancel();
  const other = await fetch(`${url}/events`, { headers: { Authorization: `Bearer ${onda.token('bob', 'creator')}` }, signal: AbortSignal.timeout(5000) });
  assert.ok([403, 404].includes(other.status), `another user's progress SSE: ${other.status}`);
  await other.body?.cancel();

  const finished = (events) => events.some((e) => e.event === 'upload_progress' && JSON.parse(e.data).status === 'completed');
  const reading = readSse(sse, finished, 30_000);

  const up = await tusUpload(wav.bytes, {
    ...tusOptions(onda, token, 'progress.wav'),
    uploadUrl: url,
    chunkSize: 256 * 1024,
    onBeforeRequest: (req) => (req.getMethod() === 'PATCH' ? sleep(150) : undefined), // a few visible steps
  });
  assert.ifError(up.error);
  const events = (await reading).filter((e) => e.event === 'upload_progress').map((e) => JSON.parse(e.data));
  assert.ok(finished(events.map((data) => ({ event: 'upload_progress', data: JSON.stringify(data) }))), `no completed event: ${JSON.stringify(events)}`);

  for (const e of events) {
    assert.equal(e.uploadId, uid);
    assert.equal(e.fileName, 'progress.wav');
    assert.equal(e.totalSize, wav.bytes.length);
    assert.ok(['uploading', 'processing', 'completed', 'failed'].includes(e.status), e.status);
    assert.ok(e.percentage >= 0 && e.percentage <= 100, `percentage ${e.percentage}`);
    assert.equal(typeof e.speed, 'number');
    assert.ok('estimatedTime' in e);
  }
  const sizes = events.map((e) => e.uploadedSize);
  t.diagnostic(`upload_progress: ${events.map((e) => `${e.status} ${e.uploadedSize}`).join(', ')}`);
  assert.deepEqual(sizes, [...sizes].sort((a, b) => a - b), `uploadedSize never goes down: ${sizes}`);
  assert.ok(new Set(sizes.filter((s) => s > 0 && s < wav.bytes.length)).size >= 2, `several steps while uploading: ${sizes}`);
  assert.ok(!events.some((e) => e.status === 'failed'));
  const done = events.at(-1);
  assert.equal(done.status, 'completed');
  assert.equal(done.uploadedSize, wav.bytes.length);
  assert.equal(done.percentage, 100);
});

test('creation-with-upload: tus-js-client sends the first chunk with the POST', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t);
  const token = onda.token('alice', 'creator');
  const wav = await makeWav(t, 3);
  const r = await tusUpload(wav.bytes, { ...tusOptions(onda, token, 'small.wav'), uploadDataDuringCreation: true, chunkSize: 256 * 1024 });
  assert.ifError(r.error);
  const m = await finishedMedia(onda, token, r.url);
  assert.equal(m.media.sha256, wav.sha256);

  // All in the POST: the 201 is also the last byte.
  const tiny = await makeWav(t, 0.5);
  const res = await fetch(onda.url('/v1/uploads'), {
    method: 'POST',
    headers: tusHeaders(token, {
      'Upload-Length': String(tiny.bytes.length),
      'Upload-Metadata': metadataHeader({ filename: 'tiny.wav', filetype: 'audio/wav' }),
      'Content-Type': 'application/offset+octet-stream',
    }),
    body: tiny.bytes,
  });
  assert.equal(res.status, 201, await res.text());
  assert.equal(res.headers.get('upload-offset'), String(tiny.bytes.length));
  const whole = await finishedMedia(onda, token, new URL(res.headers.get('location'), onda.base).href);
  assert.equal(whole.media.sha256, tiny.sha256);
});

test('protocol: OPTIONS, Tus-Resumable, Tus-Max-Size, auth, Cache-Control', { timeout: TIMEOUT }, async (t) => {
  const onda = await startOnda(t, { 'uploads.tus_max_size': '100MiB' });
  const token = onda.token('alice', 'creator');

  const options = await fetch(onda.url('/v1/uploads'), { method: 'OPTIONS', headers: tusHeaders(token) });
  assert.ok([200, 204].includes(options.status), `OPTIONS: ${options.status}`);
  assert.equal(options.headers.get('tus-version'), '1.0.0');
  assert.equal(options.headers.get('tus-resumable'), '1.0.0');
  const extensions = (options.headers.get('tus-extension') ?? '').split(',').map((s) => s.trim());
  for (const e of ['creation', 'creation-with-upload', 'termination', 'expiration', 'checksum']) {
    assert.ok(extensions.includes(e), `Tus-Extension lacks ${e}: ${extensions}`);
  }
  assert.equal(options.headers.get('tus-max-size'), String(100 * MiB));
  const algorithms = (options.headers.get('tus-checksum-algorithm') ?? '').split(',').map((s) => s.trim());
  for (const a of ['sha1', 'sha256', 'md5']) assert.ok(algorithms.includes(a), `Tus-Checksum-Algorithm lacks ${a}`);

  const post = (headers) => fetch(onda.url('/v1/uploads'), { method: 'POST', headers });
  const meta = metadataHeader({ filename: 'x.wav' });
  const tooBig = await post(tusHeaders(token, { 'Upload-Length': String(100 * MiB + 1), 'Upload-Metadata': meta }));
  assert.equal(tooBig.status, 413, await tooBig.text());
  const noVersion = await post({ Authorization: `Bearer ${token}`, 'Upload-Length': '10', 'Upload-Metadata': meta });
  assert.equal(noVersion.status, 412);
  const wrongVersion = await post(tusHeaders(token, { 'Tus-Resumable': '0.2.2', 'Upload-Length': '10', 'Upload-Metadata': meta }));
  assert.equal(wrongVersion.status, 412);
  assert.equal(wrongVersion.headers.get('tus-version'), '1.0.0');
  const anonymous = await post(tusHeaders(null, { 'Upload-Length': '10', 'Upload-Metadata': meta }));
  assert.equal(anonymous.status, 401);
  assert.equal((await anonymous.json()).error.code, 'unauthenticated');
  const viewer = await post(tusHeaders(onda.token('vic', 'viewer'), { 'Upload-Length': '10', 'Upload-Metadata': meta }));
  assert.equal(viewer.status, 403);
  assert.equal((await viewer.json()).error.code, 'forbidden');

  const url = await createUpload(onda, token, 1000);
  const h = await head(url, token);
  assert.equal(h.status, 200);
  assert.equal(h.headers.get('upload-offset'), '0');
  assert.equal(h.headers.get('upload-length'), '1000');
  assert.equal(h.headers.get('cache-control'), 'no-store');
  assert.ok(h.headers.get('upload-expires'));
  const badOffset = await patch(url, token, 5, Buffer.alloc(10));
  assert.equal(badOffset.status, 409);
  const badType = await fetch(url, { method: 'PATCH', headers: tusHeaders(token, { 'Upload-Offset': '0', 'Content-Type': 'application/octet-stream' }), body: Buffer.alloc(10) });
  assert.equal(badType.status, 415, 'PATCH without application/offset+octet-stream');
  const strangerHead = await head(url, onda.token('bob', 'creator'));
  assert.ok([403, 404].includes(strangerHead.status), `another user's HEAD: ${strangerHead.status}`);
  const strangerDelete = await fetch(url, { method: 'DELETE', headers: tusHeaders(onda.token('bob', 'creator')) });
  assert.ok([403, 404].includes(strangerDelete.status), `another user's DELETE: ${strangerDelete.status}`);
  const del = await fetch(url, { method: 'DELETE', headers: tusHeaders(token) });
  assert.equal(del.status, 204);
  assert.ok(gone((await head(url, token)).status));
});

test('CORS: an allowed origin may read every header a browser tus client needs', { timeout: TIMEOUT }, async (t) => {
  const origin = 'https://app.example';
  const onda = await startOnda(t, { 'cors.allowed_origins': origin });
  const token = onda.token('alice', 'creator');
  // A browser hides from the page every response header not exposed (Fetch standard): without
  // Location or Upload-Offset tus-js-client cannot go on.
  const needed = ['Location', 'Upload-Offset', 'Upload-Length', 'Tus-Resumable', 'Tus-Version', 'Tus-Max-Size',
    'Tus-Extension', 'Upload-Expires', 'Onda-Media-Id'];
  const assertExposes = (res, what) => {
    assert.equal(res.headers.get('access-control-allow-origin'), origin, what);
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(',').map((s) => s.trim().toLowerCase());
    for (const name of needed) assert.ok(exposed.includes(name.toLowerCase()), `${what}: Access-Control-Expose-Headers lacks ${name}`);
  };

  const created = await fetch(onda.url('/v1/uploads'), {
    method: 'POST',
    headers: tusHeaders(token, { Origin: origin, 'Upload-Length': '10', 'Upload-Metadata': metadataHeader({ filename: 'x.wav' }) }),
  });
  assert.equal(created.status, 201, await created.text());
  assertExposes(created, 'POST');
  const url = new URL(created.headers.get('location'), onda.base).href;
  const p = await patch(url, token, 0, Buffer.alloc(5), { Origin: origin });
  assert.equal(p.status, 204, p.text);
  assertExposes(p, 'PATCH');
  assertExposes(await fetch(url, { method: 'HEAD', headers: tusHeaders(token, { Origin: origin }) }), 'HEAD');
});

// The ids in the uploads table, read with the sqlite3 CLI (the database is in WAL mode, so reading
// it does not block the server).
function uploadRows(onda) {
  const r = spawnSync('sqlite3', ['-readonly', path.join(onda.dataDir, 'onda.db'), 'SELECT id FROM uploads'], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (r.error || r.status !== 0) throw new Error(`sqlite3 (the CLI, Debian package sqlite3): ${r.error?.message ?? r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

test('expiration removes the upload rows: the table empties, a finished upload is 404 not 410, its media stays', { timeout: TIMEOUT }, async (t) => {
  // Long enough for the set-up below to finish before the first upload expires, on a slow machine.
  const onda = await startOnda(t, { 'uploads.expire_after': '10s', 'uploads.sweep_interval': '500ms' });
  const token = onda.token('alice', 'creator');
  const wav = await makeWav(t, 1);
  const uid = (url) => new URL(url).pathname.split('/').pop();

  const finished = await createUpload(onda, token, wav.bytes.length);
  assert.equal((await patch(finished, token, 0, wav.bytes)).status, 204);
  const m = await finishedMedia(onda, token, finished);
  const unfinished = await createUpload(onda, token, wav.bytes.length);
  assert.equal((await patch(unfinished, token, 0, wav.bytes.subarray(0, 64 * 1024))).status, 204);
  assert.deepEqual(uploadRows(onda).sort(), [uid(finished), uid(unfinished)].sort());

  // HEAD of an expired upload still stored is 410. A finished upload has no data file left, so
  // once the sweep has deleted its row, nothing answers for it but 404.
  const swept = await eventually(async () => (await head(finished, token)).status === 404, 25_000, 250);
  assert.ok(swept, `HEAD of the finished upload 25 s on: ${(await head(finished, token)).status}`);
  const emptied = await eventually(() => uploadRows(onda).length === 0, 10_000, 250);
  assert.ok(emptied, `rows left after the sweep: ${uploadRows(onda)}`);
  const media = await fetch(onda.url(`/v1/media/${m.id}`), { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(media.status, 200, 'the media an upload became outlives the upload');
});

test('a finished tus upload is queued for transcoding like POST /v1/media, and a worker makes its ladder', { timeout: 150_000 }, async (t) => {
  // One worker, and no API rate limit: the test polls the media object.
  const onda = await startOnda(t, { 'transcode.workers': '1', 'auth.rate_limit_per_minute': '0' });
  const token = onda.token('alice', 'creator');
  const wav = await makeWav(t, 2);
  const r = await tusUpload(wav.bytes, tusOptions(onda, token, 'ladder.wav'));
  assert.ifError(r.error);
  const m = await finishedMedia(onda, token, r.url);
  assert.ok(['queued', 'running', 'done'].includes(m.media.transcode.state), `transcode after the upload: ${m.media.transcode.state}`);

  // Only a job in the queue gets a worker to it; a state that says queued without one stays so.
  const done = await eventually(async () => {
    const res = await fetch(onda.url(`/v1/media/${m.id}`), { headers: { Authorization: `Bearer ${token}` } });
    const media = await res.json();
    assert.notEqual(media.transcode.state, 'failed', `transcode failed: ${media.transcode.error}`);
    return media.transcode.state === 'done' && media;
  }, 120_000, 250);
  assert.ok(done, 'the transcode was not done within 120 s');
  assert.ok(done.renditions.length > 0);
  assert.equal(done.urls.hls, `/v1/media/${m.id}/hls/master.m3u8`);
});
