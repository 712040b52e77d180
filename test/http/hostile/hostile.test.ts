/**
 * Issue 20's hostile traffic, scaled down: reassembly whose cost grows linearly (n against 4n, in steps
 * counted by the store, so a noisy machine does not decide), and the memory budget — every complete request still reported where the
 * budget allows, every loss counted where it does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TcpStream, type StreamStats } from '../../../src/packet/flow/tcp-stream.js';
import { FragmentReassembler } from '../../../src/packet/flow/ip-fragments.js';
import { storeWork } from '../../../src/packet/flow/segment-store.js';
import { PacketView } from '../../../src/packet/decode/packet-view.js';
import { buildPipeline } from '../../../src/apps/http/build-pipeline.js';
import { readCaptureInto } from '../../../src/apps/http/capture-source.js';
import type { FullPipeline } from '../../../src/apps/http/full-pipeline.js';
import { makeCapture } from './make-captures.js';

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-hostile-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Asserts that `run(4n)` takes less than 6x the steps of `run(n)`, counted by SegmentStore (storeWork):
 * linear is 4x, with the binary searches' log factor ~4.5x; quadratic is 16x. Steps, not milliseconds:
 * the test means the same on a loaded machine.
 */
function assertLinear(what: string, n: number, run: (n: number) => void): void {
  const steps = (m: number) => {
    const before = storeWork();
    run(m);
    return storeWork() - before;
  };
  const small = steps(n);
  const large = steps(4 * n);
  assert.ok(small > 0, `${what}: the store was used`);
  assert.ok(large < 6 * small, `${what}: ${n} took ${small} steps, ${4 * n} took ${large} (quadratic?)`);
}

function stream(): { s: TcpStream; stats: StreamStats; got: () => number } {
  const stats: StreamStats = { bufferedBytes: 0, retransmitted: 0, outOfOrder: 0, gaps: 0 };
  const s = new TcpStream(stats, 1 << 30);
  let got = 0;
  s.consumer = { data: (_b, start, end) => void (got += end - start), gap: () => {} };
  return { s, stats, got: () => got };
}

const ONE = new Uint8Array([65]);

test('one-byte segments in reverse order: linear, every byte once', () => {
  assertLinear('reversed', 50_000, (n) => {
    const { s, stats, got } = stream();
    s.syn(0);
    for (let i = n - 1; i >= 0; i--) s.segment(1 + i, ONE, 0, 1, false, 0);
    assert.equal(got(), n);
    assert.equal(stats.bufferedBytes, 0);
  });
});

test('a hole, then one-byte segments in order: linear, every byte once after the hole', () => {
  assertLinear('hole', 50_000, (n) => {
    const { s, stats, got } = stream();
    s.syn(0);
    for (let i = 1; i <= n; i++) s.segment(1 + i, ONE, 0, 1, false, 0);
    s.flush();
    assert.equal(got(), n);
    assert.equal(stats.gaps, 1);
  });
});

test('random-order eight-byte fragments of large datagrams: linear', () => {
  // Fragments (IPv4, 8 bytes of data each) of datagrams of 8000 fragments, shuffled.
  const frame = (id: number, i: number, last: boolean) => {
    const f = new Uint8Array(14 + 20 + 8);
    f.set([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00], 0);
    const dv = new DataView(f.buffer);
    f[14] = 0x45;
    dv.setUint16(16, 28);
    dv.setUint16(18, id);
    dv.setUint16(20, i | (last ? 0 : 0x2000));
    f[22] = 64;
    f[23] = 17;
    dv.setUint32(26, 0x0a000001);
    dv.setUint32(30, 0x0a000002);
    return f;
  };
  const make = (n: number) => {
    const per = 8000;
    const frames: Uint8Array[] = [];
    for (let i = 0; i < n; i++)
      frames.push(frame(1 + Math.floor(i / per), i % per, i % per === per - 1 || i === n - 1));
    let x = 99;
    for (let i = frames.length - 1; i > 0; i--) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const j = x % (i + 1);
      [frames[i], frames[j]] = [frames[j]!, frames[i]!];
    }
    return frames;
  };
  const sets = new Map([20_000, 80_000].map((n) => [n, make(n)]));
  assertLinear('fragments', 20_000, (n) => {
    const r = new FragmentReassembler();
    const v = new PacketView();
    let whole = 0;
    for (const f of sets.get(n)!) if (r.add(v.decode(f, 1), 0)) whole++;
    assert.equal(whole, Math.ceil(n / 8000));
  });
});

/** `bpfkit urls` on capture `name` at scale `n` with a budget of `mb` MB: requests reported, summary. */
async function urls(name: string, n: number, mb: number) {
  const cap = makeCapture(dir, name, n);
  let reported = 0;
  const built = await buildPipeline({
    mode: 'full',
    engine: 'none',
    live: false,
    immediate: false,
    limits: { maxLine: 65536, maxHeaderLine: 16384 },
    maxFlows: 262144,
    idleTimeoutSec: 120,
    maxMemory: mb << 20,
    onRecord: () => void reported++,
    onText: () => {},
  });
  await readCaptureInto(cap.path, built.pipeline);
  built.pipeline.finish();
  const pipeline = built.pipeline as FullPipeline;
  return { cap, reported, stats: pipeline.analyzer.stats };
}

test('a SYN flood fills only the flows share and loses its own flows first: every real request found', async () => {
  const { cap, reported, stats } = await urls('synflood', 20_000, 32); // (room for the 1000 real flows)
  assert.equal(reported, cap.requests);
  assert.ok(stats.evictedQuiet > 10_000, `SYN-only flows evicted: ${stats.evictedQuiet}`);
  assert.equal(stats.evicted, stats.evictedQuiet, 'no flow with data was evicted');
});

test('more flows than the budget holds: evicted ones report their request, evictions counted', async () => {
  const { cap, reported, stats } = await urls('flows', 20_000, 16);
  assert.equal(reported, cap.requests);
  assert.ok(stats.evicted > 10_000, `evicted: ${stats.evicted}`);
});

test('requests never answered: reported early (counted) when the budget is full, none lost', async () => {
  const { cap, reported, stats } = await urls('pending', 40_000, 8);
  assert.equal(reported, cap.requests);
  assert.ok(stats.reportedEarly > 0, 'reported before a response, for memory');
});

test('reversed one-byte segments through the whole analyzer: every request', async () => {
  const { cap, reported } = await urls('reversed', 20_000, 256);
  assert.equal(reported, cap.requests);
});

test('eight flows of one-byte segments behind holes, small budget: the streams are flushed, and counted', async () => {
  const { stats } = await urls('eight', 20_000, 16);
  assert.ok(stats.bufferFlushes > 0, `buffer flushes: ${stats.bufferFlushes}`);
  assert.ok(stats.requests > 0);
});
