// The clocks in WebAssembly: with the stock bpf_ktime_get_ns / bpf_ktime_get_boot_ns, the module's quick
// import returns the host clock's reading and the module makes r0 of it; whatever the clock returns
// (fractions, -0, negative numbers, NaN, 2^64 and beyond, a BigInt) or throws, every engine gives the
// interpreter's r0 or error, and reads the clock exactly once per call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, Vm, type EngineKind } from '../../src/vm/interpreter.js';
import { VmError } from '../../src/vm/vm-error.js';
import { ktimeGetBootNs, ktimeGetNs } from '../../src/vm/helpers/misc-helpers.js';
import { asm, captureLayout, tcSpec } from './support.js';
import { loadVmCollection } from '../../src/vm/collection.js';
import { loopStats } from '../../src/vm/wasm/packet-batch.js';

type Result = { r0: bigint; reads: number } | { error: string; pc: number; reads: number };

function runClock(engine: EngineKind, id: number, clock: () => unknown, calls = 1): Result {
  const vm = new Vm({ engine });
  vm.helpers.registerAll([
    [5, 'ktime_get_ns', ktimeGetNs],
    [125, 'ktime_get_boot_ns', ktimeGetBootNs],
  ]);
  let reads = 0;
  const read = () => {
    reads++;
    return clock();
  };
  // r0 of the last call, added to the sum of all before it (a second call sees the first's r0 kept in r6)
  const text = [
    'mov %r6, 0',
    ...Array.from({ length: calls }, () => `call ${id}\nadd %r6, %r0`),
    'mov %r0, %r6',
    'exit',
  ].join('\n');
  const p = vm.load(asm(text), { name: 't' });
  try {
    const r = vm.run(p, { context: { host: { clockNs: read, bootClockNs: read } } });
    return { r0: r.r0, reads };
  } catch (err) {
    if (err instanceof VmError) return { error: err.message, pc: err.pc, reads };
    throw err;
  }
}

const READINGS: unknown[] = [
  1_000_000_000,
  0,
  -0,
  5.7,
  2 ** 32 - 0.5,
  2 ** 53 + 2,
  2 ** 63,
  2 ** 64 - 2048,
  2 ** 64,
  2 ** 70,
  -5,
  -1,
  -2,
  -(2 ** 40) - 0.25,
  NaN,
  Infinity,
  -Infinity,
  123n,
  'soon',
  undefined,
];

test('wasm clock: every reading a host clock may return gives the interpreter’s r0 on every engine', () => {
  for (const id of [5, 125])
    for (const v of READINGS) {
      const ref = runClock('interpreter', id, () => v);
      for (const e of ENGINES)
        assert.deepEqual(
          runClock(e, id, () => v),
          ref,
          `helper ${id}, reading ${String(v)}, ${e}`,
        );
    }
  // (the values the module converts itself, spelled out)
  assert.deepEqual(
    runClock('wasm', 5, () => 5.7),
    { r0: 5n, reads: 1 },
  );
  assert.deepEqual(
    runClock('wasm', 5, () => -0),
    { r0: 0n, reads: 1 },
  );
  assert.deepEqual(
    runClock('wasm', 5, () => 2 ** 63),
    { r0: 2n ** 63n, reads: 1 },
  );
  assert.deepEqual(
    runClock('wasm', 125, () => 2 ** 64 - 2048),
    { r0: 2n ** 64n - 2048n, reads: 1 },
  );
  assert.deepEqual(
    runClock('wasm', 5, () => -1),
    { r0: 2n ** 64n - 1n, reads: 1 },
  );
});

test('wasm clock: a clock that throws fails the helper at its pc, as on the interpreter', () => {
  const boom = () => {
    throw new Error('clock gone');
  };
  const ref = runClock('interpreter', 5, boom);
  assert.ok('error' in ref);
  assert.equal(ref.pc, 1);
  assert.match(ref.error, /clock gone/);
  for (const e of ENGINES) {
    const out = runClock(e, 5, boom);
    assert.ok('error' in out, e);
    assert.equal(out.error, ref.error, e);
    assert.equal(out.pc, ref.pc, e);
  }
});

test('wasm clock: a counting clock is read once per call on every engine', () => {
  for (const e of ENGINES) {
    let t = 10;
    assert.deepEqual(
      runClock(e, 5, () => (t += 3), 4),
      { r0: 13n + 16n + 19n + 22n, reads: 4 },
      e,
    );
  }
});

test('wasm clock: a host helper registered under the clock’s number is called as a helper', () => {
  for (const e of ENGINES) {
    const vm = new Vm({ engine: e });
    vm.helpers.registerAll([[5, 'ktime_get_ns', (c) => c.ret(77)]]);
    const p = vm.load(asm('call 5\nexit'), { name: 't' });
    assert.equal(vm.run(p).r0, 77n, e);
  }
});

/** A tc program returning its frame's first byte plus the clock's low 16 bits. */
const CLOCKED = `
ldxw %r2, [%r1+76]
ldxw %r3, [%r1+80]
mov %r6, 0
mov %r4, %r2
add %r4, 1
jgt %r4, %r3, +1
ldxb %r6, [%r2+0]
call 5
and %r0, 0xffff
add %r0, %r6
exit`;

type Clocked = { events: string[]; error?: string };

/** Per-frame runs and runPackets over the same frames with a counting clock that throws at read `failAt`. */
function clockedRuns(engine: EngineKind, frames: Uint8Array[], failAt: number): [Clocked, Clocked] {
  const spec = tcSpec(CLOCKED);
  const make = () => {
    let t = 1000;
    let reads = 0;
    const clockNs = () => {
      if (++reads === failAt) throw new Error(`clock gone at read ${reads}`);
      return (t += 7);
    };
    return loadVmCollection(spec, { execution: engine, cpus: 1, host: { clockNs } }).program('p');
  };
  const perFrame = (): Clocked => {
    const events: string[] = [];
    const p = make();
    try {
      for (const [i, f] of frames.entries()) events.push(`${i}: ${p.run({ data: f }).retval >>> 0}`);
    } catch (err) {
      return { events, error: (err as Error).message };
    }
    return { events };
  };
  const batched = (): Clocked => {
    const events: string[] = [];
    const p = make();
    const { src, offs, lens } = captureLayout(frames);
    try {
      p.runPackets(src, offs, lens, frames.length, (i, retval) => events.push(`${i}: ${retval}`));
    } catch (err) {
      return { events, error: (err as Error).message };
    }
    return { events };
  };
  return [perFrame(), batched()];
}

test('wasm clock: runPackets reads the clock per record as per-frame runs do, and a failing clock stops it at that record', () => {
  const frames = Array.from({ length: 300 }, (_, i) =>
    Uint8Array.from({ length: 20 + (i % 30) }, (_, j) => (i * 31 + j) & 0xff),
  );
  frames[17] = new Uint8Array(0);
  const ref = clockedRuns('interpreter', frames, 0)[0];
  assert.equal(ref.events.length, 300);
  assert.equal(ref.events[1], `1: ${(1014 & 0xffff) + 31}`);
  for (const e of ENGINES) {
    const before = loopStats.records;
    const [perFrame, batched] = clockedRuns(e, frames, 0);
    assert.deepEqual(perFrame, ref, `${e}: per frame`);
    assert.deepEqual(batched, ref, `${e}: runPackets`);
    if (e === 'wasm') assert.ok(loopStats.records - before >= 250, 'the records ran in the module loop');
    const [failFrame, failBatch] = clockedRuns(e, frames, 123);
    assert.equal(failFrame.events.length, 122);
    assert.match(failFrame.error ?? '', /clock gone at read 123/);
    assert.deepEqual(failBatch, failFrame, `${e}: a failing clock`);
  }
});
