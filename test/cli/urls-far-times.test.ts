import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../support/env.js';
import { pcapngFile } from '../support/pcapng-file.js';
import { ACK, PSH, SYN, tcpFrame } from '../support/tcp-frames.js';

/** A pcapng capture (if_tsresol 10^-9) of one GET from 127.0.0.1:40000 whose first byte is captured at `ns` nanoseconds. */
function capture(ns: bigint): Buffer {
  const ends = { src: '127.0.0.1', dst: '127.0.0.1' };
  return pcapngFile({ tsresol: 9 }, [
    [ns - 1000n, tcpFrame({ ...ends, seq: 1000, flags: SYN })],
    [ns, tcpFrame({ ...ends, seq: 1001, flags: PSH | ACK, payload: 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n' })],
  ]);
}

test('urls --format json: a time JSON ts cannot hold to the microsecond is said once on stderr; a near one is exact', () => {
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-urls-far-${process.pid}-`));
  try {
    const run = (ns: bigint) => {
      const file = join(dir, `${ns}.pcapng`);
      writeFileSync(file, capture(ns));
      return spawnSync(process.execPath, [repoPath('bin/bpfkit.js'), 'urls', file, '--format', 'json', '-q'], {
        encoding: 'utf8',
      });
    };
    const now = run(1_765_000_000_123_456_000n);
    assert.equal(now.status, 0, now.stderr);
    assert.equal(now.stderr, '');
    assert.equal((JSON.parse(now.stdout) as { ts: number }).ts, 1765000000.123456);
    const far = run(0xffff_ffff_ffff_0000n); // 2554-07-21: a double's step there is 4 µs
    assert.equal(far.status, 0, far.stderr);
    assert.equal(JSON.parse(far.stdout).uri, '/x');
    assert.match(far.stderr, /^bpfkit urls: note: capture times from 2\^32 s \(year 2106\) on: JSON ts .*\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
