// Transcode ladders played by hls.js in Debian's chromium (driven by playwright-core): an upload
// becomes a ladder in the `onda worker` the server supervises, and the master playlist — private,
// reached through one presigned link — plays, and so does each of its levels when forced.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { makeTempDir, sleep, startOnda } from './support/onda.mjs';

const require = createRequire(import.meta.url);
const HLS_JS = require.resolve('hls.js/dist/hls.min.js');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

async function upload(onda, token, file, type) {
  const res = await fetch(onda.url(`/v1/media?filename=${path.basename(file)}&visibility=private`), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
    body: fs.readFileSync(file),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json();
}

async function waitForLadder(onda, token, id, deadlineMs = 150_000) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const media = await (await fetch(onda.url(`/v1/media/${id}`), { headers: { authorization: `Bearer ${token}` } })).json();
    if (media.transcode.state === 'done') return media;
    assert.notEqual(media.transcode.state, 'failed', `transcode failed: ${media.transcode.error}`);
    assert.ok(Date.now() < until, `transcode still ${media.transcode.state} after ${deadlineMs} ms`);
    await sleep(250);
  }
}

// Opens a page on onda's own origin (so hls.js fetches are same-origin) with hls.js loaded.
async function hlsPage(t, onda) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(onda.url('/healthz'));
  await page.addScriptTag({ path: HLS_JS });
  return page;
}

// In the page: plays `url` with hls.js (level -1: automatic), resolves once currentTime passes
// `seconds` and reports the levels the master listed and the level that played.
function play(page, url, level, seconds) {
  return page.evaluate(
    ([url, level, seconds]) =>
      new Promise((resolve, reject) => {
        if (!window.Hls.isSupported()) return reject(new Error('hls.js: MediaSource is not supported here'));
        const video = document.createElement('video');
        video.muted = true;
        document.body.appendChild(video);
        const hls = new window.Hls({ startLevel: level >= 0 ? level : -1 });
        const fragLevels = new Set();
        const timer = setTimeout(() => reject(new Error(`currentTime stuck at ${video.currentTime}`)), 60_000);
        hls.on(window.Hls.Events.ERROR, (_, data) => {
          if (data.fatal) reject(new Error(`hls.js fatal error: ${data.type} ${data.details}`));
        });
        hls.on(window.Hls.Events.MANIFEST_PARSED, (_, data) => {
          if (level >= 0) hls.currentLevel = level;
          video.play().catch(reject);
        });
        hls.on(window.Hls.Events.FRAG_BUFFERED, (_, data) => fragLevels.add(data.frag.level));
        video.addEventListener('timeupdate', () => {
          if (video.currentTime <= seconds) return;
          clearTimeout(timer);
          resolve({
            levels: hls.levels.map((l) => ({ height: l.height, bitrate: l.bitrate, codecs: `${l.videoCodec ?? ''}/${l.audioCodec ?? ''}` })),
            fragLevels: [...fragLevels],
            currentTime: video.currentTime,
          });
          hls.destroy();
        });
        hls.loadSource(url);
        hls.attachMedia(video);
      }),
    [url, level, seconds],
  );
}

async function signedMasterUrl(onda, token, id) {
  const res = await fetch(onda.url(`/v1/media/${id}/presigned-url?rendition=hls&expires_in=600`), {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200, await res.clone().text());
  const url = new URL((await res.json()).url);
  return onda.url(url.pathname + url.search);
}

test('a video ladder plays in hls.js from one presigned link, automatically and at each level', { timeout: 300_000 }, async (t) => {
  const dir = await makeTempDir(t);
  const clip = path.join(dir, 'clip.mp4');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=1280x720:rate=25:duration=20',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=20', '-c:v', 'libx264', '-preset', 'ultrafast',
    '-c:a', 'aac', '-shortest', clip]);
  const onda = await startOnda(t);
  const token = await onda.token('alice', 'creator');
  const created = await upload(onda, token, clip, 'video/mp4');
  const media = await waitForLadder(onda, token, created.id);
  assert.deepEqual(media.renditions.map((r) => r.name), ['720p', '480p', '360p']);
  assert.equal(media.urls.hls, `/v1/media/${created.id}/hls/master.m3u8`);
  assert.equal(media.urls.thumbnail, `/v1/media/${created.id}/thumbnail.jpg`);

  // Without the link the private ladder is closed; with it, every file it lists opens.
  assert.equal((await fetch(onda.url(media.urls.hls))).status, 401);
  const master = await signedMasterUrl(onda, token, created.id);
  const text = await (await fetch(master)).text();
  assert.match(text, /#EXT-X-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2",RESOLUTION=1280x720,FRAME-RATE=25\.000/);
  assert.match(text, /720p\/index\.m3u8\?exp=\d+&sig=/);

  const page = await hlsPage(t, onda);
  const auto = await play(page, master, -1, 3);
  // hls.js orders levels by bit rate, lowest first.
  assert.deepEqual(auto.levels.map((l) => l.height), [360, 480, 720]);
  for (const level of [0, 1, 2]) {
    const forced = await play(page, master, level, 3);
    assert.deepEqual(forced.fragLevels, [level], `level ${level} played fragments of levels ${forced.fragLevels}`);
  }
});

test('a speech WAV from espeak-ng becomes an audio ladder that plays in hls.js', { timeout: 300_000 }, async (t) => {
  const dir = await makeTempDir(t);
  const wav = path.join(dir, 'speech.wav');
  execFileSync('espeak-ng', ['-w', wav, 'Welcome to onda. This sentence is long enough to fill more than one segment of four seconds, so the player must fetch several.']);
  const onda = await startOnda(t);
  const token = await onda.token('bob', 'creator');
  const created = await upload(onda, token, wav, 'audio/wav');
  const media = await waitForLadder(onda, token, created.id);
  assert.ok(media.renditions.some((r) => r.name === 'aac-64' && r.container === 'hls'));
  assert.ok(media.renditions.some((r) => r.name === 'mp3-128' && r.container === 'mp3'));
  const waveform = await (await fetch(onda.url(media.urls.waveform), { headers: { authorization: `Bearer ${token}` } })).json();
  assert.ok(Math.abs(waveform.duration - media.duration) < 0.1, `waveform ${waveform.duration} s, media ${media.duration} s`);

  const page = await hlsPage(t, onda);
  const played = await play(page, await signedMasterUrl(onda, token, created.id), -1, 3);
  assert.equal(played.levels.length, 1);
  assert.ok(played.currentTime > 3);
});
