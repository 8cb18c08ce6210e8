// The real `onda serve` for one test, on 127.0.0.1 with an ephemeral port and a temp data dir, plus
// the helpers the tus tests share (tokens, media fixtures, raw tus requests, tus-js-client in a
// promise). Mirrors tests/support/onda_process.cpp.
//
//   const onda = await startOnda(t, { 'uploads.expire_after': '2s' });   // stopped when t ends
//   const token = await onda.token('alice', 'creator');
//   const res = await fetch(onda.url('/v1/uploads'), { method: 'OPTIONS', headers: tusHeaders(token) });
//
// ONDA_BIN picks the binary (default: build/ci/src/onda of this repo).
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tus from 'tus-js-client';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../../..');
export const ONDA_BIN = path.resolve(repoRoot, process.env.ONDA_BIN ?? 'build/ci/src/onda');

export const MiB = 1024 * 1024;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// `promise`, or a rejection naming `what` when it has not settled within `ms`.
export function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Polls `probe` every `every` ms until it returns a truthy value; that value, or null at the deadline.
export async function eventually(probe, ms, every = 50) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) return null;
    await sleep(every);
  }
}

// Every process started here, so that none outlives the test run even when a test throws early.
const running = new Set();
const killAll = () => {
  for (const child of running) child.kill('SIGKILL');
};
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + os.constants.signals[signal]);
  });
}

export async function makeTempDir(t, prefix = 'onda-js-') {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  return dir;
}

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export class Onda {
  constructor(dir, settings) {
    this.dir = dir;
    this.dataDir = path.join(dir, 'data');
    this.settings = settings;
    this.starts = 0;
    this.child = null;
    this.port = 0;
    this.logFile = path.join(dir, 'stderr.log');
  }

  // `port` 0 picks a free one; restartOnSamePort() passes the previous one.
  async start({ deadlineMs = 20_000, port = 0 } = {}) {
    if (this.child) throw new Error('onda is already running');
    if (!fs.existsSync(ONDA_BIN)) throw new Error(`no onda binary at ${ONDA_BIN}: build it, or set ONDA_BIN (relative to ${repoRoot})`);
    const ready = path.join(this.dir, `ready-${++this.starts}.json`);
    fs.rmSync(ready, { force: true });
    const argv = ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', this.dataDir, '--ready-file', ready, '--threads', '2'];
    for (const [k, v] of Object.entries(this.settings)) argv.push('--set', `${k}=${v}`);
    const log = fs.openSync(this.logFile, 'a');
    const child = spawn(ONDA_BIN, argv, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    const spawnError = new Promise((_, reject) => child.once('error', reject));
    spawnError.catch(() => {});

    const deadline = Date.now() + deadlineMs;
    for (;;) {
      await Promise.race([sleep(10), spawnError]);
      if (fs.existsSync(ready)) {
        try {
          this.port = JSON.parse(fs.readFileSync(ready, 'utf8')).port;
          if (this.port > 0) return this;
        } catch {
          // written atomically by onda; a partial read means "not yet"
        }
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        this.child = null;
        throw new Error(`onda exited (${child.exitCode ?? child.signalCode}) while starting:\n${this.log()}`);
      }
      if (Date.now() > deadline) {
        this.kill9();
        throw new Error(`onda did not become ready in ${deadlineMs} ms:\n${this.log()}`);
      }
    }
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  url(pathAndQuery) {
    return this.base + pathAndQuery;
  }

  // The same upload on this server's current port (the Location may be absolute, or from before a restart).
  rebase(uploadUrl) {
    return this.url(new URL(uploadUrl, this.base).pathname);
  }

  token(sub, role = 'viewer', ttl = '1h') {
    const r = spawnSync(ONDA_BIN, ['token', '--data-dir', this.dataDir, '--sub', sub, '--role', role, '--ttl', ttl], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    if (r.status !== 0) throw new Error(`onda token failed (${r.status}): ${r.stderr}`);
    return r.stdout.trim();
  }

  // SIGTERM and wait; the exit status, -1 if it had to be killed, null if it was not running.
  async stop(deadlineMs = 15_000) {
    const child = this.child;
    if (!child) return null;
    this.child = null;
    child.kill('SIGTERM');
    if (!(await waitExit(child, deadlineMs))) {
      child.kill('SIGKILL');
      await waitExit(child, 5_000);
      return -1;
    }
    return child.exitCode ?? 128;
  }

  // SIGKILL and reap: a crash, as far as the data on disk can tell.
  async kill9() {
    const child = this.child;
    if (!child) return;
    this.child = null;
    child.kill('SIGKILL');
    await waitExit(child, 10_000);
  }

  async restart() {
    await this.kill9();
    return this.start();
  }

  // A crash and a restart at the same address, as clients that reconnect by themselves see it.
  async restartOnSamePort() {
    const port = this.port;
    await this.kill9();
    return this.start({ port });
  }

  log() {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  logTail(lines = 40) {
    return this.log().split('\n').slice(-lines).join('\n');
  }
}

// Starts onda for test `t` and stops it when `t` ends; a non-zero exit status on SIGTERM (a
// sanitizer report, a crash on shutdown) fails the test with the server's log.
export async function startOnda(t, settings = {}) {
  // One hook stops the server and then removes its directory: in that order, so the server never
  // runs without its data and its log is still there to quote.
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'onda-js-'));
  const onda = new Onda(dir, settings);
  t.after(async () => {
    const status = await onda.stop();
    const tail = onda.logTail(80);
    await fsp.rm(dir, { recursive: true, force: true });
    if (status === -1) throw new Error(`onda did not stop on SIGTERM in 15 s:\n${tail}`);
    if (status !== null && status !== 0) throw new Error(`onda exited with ${status} on SIGTERM:\n${tail}`);
  });
  await onda.start();
  return onda;
}

// ---------------------------------------------------------------------------------------------
// Media fixtures

export const sha256Hex = (buf) => createHash('sha256').update(buf).digest('hex');
export const checksum = (algo, buf) => `${algo} ${createHash(algo).update(buf).digest('base64')}`;

const wavCache = new Map();
// A real WAV of sine audio made by ffmpeg: `seconds` of stereo 44.1 kHz s16 is 176,400 bytes a
// second (300 s ≈ 50 MB). A random marker in the LIST/INFO comment makes each file's bytes findable
// on disk (see dataDirContains) without changing what it is.
export async function makeWav(t, seconds, { marker = randomBytes(16).toString('hex') } = {}) {
  const dir = await makeTempDir(t, 'onda-js-media-');
  const file = path.join(dir, `sine-${seconds}s.wav`);
  const r = spawnSync(
    'ffmpeg',
    ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `sine=f=440:d=${seconds}`,
      '-ac', '2', '-ar', '44100', '-c:a', 'pcm_s16le', '-metadata', `comment=${marker}`, '-y', file],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  const bytes = await fsp.readFile(file);
  if (!bytes.includes(Buffer.from(marker))) throw new Error('the marker is not in the WAV');
  return { bytes, marker, sha256: sha256Hex(bytes) };
}

// Does any file under `dir` hold `marker`? (Is an upload's data still on disk.) The file, or null.
export async function dataDirContains(dir, marker) {
  const needle = Buffer.from(marker);
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) {
      const found = await dataDirContains(file, marker);
      if (found) return found;
    } else if (e.isFile()) {
      const bytes = await fsp.readFile(file).catch(() => null); // may vanish meanwhile
      if (bytes && bytes.includes(needle)) return file;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// tus by hand

export const b64 = (s) => Buffer.from(s).toString('base64');
export const metadataHeader = (meta) =>
  Object.entries(meta)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(',');

export function tusHeaders(token, extra = {}) {
  const h = { 'Tus-Resumable': '1.0.0', ...extra };
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

// POST /v1/uploads; the absolute upload URL.
export async function createUpload(onda, token, length, meta = { filename: 'x.wav', filetype: 'audio/wav' }) {
  const res = await fetch(onda.url('/v1/uploads'), {
    method: 'POST',
    headers: tusHeaders(token, { 'Upload-Length': String(length), 'Upload-Metadata': metadataHeader(meta) }),
    signal: AbortSignal.timeout(15_000),
  });
  if (res.status !== 201) throw new Error(`POST /v1/uploads: ${res.status} ${await res.text()}`);
  const location = res.headers.get('location');
  if (!location) throw new Error('POST /v1/uploads: no Location');
  return new URL(location, onda.base).href;
}

export async function head(url, token) {
  const res = await fetch(url, { method: 'HEAD', headers: tusHeaders(token), signal: AbortSignal.timeout(15_000) });
  return res;
}

export async function offsetOf(url, token) {
  const res = await head(url, token);
  if (res.status !== 200) throw new Error(`HEAD ${url}: ${res.status}`);
  return Number(res.headers.get('upload-offset'));
}

export async function patch(url, token, offset, body, extra = {}) {
  const res = await fetch(url, {
    method: 'PATCH',
    headers: tusHeaders(token, {
      'Content-Type': 'application/offset+octet-stream',
      'Upload-Offset': String(offset),
      ...extra,
    }),
    body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

// A PATCH over node:http whose body the caller writes piece by piece: `write(buf)` sends and
// resolves once the socket took it, `end()` finishes and resolves to {status, headers, text},
// `destroy()` drops the connection mid-body. `response` settles as soon as the server answers
// (which it may do before the body is complete, e.g. 409).
export function openPatch(url, token, offset, contentLength, extra = {}) {
  const u = new URL(url);
  const req = http.request({
    host: u.hostname,
    port: u.port,
    path: u.pathname,
    method: 'PATCH',
    agent: false,
    headers: tusHeaders(token, {
      'Content-Type': 'application/offset+octet-stream',
      'Upload-Offset': String(offset),
      'Content-Length': String(contentLength),
      ...extra,
    }),
  });
  const response = new Promise((resolve, reject) => {
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  response.catch(() => {});
  req.flushHeaders();
  return {
    req,
    response,
    write: (buf) => new Promise((resolve, reject) => req.write(buf, (err) => (err ? reject(err) : resolve()))),
    end: () => {
      req.end();
      return response;
    },
    destroy: () => req.destroy(),
  };
}

// ---------------------------------------------------------------------------------------------
// tus-js-client

// Runs a tus-js-client upload to completion (or error). Resolves to
// { url, acked: [offsets the server acknowledged], error? }. `onChunk(offset, upload)` is called
// after each acknowledged PATCH (onChunkComplete), e.g. to kill the server there;
// `onProgress(sent, total, upload)` as bytes go out. (After upload.abort() it never resolves.)
export function tusUpload(bytes, options) {
  const { onChunk, onProgress, ...rest } = options;
  const acked = [];
  return new Promise((resolve) => {
    let settled = false;
    const upload = new tus.Upload(bytes, {
      retryDelays: null,
      ...rest,
      onProgress: onProgress && ((sent, total) => onProgress(sent, total, upload)),
      onChunkComplete(_chunkSize, bytesAccepted) {
        acked.push(bytesAccepted);
        onChunk?.(bytesAccepted, upload);
      },
      onSuccess(payload) {
        if (settled) return;
        settled = true;
        resolve({ upload, url: upload.url, acked, lastResponse: payload?.lastResponse });
      },
      onError(error) {
        if (settled) return;
        settled = true;
        resolve({ upload, url: upload.url, acked, error });
      },
    });
    upload.start();
  });
}

export function tusOptions(onda, token, name = 'sine.wav', extra = {}) {
  return {
    endpoint: onda.url('/v1/uploads'),
    headers: { Authorization: `Bearer ${token}` },
    metadata: { filename: name, filetype: 'audio/wav', title: `tus ${name}`, visibility: 'private' },
    ...extra,
  };
}

// After the last byte: the media id from HEAD, the media object and the downloaded bytes.
export async function finishedMedia(onda, token, uploadUrl) {
  const h = await head(onda.rebase(uploadUrl), token);
  const id = h.headers.get('onda-media-id');
  if (!id) throw new Error(`HEAD after the last byte: ${h.status}, no Onda-Media-Id`);
  const auth = { Authorization: `Bearer ${token}` };
  const obj = await fetch(onda.url(`/v1/media/${id}`), { headers: auth, signal: AbortSignal.timeout(15_000) });
  if (obj.status !== 200) throw new Error(`GET /v1/media/${id}: ${obj.status} ${await obj.text()}`);
  const dl = await fetch(onda.url(`/v1/media/${id}/download`), { headers: auth, signal: AbortSignal.timeout(30_000) });
  if (dl.status !== 200) throw new Error(`GET /v1/media/${id}/download: ${dl.status}`);
  return { id, head: h, media: await obj.json(), download: Buffer.from(await dl.arrayBuffer()) };
}
