import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCaptureWriter, type WriterOptions } from '../../src/packet/capture-writer.js';
import { openCapture } from '../../src/packet/capture-reader.js';
import { needs } from '../support/env.js';
import { fixture, frameLine, readAll, tempDir, tsharkFrames } from './helpers.js';

const variants: [string, WriterOptions][] = [
  ['us-le.pcap', { format: 'pcap' }],
  ['ns-le.pcap', { format: 'pcap', nanosecond: true }],
  ['us-be.pcap', { format: 'pcap', littleEndian: false }],
  ['ns-be.pcap', { format: 'pcap', nanosecond: true, littleEndian: false }],
  ['us-le.pcapng', { format: 'pcapng' }],
  ['ns-le.pcapng', { format: 'pcapng', nanosecond: true, ifname: 'lo' }],
  ['ns-be.pcapng', { format: 'pcapng', nanosecond: true, littleEndian: false }],
];

/** Write every packet of `src` with the options; returns the new file. */
async function rewrite(src: string, dir: string, name: string, opts: WriterOptions): Promise<string> {
  const r = await openCapture(src);
  const out = join(dir, name);
  let w: ReturnType<typeof createCaptureWriter> | undefined;
  await r.forEachPacket((p) => {
    w ??= createCaptureWriter(out, { ...opts, linktype: p.linktype });
    w.writeBytes(p.bytes, p.offset, p.caplen, p.tsSec, p.tsNsec, p.origLen);
  });
  w!.close();
  await r.close();
  return out;
}

test('what bpfkit writes (pcap/pcapng, µs/ns, both byte orders) reads back identically', async (t) => {
  const dir = tempDir(t);
  const src = fixture('lo-http-nsec.pcap');
  const orig = await readAll(src);
  for (const [name, opts] of variants) {
    const f = await rewrite(src, dir, name, opts);
    const back = await readAll(f);
    assert.equal(back.length, orig.length, name);
    for (let i = 0; i < orig.length; i++) {
      const o = orig[i]!;
      const b = back[i]!;
      assert.deepEqual(b.data, o.data, `${name} #${i} bytes`);
      assert.equal(b.origLen, o.origLen);
      assert.equal(b.tsSec, o.tsSec);
      assert.equal(b.tsNsec, opts.nanosecond ? o.tsNsec : Math.floor(o.tsNsec / 1000) * 1000, `${name} #${i} ts`);
    }
  }
});

test('tshark reads what bpfkit writes with the same count, timestamps and lengths', async (t) => {
  if (!needs(t, { tools: ['tshark'] })) return;
  const dir = tempDir(t);
  // every variant from the Ethernet capture; from the SLL2 one, one pcap and one big-endian pcapng (tshark is slow to start)
  const cases: Array<[string, Array<[string, WriterOptions]>]> = [
    [fixture('lo-http-nsec.pcap'), variants],
    [fixture('any-sll2.pcap'), variants.filter(([n]) => n === 'us-le.pcap' || n === 'ns-be.pcapng')],
  ];
  for (const [src, list] of cases) {
    for (const [name, opts] of list) {
      const f = await rewrite(src, dir, name, opts);
      const mine = (await readAll(f)).map(frameLine);
      assert.deepEqual(tsharkFrames(f), mine, `${src} → ${name}`);
      if (opts.nanosecond) assert.deepEqual(mine, tsharkFrames(src), `${name}: ns timestamps kept`);
    }
  }
});

test('tcpdump reads what bpfkit writes: same packets after tcpdump -r F -w G, same -tt times', async (t) => {
  if (!needs(t, { tools: ['tcpdump'] })) return;
  const dir = tempDir(t);
  const src = fixture('lo-http.pcap');
  const orig = await readAll(src);
  for (const [name, opts] of variants) {
    const f = await rewrite(src, dir, name, opts);
    const g = join(dir, `tcpdump-${name}.pcap`);
    execFileSync('tcpdump', ['-r', f, '-w', g], { stdio: 'ignore' });
    const back = await readAll(g);
    assert.equal(back.length, orig.length, name);
    for (let i = 0; i < orig.length; i++) {
      assert.deepEqual(back[i]!.data, orig[i]!.data, `${name} #${i}`);
      assert.equal(frameLine(back[i]!), frameLine(orig[i]!));
    }
    const times = execFileSync('tcpdump', ['-nn', '-tt', '-r', f], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[0]);
    assert.deepEqual(
      times,
      orig.map((p) => `${p.tsSec}.${String(Math.floor(p.tsNsec / 1000)).padStart(6, '0')}`),
      name,
    );
  }
});

test('packets longer than the snaplen are cut; origLen keeps the wire length', async (t) => {
  const dir = tempDir(t);
  for (const format of ['pcap', 'pcapng'] as const) {
    const f = join(dir, `snap.${format}`);
    const w = createCaptureWriter(f, { format, snaplen: 10, linktype: 101 });
    w.write({ tsSec: 1, tsNsec: 2000, data: new Uint8Array(30).fill(7) });
    w.close();
    const [p] = await readAll(f);
    assert.equal(p!.caplen, 10);
    assert.equal(p!.origLen, 30);
    assert.equal(p!.linktype, 101);
    assert.ok(readFileSync(f).length < 120, 'only the cut bytes are stored');
  }
});
