/**
 * Compressed captures: gzip streamed through node:zlib (the same packets as the plain file), a truncated
 * stream (every packet before the cut, then one InputError naming the stream), a decompression bomb
 * (bounded memory) and zstd (refused in one line where Node has no decompressor).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { openCapture } from '../../src/packet/capture-reader.js';
import { captureInfo } from '../../src/packet/capture-info.js';
import { InputError, UsageError } from '../../src/util/errors.js';
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

test('zstd: read where Node has a decompressor, else refused in one line', async (t) => {
  const dir = tempDir(t);
  const f = join(dir, 'x.pcap.zst');
  const z = zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer };
  if (z.zstdCompressSync) {
    writeFileSync(f, z.zstdCompressSync(readFileSync(fixture('lo-http.pcap'))));
    assert.equal((await readAll(f)).length, (await readAll(fixture('lo-http.pcap'))).length);
    return;
  }
  writeFileSync(f, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
  await assert.rejects(openCapture(f), (e: unknown) => e instanceof UsageError && /zstd -d first/.test(e.message));
});
