import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../support/env.js';

const block = (type: number, body: Buffer): Buffer => {
  const pad = Buffer.alloc((4 - (body.length % 4)) % 4);
  const len = 12 + body.length + pad.length;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(len, 4);
  Buffer.concat([body, pad]).copy(b, 8);
  b.writeUInt32LE(len, len - 4);
  return b;
};

/** An Ethernet/IPv4/TCP frame from 127.0.0.1:40000 to 127.0.0.1:80 (checksums left 0). */
function tcp(flags: number, seq: number, payload = ''): Buffer {
  const data = Buffer.from(payload);
  const ip = Buffer.alloc(20 + 20 + data.length);
  ip.writeUInt8(0x45, 0);
  ip.writeUInt16BE(ip.length, 2);
  ip.writeUInt8(64, 8);
  ip.writeUInt8(6, 9);
  ip.writeUInt32BE(0x7f000001, 12);
  ip.writeUInt32BE(0x7f000001, 16);
  ip.writeUInt16BE(40000, 20);
  ip.writeUInt16BE(80, 22);
  ip.writeUInt32BE(seq, 24);
  ip.writeUInt8(0x50, 32);
  ip.writeUInt8(flags, 33);
  ip.writeUInt16BE(65535, 34);
  data.copy(ip, 40);
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x0800, 12);
  return Buffer.concat([eth, ip]);
}

/** A pcapng capture (if_tsresol 10^-9) of one GET whose first byte is captured at `ns` nanoseconds. */
function capture(ns: bigint): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
  const parts = [block(0x0a0d0d0a, shb), block(1, idb)];
  const frames: [bigint, Buffer][] = [
    [ns - 1000n, tcp(0x02, 1000)],
    [ns, tcp(0x18, 1001, 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n')],
  ];
  for (const [t, f] of frames) {
    const epb = Buffer.alloc(20);
    epb.writeUInt32LE(Number(t >> 32n), 4);
    epb.writeUInt32LE(Number(t & 0xffffffffn), 8);
    epb.writeUInt32LE(f.length, 12);
    epb.writeUInt32LE(f.length, 16);
    parts.push(block(6, Buffer.concat([epb, f])));
  }
  return Buffer.concat(parts);
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
