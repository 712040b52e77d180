import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

function bpfkit(...args: string[]) {
  return spawnSync(process.execPath, ['bin/bpfkit.js', ...args], { encoding: 'utf8' });
}

test('bpfkit with no command prints usage and exits 2', () => {
  const r = bpfkit();
  assert.equal(r.status, 2);
  assert.match(r.stdout, /usage: bpfkit <command>/);
});

test('an unknown command is a usage error with no stack trace', () => {
  const r = bpfkit('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
});
