/**
 * `bpfkit prog load` leaves nothing behind when the load fails (no pins, no empty directories: neither
 * DIR nor the map pin directory), and pins maps that ask for it under $BPFKIT_PIN_PATH, as docs/kernel.md
 * says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { needs, repoPath } from '../support/env.js';
import { cliScript } from '../support/cli-script.js';

const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const obj = repoPath('test', 'programs', 'fixtures', 'pinned-fails.o');

function bpfkit(env: Record<string, string>, ...args: string[]): { code: number; err: string } {
  const r = spawnSync(process.execPath, ['-e', cliScript(mainJs), '--', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: r.status ?? -1, err: r.stderr };
}

test('prog load: a failed load leaves no pins and no empty directories; BPFKIT_PIN_PATH places pinned maps', (t) => {
  if (!needs(t, { root: true })) return;
  const pins = `/sys/fs/bpf/bpfkit-test-${process.pid}-pins`;
  const dir = `/sys/fs/bpf/bpfkit-test-${process.pid}-obj`;
  try {
    const failed = bpfkit({ BPFKIT_PIN_PATH: pins }, 'prog', 'load', obj, dir);
    assert.notEqual(failed.code, 0);
    assert.match(failed.err, /bad/);
    assert.equal(existsSync(pins), false, 'the map pin directory it made is gone');
    assert.equal(existsSync(dir), false, 'DIR was never left behind');

    const ok = bpfkit({ BPFKIT_PIN_PATH: pins }, 'prog', 'load', obj, dir, '--program', 'good');
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual(readdirSync(pins), ['kept'], 'the pinned map lives under $BPFKIT_PIN_PATH');
    assert.deepEqual(readdirSync(dir).sort(), ['good', 'kept']);
  } finally {
    rmSync(pins, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
