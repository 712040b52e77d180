// VmProgram.runPackets (the batch entry `bpfkit run --pcap` takes; on 'wasm' it runs frames inside the
// module, wasm/packet-loop.ts) gives, frame for frame, what one run() per frame gives on every engine:
// retvals, changed packets, helper effects in the same order as the reports, maps — and a fault or a
// budget overrun part-way stops it with the same error, after every frame before it was reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repoPath } from '../support/env.js';
import { captureLayout, tcSpec } from './support.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { framesInPlace, loadVmCollection, type VmProgram } from '../../src/vm/collection.js';
import { ENGINES } from '../../src/vm/interpreter.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { openCapture } from '../../src/packet/capture-reader.js';
import { loopStats } from '../../src/vm/wasm/packet-batch.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * A tc program that reads its frame's first two bytes a, b (frames shorter than 2: retval 0): faults on
 * a = 0xee (a load from address 0), loops b times (the budget), flips packet byte 1 when a is even,
 * returns b + a, and prints a trace line when a = 0xaa.
 */
const PROGRAM = `
ldxw %r2, [%r1+76]
ldxw %r3, [%r1+80]
mov %r0, 0
mov %r4, %r2
add %r4, 2
jgt %r4, %r3, +25
ldxb %r5, [%r2+0]
ldxb %r6, [%r2+1]
jne %r5, 0xee, +2
mov %r7, 0
ldxb %r0, [%r7+0]
mov %r0, %r6
jeq %r6, 0, +2
sub %r6, 1
ja -3
mov %r8, %r5
and %r8, 1
jne %r8, 0, +3
ldxb %r8, [%r2+1]
xor %r8, 0x55
stxb [%r2+1], %r8
add %r0, %r5
jne %r5, 0xaa, +8
mov %r9, %r0
stb [%r10-8], 0x78
stb [%r10-7], 0
mov %r1, %r10
add %r1, -8
mov %r2, 2
call 6
mov %r0, %r9
exit`;

/**
 * A tc program that pushes two VLAN tags on frames whose first byte is a multiple of 4: the first goes
 * into the skb's accelerated tag, the second moves that one into the packet (a helper that resizes it).
 */
const VLAN_PUSH = `
mov %r6, %r1
ldxw %r3, [%r1+76]
ldxw %r4, [%r1+80]
mov %r0, 0
mov %r5, %r3
add %r5, 14
jgt %r5, %r4, +12
ldxb %r5, [%r3+0]
and %r5, 3
jne %r5, 0, +8
mov %r1, %r6
mov %r2, 0x0081
mov %r3, 5
call 18
mov %r1, %r6
mov %r2, 0x0081
mov %r3, 6
call 18
ldxw %r0, [%r6+0]
exit`;

/**
 * VLAN_PUSH returning, besides the length, the context's pkt_type and protocol: after the helpers they
 * come from JavaScript's state for the record (its skb state, derived from the frame where it lies).
 */
const VLAN_PUSH_FIELDS = `
mov %r6, %r1
ldxw %r3, [%r1+76]
ldxw %r4, [%r1+80]
mov %r0, 0
mov %r5, %r3
add %r5, 14
jgt %r5, %r4, +18
ldxb %r5, [%r3+0]
and %r5, 3
jne %r5, 0, +8
mov %r1, %r6
mov %r2, 0x0081
mov %r3, 5
call 18
mov %r1, %r6
mov %r2, 0x0081
mov %r3, 6
call 18
ldxw %r0, [%r6+0]
ldxw %r7, [%r6+4]
lsh %r7, 16
add %r0, %r7
ldxw %r7, [%r6+16]
lsh %r7, 20
add %r0, %r7
exit`;

function spec(text = PROGRAM): ObjectSpec {
  return tcSpec(text);
}

/** Deterministic frames: short ones, multicast and other-host destinations, traced ones, a few too big to batch. */
function frameSet(n: number, special: (i: number, f: Uint8Array) => void = () => {}): Uint8Array[] {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xffff;
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = i % 97 === 5 ? 5000 : i % 13 === 0 ? rnd() % 16 : 14 + (rnd() % 180);
    const f = new Uint8Array(len).map(() => rnd() & 0xff);
    if (len > 0 && f[0] === 0xee) f[0] = 0xef;
    if (len > 0 && i % 7 === 0) f[0] = 0xaa;
    if (len > 1) f[1] = f[1]! % 40;
    special(i, f);
    out.push(f);
  }
  return out;
}

type Outcome = { events: string[]; error?: string };

/** One run() per frame: a result line per frame, trace lines where the runs print them; stops at an error. */
function perFrame(p: VmProgram, trace: string[], frames: Uint8Array[]): Outcome {
  const events = trace;
  try {
    for (const [i, f] of frames.entries()) {
      const r = p.run({ data: f });
      events.push(`${i}: ${r.retval >>> 0} ${hex(r.data) !== hex(f) ? hex(r.data) : '-'}`);
    }
  } catch (err) {
    return { events, error: (err as Error).message };
  }
  return { events };
}

/**
 * runPackets over the same frames, reported the same way. `inChunk`: the frames laid out in a frame
 * chunk of the program's collection (VmProgram.takeFrameChunk: in linear memory, run where they lie).
 */
function batched(p: VmProgram, trace: string[], frames: Uint8Array[], inChunk = false): Outcome {
  const events = trace;
  const layout = captureLayout(frames);
  const { offs, lens } = layout;
  let src = layout.src;
  if (inChunk) {
    const chunk = p.takeFrameChunk(src.length);
    assert.ok(chunk !== undefined, 'a frame chunk');
    chunk.set(src);
    src = chunk;
  }
  try {
    p.runPackets(src, offs, lens, frames.length, (i, retval, changed) => {
      events.push(`${i}: ${retval} ${changed ? hex(p.lastPacket()) : '-'}`);
    });
  } catch (err) {
    return { events, error: (err as Error).message };
  }
  return { events };
}

function both(
  engine: (typeof ENGINES)[number],
  frames: Uint8Array[],
  budget?: number,
  text = PROGRAM,
  inChunk = false,
): [Outcome, Outcome] {
  const run = (how: (p: VmProgram, trace: string[], frames: Uint8Array[], inChunk: boolean) => Outcome): Outcome => {
    const trace: string[] = [];
    const c = loadVmCollection(spec(text), {
      execution: engine,
      cpus: 1,
      host: { trace: (l) => trace.push(`trace ${l}`) },
      ...(budget ? { budget } : {}),
    });
    return how(c.program('p'), trace, frames, inChunk);
  };
  return [run(perFrame), run(batched)];
}

test('runPackets (wasm): the records run inside the module loop, not one run per packet', () => {
  const before = loopStats.records;
  const [want, got] = both('wasm', frameSet(3000));
  assert.deepEqual(got, want);
  // (most records: a frame too big for the packet buffer, or one whose helper stopped the loop, runs alone)
  assert.ok(loopStats.records - before > 2000, `${loopStats.records - before} of 3000 records in the loop`);
});

test('runPackets (wasm): frames in a frame chunk run where they lie in linear memory, with the same results', () => {
  // helpers that print (the records' JavaScript state synced from the frames where they lie), a helper
  // that resizes the packet, changed packets copied out, a fault part-way
  const before = framesInPlace.records;
  // (1,500 frames: they fit a frame chunk, a 256 KiB read and its room)
  for (const [frames, text] of [
    [frameSet(1500), PROGRAM],
    [frameSet(1500), VLAN_PUSH],
    [frameSet(1500), VLAN_PUSH_FIELDS],
    [
      frameSet(1500, (i, f) => {
        if (i === 1234) f[0] = 0xee;
      }),
      PROGRAM,
    ],
  ] as const) {
    const [want, got] = both('wasm', frames, undefined, text, true);
    assert.deepEqual(got, want);
    assert.ok(
      want.events.some((e) => /^\d+: \d+ [0-9a-f]+$/.test(e)),
      'some frames change',
    );
  }
  assert.ok(framesInPlace.records - before > 3000, `${framesInPlace.records - before} records where they lay`);
});

test('takeFrameChunk: at most two chunks, in linear memory, given back for the next taker; none on other engines', () => {
  const p = loadVmCollection(spec(), { execution: 'wasm', cpus: 1 }).program('p');
  const a = p.takeFrameChunk(1000)!;
  const b = p.takeFrameChunk(2000)!;
  assert.ok(a.length >= 1000 && b.length >= 2000);
  assert.equal(p.takeFrameChunk(10), undefined, 'a third');
  assert.equal(p.giveBackFrameChunk(new Uint8Array(1000)), false, 'not one of them');
  assert.equal(p.giveBackFrameChunk(a), true);
  assert.equal(p.takeFrameChunk(2000), undefined, 'the one given back is too small');
  assert.equal(p.takeFrameChunk(500), a);
  const q = loadVmCollection(spec(), { execution: 'jit', cpus: 1 }).program('p');
  assert.equal(q.takeFrameChunk(1000), undefined);
});

for (const engine of ENGINES) {
  test(`runPackets (${engine}): the same retvals, changed packets and trace lines, in the same order, as run() per frame`, () => {
    const frames = frameSet(3000);
    const [want, got] = both(engine, frames);
    assert.equal(want.error, undefined);
    assert.equal(got.error, undefined);
    assert.deepEqual(got.events, want.events);
    assert.ok(
      want.events.some((e) => e.startsWith('trace')),
      'some frames print',
    );
    assert.ok(
      want.events.some((e) => !e.startsWith('trace') && !e.endsWith(' -')),
      'some frames change',
    );
    assert.ok(
      want.events.some((e) => e.endsWith(' -')),
      'some frames stay',
    );
  });

  test(`runPackets (${engine}): a helper that resizes the packet part-way through a batch`, () => {
    const frames = frameSet(1500);
    const [want, got] = both(engine, frames, undefined, VLAN_PUSH);
    assert.equal(want.error, undefined);
    assert.deepEqual(got, want);
    assert.ok(want.events.filter((e) => !e.endsWith(' -')).length > 100, 'some frames get a tag');
  });

  test(`runPackets (${engine}): a fault part-way is the same error, after every frame before it`, () => {
    const frames = frameSet(2500, (i, f) => {
      if (i === 1777) f[0] = 0xee;
    });
    const [want, got] = both(engine, frames);
    assert.match(want.error ?? '', /pc 10/);
    assert.equal(got.error, want.error);
    assert.deepEqual(got.events, want.events);
    assert.ok(got.events.at(-1)!.startsWith('1776: '));
  });

  test(`runPackets (${engine}): a budget overrun part-way is the same error, after every frame before it`, () => {
    const frames = frameSet(2500, (i, f) => {
      if (f.length > 1) f[1] = i === 2100 ? 250 : f[1]! % 8;
    });
    const [want, got] = both(engine, frames, 200);
    assert.match(want.error ?? '', /budget|instructions/);
    assert.equal(got.error, want.error);
    assert.deepEqual(got.events, want.events);
    assert.ok(got.events.at(-1)!.startsWith('2099: '));
  });

  test(`runPackets (${engine}) on the examples and URL filters: run()'s retvals, packets and maps`, async () => {
    const reader = await openCapture(repoPath('examples', 'captures', 'http-demo.pcap'));
    const frames = (await reader.readAll()).map((p) => p.data);
    await reader.close();
    for (const [obj, prog] of [
      [repoPath('examples', 'proto-count', 'proto-count.o'), 'count_protocols'],
      [repoPath('examples', 'port-demux', 'port-demux.o'), 'lb_main'],
      [repoPath('examples', 'mark-stats', 'mark-stats.o'), 'cls_main'],
      [repoPath('src', 'apps', 'http', 'bpf', 'http_filter_full.o'), 'http_filter'],
    ] as const) {
      const objSpec = loadObjectFile(obj);
      const a = loadVmCollection(objSpec, { execution: 'interpreter', cpus: 1 });
      const b = loadVmCollection(objSpec, { execution: engine, cpus: 1 });
      const want = perFrame(a.program(prog), [], frames);
      const got = batched(b.program(prog), [], frames);
      assert.deepEqual(got, want, prog);
      // (the URL filter's session values hold the clock: their keys are compared)
      const value = (m: { lookup(k: Uint8Array): Uint8Array | undefined }, k: Uint8Array) =>
        prog === 'http_filter' ? '' : hex(m.lookup(k) ?? new Uint8Array(0));
      const dump = (c: typeof a) =>
        [...c.maps.values()].map((m) => [...m.keys()].map((k) => `${hex(k)}=${value(m, k)}`).sort());
      assert.deepEqual(dump(b), dump(a), prog);
    }
  });
}

/**
 * bpf_skb_load_bytes(skb, 50, fp-16, 9), whose inline copy (wasm/skb-load-bytes.ts) checks the offset
 * against the packet's length: returns the helper's r0 plus the bytes' first word. A frame shorter than
 * 59 bytes after a longer one in the same window must get -EFAULT, as its own run does (the loop once
 * left the first frame's length in place: 0 and the zeroed tail instead).
 */
const LOAD_BYTES = `
mov %r2, 50
mov %r3, %r10
add %r3, -16
mov %r4, 9
call 26
ldxw %r3, [%r10-16]
add %r0, %r3
exit`;

test('runPackets (wasm): skb_load_bytes inside the loop sees each frame its own length', () => {
  const frames = frameSet(400).map((f, i) => (i % 2 === 0 ? new Uint8Array(80).fill(i & 0xff) : f.subarray(0, 44)));
  const before = loopStats.records;
  const [want, got] = both('wasm', frames, undefined, LOAD_BYTES);
  assert.equal(want.error, undefined);
  assert.deepEqual(got, want);
  assert.ok(
    want.events.some((e) => e.startsWith(`1: ${2 ** 32 - 14} `)),
    'the short frames get -EFAULT',
  );
  assert.ok(loopStats.records - before > 300, `${loopStats.records - before} of 400 records in the loop`);
});
