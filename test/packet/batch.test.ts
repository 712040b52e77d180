/**
 * The batch scan (CaptureReader.forEachBatch, ChunkScanner.nextBatch) against the per-packet scan: the
 * same records (bytes, lengths, times, link types, interfaces, file offsets), the same anomaly counts and
 * the same errors after the same records — over pcap (both byte orders, micro- and nanoseconds), pcapng
 * with several interfaces and sections, snoop and gzip, at chunk sizes that cut records over two chunks
 * and leave records longer than a chunk, and batch capacities that fill up mid-chunk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openCapture } from '../../src/packet/capture-reader.js';
import { createCaptureWriter } from '../../src/packet/capture-writer.js';
import { giveBackBatch, RecordBatch, takeBatch } from '../../src/packet/record-batch.js';
import type { PacketRef } from '../../src/packet/packet.js';
import { fixture, prng, tempDir } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** What a scan saw: one line per record, the error it ended with, the oversized count. */
interface Seen {
  records: string[];
  error: string | undefined;
  oversized: number;
}

function line(
  at: number,
  tsSec: number,
  tsNsec: number,
  origLen: number,
  linktype: number,
  iface: number,
  data: Uint8Array,
) {
  return `${at} ${tsSec}.${tsNsec} ${origLen} lt${linktype} if${iface} ${hex(data)}`;
}

async function perPacket(file: string, chunkSize: number): Promise<Seen> {
  const r = await openCapture(file, { chunkSize });
  const records: string[] = [];
  let error: string | undefined;
  try {
    await r.forEachPacket((p: PacketRef) => {
      records.push(line(p.fileOffset, p.tsSec, p.tsNsec, p.origLen, p.linktype, p.interfaceId, p.data));
    });
  } catch (err) {
    error = (err as Error).message;
  }
  const oversized = r.oversizedRecords;
  await r.close();
  return { records, error, oversized };
}

/** The batch scan, checking each batch's own promises on the way (one buffer, the batch link type). */
async function perBatch(
  file: string,
  chunkSize: number,
  capacity: number,
  readAhead: boolean | 'sync',
  timestamps = true,
  wireLengths = true,
): Promise<Seen> {
  const r = await openCapture(file, { chunkSize });
  const scan = r.scan({ readAhead: readAhead !== false, syncReads: readAhead === 'sync' });
  // (the synchronous reads really taken where a file reads ahead: the thread pool's give the same records)
  assert.equal(typeof scan.syncFd, readAhead === 'sync' && scan.readAhead ? 'number' : 'undefined');
  const batch = new RecordBatch(capacity);
  batch.timestamps = timestamps;
  batch.wireLengths = wireLengths;
  const records: string[] = [];
  let error: string | undefined;
  try {
    while (await scan.nextBatch(batch)) {
      assert.ok(batch.count > 0 && batch.count <= capacity);
      const lts = new Set(batch.linktypes.subarray(0, batch.count));
      assert.equal(batch.linktype, lts.size === 1 ? [...lts][0] : -1);
      for (let i = 0; i < batch.count; i++) {
        const end = batch.offsets[i]! + batch.caplens[i]!;
        assert.ok(end <= batch.bytes.length, 'the record lies in the batch buffer');
        records.push(
          line(
            batch.fileOffset(i),
            timestamps ? batch.tsSec[i]! : -1,
            timestamps ? batch.tsNsec[i]! : -1,
            wireLengths ? batch.origLens[i]! : -1,
            batch.linktypes[i]!,
            batch.interfaceIds[i]!,
            batch.data(i),
          ),
        );
      }
    }
    assert.equal(await scan.nextBatch(batch), false, 'a finished scan stays finished');
  } catch (err) {
    error = (err as Error).message;
  }
  const oversized = r.oversizedRecords;
  await r.close();
  return { records, error, oversized };
}

/** A line of `line` with its time as a batch that reads no timestamps shows it. */
const noTime = (l: string): string => l.replace(/^(\S+) \S+ /, '$1 -1.-1 ');
/** ... and its wire length as one that reads no wire lengths either. */
const noWire = (l: string): string => noTime(l).replace(/^(\S+ \S+) \S+ /, '$1 -1 ');

/** Every batch scan of `file` (chunk sizes, capacities, with and without read-ahead) sees what the per-packet scan sees. */
async function sameAsPerPacket(file: string, chunks: number[], capacities = [1, 7, 4096]): Promise<Seen> {
  const ref = await perPacket(file, 1 << 20);
  for (const chunk of chunks) {
    assert.deepEqual(await perPacket(file, chunk), ref, `per packet, chunk ${chunk}`);
    for (const capacity of capacities)
      for (const readAhead of [true, 'sync', false] as const) {
        const got = await perBatch(file, chunk, capacity, readAhead);
        const what = `${file} chunk ${chunk} capacity ${capacity} readAhead ${readAhead}`;
        assert.equal(got.records.length, ref.records.length, what);
        assert.deepEqual(got, ref, what);
        // a consumer that reads no timestamps (the pcap parser's loop without them): the rest alike
        const lean = await perBatch(file, chunk, capacity, readAhead, false);
        assert.deepEqual(lean, { ...ref, records: ref.records.map(noTime) }, `${what}, no timestamps`);
        // nor wire lengths (runCapture without a filter): the rest alike
        const frames = await perBatch(file, chunk, capacity, readAhead, false, false);
        assert.deepEqual(
          frames,
          { ...ref, records: ref.records.map(noWire) },
          `${what}, no timestamps or wire lengths`,
        );
      }
  }
  return ref;
}

/** A pcap file by hand: `le` byte order, `nsec` magic, records [caplen bytes, origLen] (caplen may lie). */
function pcapBytes(opts: { le: boolean; nsec: boolean; snaplen: number; linktype: number }, records: Uint8Array[]) {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(24);
  const u32 = (b: Buffer, v: number, at: number) => (opts.le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  u32(head, opts.nsec ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  if (opts.le) head.writeUInt16LE(2, 4);
  else head.writeUInt16BE(2, 4);
  if (opts.le) head.writeUInt16LE(4, 6);
  else head.writeUInt16BE(4, 6);
  u32(head, opts.snaplen, 16);
  u32(head, opts.linktype, 20);
  parts.push(head);
  records.forEach((data, i) => {
    const h = Buffer.alloc(16);
    u32(h, 1_700_000_000 + i, 0);
    u32(h, opts.nsec ? 999_999_999 - i : 999_999 - i, 4);
    u32(h, data.length, 8);
    u32(h, data.length + 4, 12);
    parts.push(h, Buffer.from(data));
  });
  return Buffer.concat(parts);
}

/** `n` frames of random sizes (a few longer than a 4 KiB chunk and than the 64 KiB read-ahead room). */
function frames(seed: number, n: number, long = true): Uint8Array[] {
  const rand = prng(seed);
  return Array.from({ length: n }, (_, i) => {
    const len = long && i % 23 === 5 ? 70_000 + Math.floor(rand() * 9000) : 14 + Math.floor(rand() * 1500);
    const f = new Uint8Array(len);
    for (let k = 0; k < len; k++) f[k] = (rand() * 256) | 0;
    f[0] = i & 0xff;
    return f;
  });
}

test('pcap fixtures: the batch scan gives every record the per-packet scan gives', async () => {
  for (const name of ['lo-http.pcap', 'lo-http-nsec.pcap', 'any-sll2.pcap']) {
    const ref = await sameAsPerPacket(fixture(name), [64, 1000, 4096, 1 << 16]);
    assert.ok(ref.records.length > 50 && ref.error === undefined, name);
  }
});

test('pcap by hand, both byte orders and time units: records split over chunks, records longer than a chunk and its room', async (t) => {
  const dir = tempDir(t);
  const recs = frames(3, 120);
  for (const le of [true, false])
    for (const nsec of [false, true]) {
      const file = join(dir, `h-${le}-${nsec}.pcap`);
      writeFileSync(file, pcapBytes({ le, nsec, snaplen: 262_144, linktype: 1 }, recs));
      const ref = await sameAsPerPacket(file, [4096, 1 << 16], [1, 7, 4096]);
      assert.equal(ref.records.length, recs.length);
    }
});

test('caplen past the snaplen: read and counted alike; a corrupt record mid-chunk comes after every whole record before it, with the same message', async (t) => {
  const dir = tempDir(t);
  const recs = frames(5, 60, false);
  // snaplen 200: the records longer than it are an anomaly, read all the same
  const over = join(dir, 'over.pcap');
  writeFileSync(over, pcapBytes({ le: true, nsec: false, snaplen: 200, linktype: 1 }, recs));
  const ref = await sameAsPerPacket(over, [4096, 1 << 20]);
  assert.equal(ref.oversized, recs.filter((r) => r.length > 200).length);
  assert.ok(ref.oversized > 10);

  // record 41's captured length says 0x7ffffff0 bytes: a corrupt header in the middle of the first chunk
  const bytes = pcapBytes({ le: true, nsec: false, snaplen: 65_535, linktype: 1 }, recs);
  let at = 24;
  for (let i = 0; i < 40; i++) at += 16 + recs[i]!.length;
  bytes.writeUInt32LE(0x7ffffff0, at + 8);
  const bad = join(dir, 'bad.pcap');
  writeFileSync(bad, bytes);
  const seen = await sameAsPerPacket(bad, [4096, 1 << 20], [1, 7, 40, 41, 4096]);
  assert.equal(seen.records.length, 40);
  assert.match(seen.error!, new RegExp(`bad\\.pcap@${at}: pcap record: captured length 2147483632 is past any real`));
  // forEachBatch: the last call holds the records before the fault, then the fault
  const r = await openCapture(bad);
  const counts: number[] = [];
  await assert.rejects(
    r.forEachBatch((b) => void counts.push(b.count), new RecordBatch(16)),
    /past any real record/,
  );
  await r.close();
  assert.deepEqual(counts, [16, 16, 8]);

  // cut inside a record: the same truncation error after the same records
  const cut = join(dir, 'cut.pcap');
  writeFileSync(cut, bytes.subarray(0, at - 7));
  const c = await sameAsPerPacket(cut, [64, 4096, 1 << 20]);
  assert.equal(c.records.length, 39);
  assert.match(c.error!, /truncated capture/);
});

test('pcapng with several interfaces, link types and sections, and its gzip: the same records, per-record link types', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'multi.pcapng');
  const w = createCaptureWriter(file, { format: 'pcapng', noDefaultInterface: true });
  const eth = w.addInterface({ linktype: 1, name: 'eth0' });
  const sll = w.addInterface({ linktype: 276, name: 'any' });
  const eth2 = w.addInterface({ linktype: 1, name: 'eth1' });
  const recs = frames(9, 150);
  recs.forEach((data, i) => {
    const iface = i < 40 ? eth : [eth, sll, eth2][i % 3]!;
    w.write({ tsSec: 1_600_000_000 + i, tsNsec: i * 1000, data, interfaceId: iface });
  });
  w.close();
  // eth1's snaplen made 100 after the fact: its longer records are an anomaly, read all the same
  const raw = readFileSync(file);
  for (let at = 0, idbs = 0; at < raw.length; at += raw.readUInt32LE(at + 4))
    if (raw.readUInt32LE(at) === 1 && ++idbs === 3) raw.writeUInt32LE(100, at + 12);
  writeFileSync(file, raw);
  // a second section after the first (another SHB resets the interfaces), as `cat a.pcapng b.pcapng` makes
  const two = join(dir, 'two.pcapng');
  writeFileSync(two, Buffer.concat([readFileSync(file), readFileSync(file)]));
  for (const f of [file, two]) {
    const ref = await sameAsPerPacket(f, [4096, 1 << 16]);
    assert.equal(ref.records.length, f === two ? 300 : 150);
    assert.ok(ref.oversized > 0, 'eth1 records past its snaplen are counted');
  }
  const gz = join(dir, 'multi.pcapng.gz');
  writeFileSync(gz, gzipSync(readFileSync(file)));
  assert.deepEqual((await sameAsPerPacket(gz, [4096])).records, (await perPacket(file, 4096)).records);

  // a block whose trailing length is wrong, after 60 good ones
  const bytes = readFileSync(file);
  let at = 0;
  let packets = 0;
  while (packets < 61) {
    const type = bytes.readUInt32LE(at);
    if (type === 6) packets++;
    if (packets === 61) break;
    at += bytes.readUInt32LE(at + 4);
  }
  const len = bytes.readUInt32LE(at + 4);
  bytes.writeUInt32LE(len + 4, at + len - 4);
  const bad = join(dir, 'bad.pcapng');
  writeFileSync(bad, bytes);
  const seen = await sameAsPerPacket(bad, [4096, 1 << 20]);
  assert.equal(seen.records.length, 60);
  assert.match(seen.error!, new RegExp(`bad\\.pcapng@${at}: .*trailing length`));
});

test('snoop: the batch scan takes the per-packet parser through its callback and gives the same records', async (t) => {
  const dir = tempDir(t);
  const recs = frames(13, 80, false);
  const parts: Buffer[] = [];
  const head = Buffer.alloc(16);
  head.write('snoop', 0, 'latin1');
  head.writeUInt32BE(2, 8);
  head.writeUInt32BE(4, 12); // Ethernet
  parts.push(head);
  recs.forEach((data, i) => {
    const recLen = 24 + ((data.length + 3) & ~3);
    const rec = Buffer.alloc(recLen);
    rec.writeUInt32BE(data.length, 0);
    rec.writeUInt32BE(data.length, 4);
    rec.writeUInt32BE(recLen, 8);
    rec.writeUInt32BE(1_500_000_000 + i, 16);
    rec.writeUInt32BE(i, 20);
    rec.set(data, 24);
    parts.push(rec);
  });
  const file = join(dir, 'x.snoop');
  writeFileSync(file, Buffer.concat(parts));
  const ref = await sameAsPerPacket(file, [64, 4096, 1 << 16]);
  assert.equal(ref.records.length, recs.length);
});

test('a batch that reads no timestamps: the pcap parser leaves them unwritten; a batch given back reads them again', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'lean.pcap');
  writeFileSync(file, pcapBytes({ le: true, nsec: false, snaplen: 65_535, linktype: 1 }, frames(9, 50, false)));
  const r = await openCapture(file);
  const scan = r.scan();
  const batch = new RecordBatch(64);
  batch.timestamps = false;
  batch.tsSec.fill(-7);
  batch.tsNsec.fill(-7);
  assert.equal(await scan.nextBatch(batch), true);
  assert.equal(batch.count, 50);
  assert.ok(batch.tsSec.every((v) => v === -7) && batch.tsNsec.every((v) => v === -7), 'not written');
  await r.close();
  const kept = takeBatch();
  kept.timestamps = false;
  giveBackBatch(kept);
  const again = takeBatch();
  assert.equal(again, kept);
  assert.equal(again.timestamps, true);
});

test("a read-ahead scan takes its buffers from the reader's chunk pool and gives each back once", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'pool.pcap');
  const recs = frames(11, 200, false);
  writeFileSync(file, pcapBytes({ le: true, nsec: false, snaplen: 65_535, linktype: 1 }, recs));
  const taken: Uint8Array[] = [];
  const back: Uint8Array[] = [];
  const chunks = {
    take: (size: number) => {
      const b = new Uint8Array(size);
      taken.push(b);
      return b;
    },
    giveBack: (b: Uint8Array) => void back.push(b),
  };
  const r = await openCapture(file, { chunkSize: 4096, chunks });
  const scan = r.scan({ readAhead: true });
  const batch = new RecordBatch(64);
  let n = 0;
  while (await scan.nextBatch(batch)) {
    assert.ok(taken.includes(batch.bytes), 'records in a pool buffer');
    n += batch.count;
  }
  await r.close();
  assert.equal(n, recs.length);
  assert.equal(taken.length, 2);
  assert.deepEqual(new Set(back), new Set(taken));
  assert.equal(back.length, 2);
});

test('forEachBatch: counts the records, stops when the callback returns false, and a reader scans again', async () => {
  const r = await openCapture(fixture('lo-http.pcap'));
  const total = await r.forEachPacket(() => {});
  assert.equal(await r.forEachBatch(() => {}), total);
  let calls = 0;
  assert.equal(await r.forEachBatch(() => ++calls < 2, new RecordBatch(10)), 20);
  assert.equal(calls, 2);
  const b = new RecordBatch(total + 5);
  await r.forEachBatch((batch) => {
    const p = batch.ref(3);
    assert.equal(hex(p.data), hex(batch.data(3)));
    assert.equal(p.fileOffset, batch.fileOffset(3));
  }, b);
  await r.close();
  assert.throws(() => new RecordBatch(0), RangeError);
});
