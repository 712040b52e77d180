/**
 * `bpfkit urls -i IFACE` reads Ethernet frames (and compiles a --filter expression for Ethernet): on an
 * interface of another link type (a tun device, ARPHRD_NONE) it refuses in one line, exit 2, instead of
 * misreading every frame. The tun device lives in a network namespace the test creates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { needs } from '../support/env.js';
import { cliArgv } from './support.js';

test('urls -i on a tun device (not Ethernet): one line naming the link type, exit 2', (t) => {
  if (!needs(t, { root: true, tools: ['ip'] })) return;
  const ns = `bpfkit-urls-tun-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'tuntap', 'add', 'dev', 'bktun0', 'mode', 'tun']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'bktun0', 'up']);
    for (const extra of [[], ['--filter', 'tcp port 80']]) {
      const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...cliArgv('urls', '-i', 'bktun0', ...extra)], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /bktun0: link type ARPHRD 65534 is not Ethernet or loopback/);
    }
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
});
