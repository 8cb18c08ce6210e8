#!/usr/bin/env node
// DEVELOPMENT ONLY, not run by `make test`: a stand-in for the `onda` binary, so the tus tests can be
// written and debugged while onda's tus server does not exist yet (`npm run test:standin`).
//
// It speaks the same command line as onda (`serve --listen --data-dir --ready-file --set k=v`,
// `token --data-dir --sub --role --ttl`) and serves /v1/uploads with @tus/server + @tus/file-store.
// Plain tus comes from @tus/server. A few onda parts are EMULATED here, crudely, only so that the
// plain-tus tests can check their result the way they do against onda:
//   - a finished upload becomes a "media object": Onda-Media-Id on the last PATCH and later HEADs,
//     GET /v1/media/{id} -> {id, size, sha256}, GET /v1/media/{id}/download -> the bytes;
//   - Upload-Checksum on PATCH (@tus/server has no checksum extension): 460 on a mismatch.
//   - progress SSE at GET /v1/uploads/{uid}/events (upload_progress after each PATCH, then
//     completed), with just enough "auth" for the test: no token 401, not the uploader 403.
// Not emulated (the tests for them are onda-only): auth elsewhere, 415 unsupported_media, onda's
// OPTIONS headers.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

function parseArgs(argv) {
  const out = { command: argv[0], set: {} };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--set') {
      const [k, ...v] = argv[++i].split('=');
      out.set[k] = v.join('=');
    } else if (a.startsWith('--')) {
      out[a.slice(2)] = argv[++i];
    }
  }
  return out;
}

function parseDuration(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`bad duration ${text}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]];
}

function parseSize(text) {
  const m = /^(\d+)(B|KiB|MiB|GiB)?$/.exec(text);
  if (!m) throw new Error(`bad size ${text}`);
  return Number(m[1]) * { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[m[2] ?? 'B'];
}

const args = parseArgs(process.argv.slice(2));

if (args.command === 'token') {
  process.stdout.write(`standin.${args.sub}.${args.role}\n`);
  process.exit(0);
}
if (args.command !== 'serve') {
  console.error('usage: onda-standin.mjs serve|token ...');
  process.exit(2);
}

const dataDir = args['data-dir'];
const uploadsDir = path.join(dataDir, 'tus');
const mediaFile = path.join(dataDir, 'media.json');
fs.mkdirSync(uploadsDir, { recursive: true });
const media = fs.existsSync(mediaFile) ? JSON.parse(fs.readFileSync(mediaFile, 'utf8')) : {};
const mediaOfUpload = (uid) => Object.values(media).find((m) => m.upload === uid);

// Progress SSE: watchers by upload id, and each upload's owner (the "token" is standin.SUB.ROLE).
const watchers = new Map();
const owners = new Map();
const subOf = (req) => /^Bearer standin\.([^.]+)\./.exec(req.headers.authorization ?? '')?.[1];
function publishProgress(upload, status) {
  const data = {
    uploadId: upload.id,
    fileName: upload.metadata?.filename ?? null,
    totalSize: upload.size,
    uploadedSize: upload.offset,
    percentage: upload.size ? Math.round((upload.offset / upload.size) * 1000) / 10 : 0,
    speed: 0,
    estimatedTime: null,
    status,
  };
  for (const res of watchers.get(upload.id) ?? []) res.write(`event: upload_progress\ndata: ${JSON.stringify(data)}\n\n`);
}

const expireAfter = parseDuration(args.set['uploads.expire_after'] ?? '24h');
const tus = new Server({
  path: '/v1/uploads',
  maxSize: parseSize(args.set['uploads.tus_max_size'] ?? '2GiB'),
  relativeLocation: true,
  datastore: new FileStore({ directory: uploadsDir, expirationPeriodInMilliseconds: expireAfter }),
  async onUploadCreate(req, upload) {
    owners.set(upload.id, /^Bearer standin\.([^.]+)\./.exec(req.headers.get('authorization') ?? '')?.[1]);
    return {};
  },
  async onUploadFinish(_req, upload) {
    const file = path.join(uploadsDir, upload.id);
    const hash = createHash('sha256');
    for await (const chunk of fs.createReadStream(file)) hash.update(chunk);
    const id = `m_${randomBytes(8).toString('hex')}`;
    media[id] = { id, upload: upload.id, file, size: upload.size, sha256: hash.digest('hex') };
    fs.writeFileSync(mediaFile, JSON.stringify(media));
    publishProgress({ ...upload, offset: upload.size }, 'completed');
    return { headers: { 'Onda-Media-Id': id } };
  },
});
setInterval(() => tus.cleanUpExpiredUploads().catch(() => {}), parseDuration(args.set['uploads.sweep_interval'] ?? '1m')).unref();

async function sendWeb(res, response, extraHeaders = {}) {
  const headers = Object.fromEntries(response.headers);
  res.writeHead(response.status, { ...headers, ...extraHeaders });
  res.end(Buffer.from(await response.arrayBuffer()));
}

function webRequest(req, body) {
  return new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers: req.headers, body });
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://x');
  const m = /^\/v1\/media\/([^/]+)(\/download)?$/.exec(url.pathname);
  if (m && req.method === 'GET') {
    const item = media[m[1]];
    if (!item) return void res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":{"code":"not_found","message":"no such media"}}');
    if (!m[2]) return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id: item.id, size: item.size, sha256: item.sha256 }));
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': item.size });
    return void fs.createReadStream(item.file).pipe(res);
  }
  const events = /^\/v1\/uploads\/([^/]+)\/events$/.exec(url.pathname);
  if (events && req.method === 'GET') {
    const uid = events[1];
    if (!subOf(req)) return void res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"error":{"code":"unauthenticated","message":"no token"}}');
    if (!owners.has(uid)) return void res.writeHead(404).end();
    if (owners.get(uid) !== subOf(req)) return void res.writeHead(403, { 'Content-Type': 'application/json' }).end('{"error":{"code":"forbidden","message":"not yours"}}');
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
    res.write(': hello\n\n');
    if (!watchers.has(uid)) watchers.set(uid, new Set());
    watchers.get(uid).add(res);
    req.on('close', () => watchers.get(uid).delete(res));
    return;
  }
  if (req.method === 'PATCH' && url.pathname.startsWith('/v1/uploads/')) {
    const uid = url.pathname.split('/').pop();
    res.on('finish', () => {
      tus.datastore.getUpload(uid).then((u) => u.offset < u.size && publishProgress(u, 'uploading')).catch(() => {});
    });
  }
  if (req.method === 'HEAD' && url.pathname.startsWith('/v1/uploads/')) {
    const uid = url.pathname.split('/').pop();
    const done = mediaOfUpload(uid);
    return sendWeb(res, await tus.handleWeb(webRequest(req)), done ? { 'Onda-Media-Id': done.id } : {});
  }
  const checksum = req.headers['upload-checksum'];
  if (req.method === 'PATCH' && checksum) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const [algo, expected] = checksum.split(' ');
    if (!['sha1', 'sha256', 'md5'].includes(algo)) return void res.writeHead(400).end();
    if (createHash(algo).update(body).digest('base64') !== expected) return void res.writeHead(460, { 'Tus-Resumable': '1.0.0' }).end();
    return sendWeb(res, await tus.handleWeb(webRequest(req, body)));
  }
  return tus.handle(req, res);
}

const [host, port] = args.listen.split(':');
const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
server.listen(Number(port), host, async () => {
  const tmp = `${args['ready-file']}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify({ port: server.address().port }));
  await fsp.rename(tmp, args['ready-file']);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
