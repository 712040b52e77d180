/**
 * Compressed captures: gzip streamed through node:zlib (the same packets as the plain file), a truncated
 * stream (every packet before the cut, then one InputError naming the stream), a decompression bomb
 * (bounded memory); zstd the same way through fzstd, checked against the zstd tool's own files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import { openCapture } from '../../src/packet/capture-reader.js';
import { captureInfo } from '../../src/packet/capture-info.js';
import { InputError } from '../../src/util/errors.js';
import { Conversation } from '../support/tcp-frames.js';
import { needs } from '../support/env.js';
import { writePcapFrames } from '../http/corpus/pcap-out.js';
import { cli } from '../http/support.js';
import { fixture, frameLine, readAll, tempDir } from './helpers.js';

test('a gzip-compressed pcap and pcapng read packet for packet like the plain file', async (t) => {
  const dir = tempDir(t);
  for (const name of ['lo-http.pcap', 'any-sll2.pcap']) {
    const plain = fixture(name);
    const gz = join(dir, `${name}.gz`);
    writeFileSync(gz, gzipSync(readFileSync(plain)));
    const a = (await readAll(plain)).map(frameLine);
    const b = (await readAll(gz, 4096)).map(frameLine);
    assert.deepEqual(b, a, name);
    const { info } = await captureInfo(gz);
    assert.equal(info.packets, a.length);
  }
});

test('a truncated gzip stream: every packet before the cut, then one InputError naming it', async (t) => {
  const dir = tempDir(t);
  const whole = gzipSync(readFileSync(fixture('lo-http.pcap')));
  const cut = join(dir, 'cut.pcap.gz');
  writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
  const reader = await openCapture(cut);
  t.after(() => reader.close());
  let n = 0;
  await assert.rejects(
    reader.forEachPacket(() => {
      n++;
    }),
    (e: unknown) => e instanceof InputError && /cut\.pcap\.gz@\d+: gzip stream damaged or cut short/.test(e.message),
  );
  assert.ok(n > 5, `${n} packets before the cut`);
});

test(
  'a decompression bomb (512 MB of records from a small file) reads in bounded memory',
  { timeout: 120_000 },
  async (t) => {
    const dir = tempDir(t);
    const bomb = join(dir, 'bomb.pcap.gz');
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(65535, 16);
    header.writeUInt32LE(1, 20);
    const zeros = Buffer.alloc(1 << 20); // 16-byte records of length 0, 65536 per MiB
    async function* body() {
      yield header;
      for (let i = 0; i < 512; i++) yield zeros;
    }
    await pipeline(Readable.from(body()), createGzip(), createWriteStream(bomb));
    const before = process.memoryUsage().rss;
    let peak = before;
    let n = 0;
    const reader = await openCapture(bomb);
    t.after(() => reader.close());
    await reader.forEachPacket(() => {
      if ((++n & 0xfffff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
    });
    assert.equal(n, 512 * 65536);
    assert.ok(peak - before < 200 * 1024 * 1024, `rss grew ${((peak - before) / 1048576).toFixed(0)} MB`);
  },
);

/** A capture of `n` keep-alive requests with varied paths: several zstd blocks (128 KiB each) compressed. */
function manyRequests(file: string, n: number): void {
  const c = new Conversation('10.2.0.1', '10.2.0.2', 40123, 80, 1).handshake();
  for (let i = 0; i < n; i++) {
    c.clientSays(`GET /many/${i}/${(i * 7919).toString(36)} HTTP/1.1\r\nHost: z\r\n\r\n`);
    c.serverSays(`HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n${(i * 31337).toString(16).padStart(8, '0')}`);
  }
  c.close();
  writePcapFrames(
    file,
    1,
    c.frames.map((data, i) => ({ tsSec: 1_700_000_000 + (i >> 10), tsUsec: i & 1023, data })),
  );
}

function zstd(args: string[], input?: Buffer): Buffer {
  const r = spawnSync('zstd', ['-q', '-c', ...args], { input, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr?.toString());
  return r.stdout;
}

/** `pcap info` without its file-name line, and the `urls` lines, as the CLI prints them. */
function views(file: string): { info: string; urls: string } {
  const info = cli('pcap', 'info', file);
  assert.equal(info.status, 0, info.stderr);
  const urls = cli('urls', file);
  assert.equal(urls.status, 0, urls.stderr);
  return { info: info.stdout.replace(/^File name:.*\n/m, ''), urls: urls.stdout };
}

test('zstd: .zst files of the captures (levels, long window, several frames, skippable frames, no .zst name) read like the plain file', (t) => {
  if (!needs(t, { tools: ['zstd'] })) return;
  const dir = tempDir(t);
  const big = join(dir, 'many.pcap');
  manyRequests(big, 3000);
  for (const plain of [fixture('lo-http.pcap'), fixture('any-sll2.pcap'), fixture('lo-http-nsec.pcap'), big]) {
    const bytes = readFileSync(plain);
    const want = views(plain);
    const third = Math.floor(bytes.length / 3);
    const skippable = Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 5, 0, 0, 0, 1, 2, 3, 4, 5]);
    const variants: Record<string, Buffer> = {
      'default.pcap.zst': zstd([plain]),
      '19.pcap.zst': zstd(['-19', plain]),
      'long.pcap.zst': zstd(['--long=27'], bytes),
      'no-checksum.pcap.zst': zstd(['--no-check', '-1'], bytes),
      'frames.pcap.zst': Buffer.concat([
        skippable,
        zstd([], bytes.subarray(0, third)),
        zstd(['-3'], bytes.subarray(third, 2 * third)),
        skippable,
        zstd(['--no-check'], bytes.subarray(2 * third)),
      ]),
      'by-content.pcap': zstd(['-5'], bytes),
    };
    for (const [name, z] of Object.entries(variants)) {
      const f = join(dir, name);
      writeFileSync(f, z);
      const got = views(f);
      assert.equal(got.info, want.info, `${plain} as ${name}: pcap info`);
      assert.equal(got.urls, want.urls, `${plain} as ${name}: urls`);
    }
    if (plain === big) assert.equal(want.urls.split('\n').filter((l) => l.startsWith('GET /many/')).length, 3000);
  }
});

test('a truncated or damaged .zst: every request before the fault, then one line with the compressed offset', (t) => {
  if (!needs(t, { tools: ['zstd'] })) return;
  const dir = tempDir(t);
  const big = join(dir, 'many.pcap');
  manyRequests(big, 3000);
  const all = views(big).urls.split('\n').filter(Boolean);
  const z = zstd(['-1', '--no-check'], readFileSync(big));
  const cases: Record<string, Buffer> = {
    'cut.pcap.zst': z.subarray(0, Math.floor(z.length * 0.6)),
    'garbled.pcap.zst': Buffer.concat([z.subarray(0, Math.floor(z.length * 0.6)), Buffer.alloc(4096, 0xff)]),
  };
  for (const [name, bytes] of Object.entries(cases)) {
    const f = join(dir, name);
    writeFileSync(f, bytes);
    const r = cli('urls', f);
    assert.equal(r.status, 2, `${name}: ${r.stderr}`);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('bpfkit'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`${name}@(\\d+): zstd stream (cut short|damaged) at compressed offset \\1`));
    const got = r.stdout.split('\n').filter(Boolean);
    assert.ok(got.length > 1000 && got.length < all.length, `${name}: ${got.length} of ${all.length} before the fault`);
    assert.deepEqual(got, all.slice(0, got.length), `${name}: the requests before the fault, in order`);
  }
});

test(
  'a zstd bomb (512 MiB of records from a tiny file) reads in bounded memory; a 1 GiB window is refused',
  { timeout: 120_000 },
  async (t) => {
    if (!needs(t, { tools: ['zstd'] })) return;
    const dir = tempDir(t);
    const bomb = join(dir, 'bomb.pcap.zst');
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(65535, 16);
    header.writeUInt32LE(1, 20);
    const z = spawnSync('sh', ['-c', `{ cat; head -c ${512 << 20} /dev/zero; } | zstd -q -19 -c > ${bomb}`], {
      input: header,
    });
    assert.equal(z.status, 0, z.stderr?.toString());
    const size = statSync(bomb).size;
    assert.ok(size < 64 * 1024, `${size} bytes compressed`);
    const before = process.memoryUsage().rss;
    let peak = before;
    let n = 0;
    const reader = await openCapture(bomb);
    t.after(() => reader.close());
    await reader.forEachPacket(() => {
      if ((++n & 0xfffff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
    });
    assert.equal(n, 512 * 65536);
    assert.ok(peak - before < 200 * 1024 * 1024, `rss grew ${((peak - before) / 1048576).toFixed(0)} MB`);

    const wide = join(dir, 'wide.pcap.zst');
    writeFileSync(wide, zstd(['--long=30'], readFileSync(fixture('lo-http.pcap'))));
    const r = cli('pcap', 'info', wide);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /wide\.pcap\.zst@0: zstd stream damaged at compressed offset 0: frame window of 1024 MiB exceeds the 128 MiB limit/,
    );
  },
);
