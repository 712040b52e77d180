import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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

test('bpfkit version and --version both print the version in package.json', () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  for (const arg of ['version', '--version', '-V']) {
    const r = bpfkit(arg);
    assert.equal(r.status, 0, arg);
    assert.equal(r.stdout, `bpfkit ${version}\n`, arg);
  }
});
