import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';

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

test('a reader that closes the pipe early ends the command with status 0 and no stack trace', async (t) => {
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    t.skip('no kernel BTF to dump (/sys/kernel/btf/vmlinux)');
    return;
  }
  // Megabytes of output into a pipe whose reader leaves after the first chunk, as `| head` does.
  const child = spawn(process.execPath, ['bin/bpfkit.js', 'btf', 'dump', '--format', 'c'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '');
});
