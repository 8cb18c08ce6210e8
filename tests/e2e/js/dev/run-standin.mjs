#!/usr/bin/env node
// DEVELOPMENT ONLY: runs the tus tests against dev/onda-standin.mjs (@tus/server + @tus/file-store)
// instead of onda; tests of onda-only behaviour are skipped. Needs the devDependencies (`npm ci`).
//   cd tests/e2e/js && npm run test:standin [-- --test-name-pattern=...]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const r = spawnSync(process.execPath, ['--test', ...process.argv.slice(2), 'tus.test.mjs'], {
  cwd: path.resolve(here, '..'),
  stdio: 'inherit',
  env: { ...process.env, ONDA_BIN: path.join(here, 'onda-standin.mjs'), ONDA_STANDIN: '1' },
});
process.exit(r.status ?? 1);
