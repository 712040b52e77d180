// The VM's differential fuzzer (issue 20): random socket-filter, XDP and tc objects with array, hash,
// per-CPU array, LRU hash, program-array and ring-buffer maps (differential-programs.ts) run on
// every engine (interpreter, jit, wasm) and through the three packet paths (run with a copied packet,
// runPacketAt in place, runPackets over the frames laid out as a capture chunk holds them — the wasm
// engine's in-module batch loop), frame after frame with the maps keeping their state. All must agree
// exactly: every return value or fault (kind, pc, instruction) and the packet after it, then every map's
// contents.
//   BPFKIT_FUZZ_SEED     first case's seed (case n uses SEED + n; a failure names its own seed)
//   BPFKIT_FUZZ_CASES    cases to run (default 400)    BPFKIT_FUZZ_SECONDS  time bound (default 10)
// `npm run fuzz:vm` runs many more cases from a fresh seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadVmCollection, type VmProgram } from '../../src/vm/collection.js';
import { ENGINES, type EngineKind } from '../../src/vm/interpreter.js';
import { VmError } from '../../src/vm/vm-error.js';
import { fuzzCase, type FuzzCase } from './differential-programs.js';
import { captureLayout } from './support.js';
import { assemble } from '../../src/asm/index.js';
import { BPF_PSEUDO_FUNC, OP_LDDW } from '../../src/isa/index.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { ProgType } from '../../src/uapi/types.js';

type PacketPath = 'run' | 'runPacketAt' | 'runPackets';

interface Outcome {
  results: string[];
  maps: Record<string, string>;
  /** Instructions each run executed (the run path reports them; both engines must count alike). */
  counts?: number[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** One case on one engine and path: each frame's result in order, then the maps. */
function outcome(c: FuzzCase, engine: EngineKind, path: PacketPath): Outcome {
  const results: string[] = [];
  const counts: number[] = [];
  let coll;
  try {
    coll = loadVmCollection(c.spec, { cpus: 1, execution: engine, budget: c.budget });
  } catch (err) {
    if (!(err instanceof VmError)) throw err;
    return { results: [`load ${err.kind}: ${err.message}`], maps: {} };
  }
  const p = coll.program('entry');
  if (path === 'runPackets') runBatched(p, c.frames, results);
  else
    for (const frame of c.frames) {
      try {
        if (path === 'run') {
          const res = p.run({ data: frame });
          results.push(`retval ${res.retval} ${hex(res.data)}`);
          counts.push(res.instructions);
        } else {
          // the frame inside a larger buffer, as a capture loop holds it, with other bytes around it
          const buf = new Uint8Array(frame.length + 40).fill(0xee);
          buf.set(frame, 17);
          const retval = p.runPacketAt(buf, 17, frame.length);
          const after = p.packetChanged(buf, 17, frame.length) ? p.lastPacket() : frame;
          results.push(`retval ${retval} ${hex(after)}`);
        }
      } catch (err) {
        if (!(err instanceof VmError)) throw err; // a raw exception fails the test with its stack
        results.push(`${err.kind}: ${err.message}`);
      }
    }
  const arr = coll.map('arr');
  const maps: Record<string, string> = { arr: [...arr.keys()].map((k) => hex(arr.lookup(k)!)).join(' ') };
  const h = coll.map('h');
  maps.h = [...h.keys()]
    .map((k) => `${hex(k)}=${hex(h.lookup(k)!)}`)
    .sort()
    .join(' ');
  for (const name of ['pa', 'lru']) {
    const m = coll.map(name);
    maps[name] = [...m.keys()]
      .map((k) => `${hex(k)}=${hex(m.lookup(k)!)}`)
      .sort()
      .join(' ');
  }
  const records = (coll.map('rb') as unknown as { consume(): Uint8Array[] }).consume();
  maps.rb = records.map(hex).join(' ');
  coll.close();
  return path === 'run' ? { results, maps, counts } : { results, maps };
}

/**
 * The frames one after another in one buffer, 16 filler bytes before each (a pcap record header's
 * place), run through runPackets; after a fault the batch goes on from the next frame, as the other
 * paths do.
 */
function runBatched(p: VmProgram, frames: Uint8Array[], results: string[]): void {
  const { src: buf, offs, lens } = captureLayout(frames, 16, 0xee);
  let from = 0;
  while (from < frames.length) {
    let next = from;
    const report = (i: number, retval: number, changed: boolean) => {
      const after = changed ? p.lastPacket() : frames[from + i]!;
      results.push(`retval ${retval} ${hex(after)}`);
      next = from + i + 1;
    };
    try {
      p.runPackets(buf, offs.subarray(from), lens.subarray(from), frames.length - from, report);
      return;
    } catch (err) {
      if (!(err instanceof VmError)) throw err;
      results.push(`${err.kind}: ${err.message}`);
      from = next + 1;
    }
  }
}

const firstSeed = Number(process.env.BPFKIT_FUZZ_SEED ?? 20261205);
const cases = Number(process.env.BPFKIT_FUZZ_CASES ?? 400);
const seconds = Number(process.env.BPFKIT_FUZZ_SECONDS ?? 10);

test(`random programs agree on every engine and every packet path (seed ${firstSeed})`, () => {
  const kinds = new Map<string, number>();
  const types = new Map<string, number>();
  const t0 = performance.now();
  let n = 0;
  for (; n < cases && performance.now() - t0 < seconds * 1000; n++) {
    const seed = firstSeed + n;
    const c = fuzzCase(seed);
    types.set(c.type, (types.get(c.type) ?? 0) + 1);
    const outs = ENGINES.map((engine) => ({
      engine,
      copied: outcome(c, engine, 'run'),
      inPlace: outcome(c, engine, 'runPacketAt'),
      batched: outcome(c, engine, 'runPackets'),
    }));
    const reference = outs[0]!.copied;
    const again = `reproduce with BPFKIT_FUZZ_SEED=${seed} BPFKIT_FUZZ_CASES=1`;
    for (const o of outs) {
      assert.deepEqual(o.copied, reference, `${o.engine}/run differs from ${outs[0]!.engine}/run: ${again}`);
      const { counts: _, ...withoutCounts } = reference;
      assert.deepEqual(o.inPlace, withoutCounts, `${o.engine}/runPacketAt differs from run: ${again}`);
      assert.deepEqual(o.batched, withoutCounts, `${o.engine}/runPackets differs from run: ${again}`);
    }
    for (const r of reference.results) {
      const kind = r.split(/[ :]/)[0]!;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
  }
  const summary = [...kinds, ...types].map(([k, v]) => `${k} ${v}`).join(', ');
  process.stderr.write(`differential fuzz: ${n} cases from seed ${firstSeed}: ${summary}\n`);
  // the generator reaches results and the faults it aims at (not a fuzzer that only ever sees one outcome)
  if (n >= 100) for (const k of ['retval', 'budget', 'access']) assert.ok((kinds.get(k) ?? 0) > 0, summary);
  if (n >= 100) for (const t of ['socket', 'xdp', 'tc']) assert.ok((types.get(t) ?? 0) > 0, summary);
});

test('a bpf_loop callback starts with r0 and r6-r9 zero on both engines (the fuzzer found them differing)', () => {
  // main: r6 = 7, r0 = 5; bpf_loop(3, cb, 0, 0). cb: return r6 (non-zero would stop the loop after one turn)
  const insns = assemble(
    'mov %r6, 7\nmov %r0, 5\nmov %r1, 3\nlddw %r2, 0\nmov %r3, 0\nmov %r4, 0\ncall 181\nexit\nmov %r0, %r6\nexit',
    { syntax: 'conformance', source: 'cb' },
  ).map((i) => (i.code === OP_LDDW ? { ...i, src: BPF_PSEUDO_FUNC, imm: 9 - i.pc - 1 } : i));
  const spec: ObjectSpec = {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [],
    programs: [{ name: 'p', section: 'xdp', type: ProgType.XDP, insns, mapRefs: [], license: 'GPL', kernelVersion: 0 }],
  };
  for (const engine of ENGINES) {
    const r = loadVmCollection(spec, { cpus: 1, execution: engine })
      .program('p')
      .run({ data: new Uint8Array(64) });
    assert.equal(r.retval, 3, `${engine}: all three turns ran`);
  }
});
