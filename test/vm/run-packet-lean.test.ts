/**
 * runPacketAt's steady state (the same program run on frame after frame, as `bpfkit urls` does): what
 * it skips or does more cheaply per run — the stack clearing, the syncs of what cannot have changed —
 * must leave every run exactly as run({ data: frame }) makes it, across map updates from JavaScript,
 * another program's runs in between, frames of every length (LD_ABS past the end ends a run midway).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAP, tcProgram } from './support.js';
import { mapSpec } from '../support/map-spec.js';
import { loadVmCollection, type VmCollection } from '../../src/vm/collection.js';
import { ENGINES } from '../../src/vm/interpreter.js';
import { readsPacketOnlyByLdAbs } from '../../src/vm/packet-access.js';
import { MapType } from '../../src/uapi/types.js';
import type { ObjectSpec } from '../../src/elf/spec.js';

/**
 * Reads its stack before writing it (a run that saw an earlier run's bytes returns them, folded into
 * the low half r0's retval keeps), then writes
 * its frame's bytes from the top of its stack to 136 bytes below (the first and last word too), counts
 * the frame in `seen` keyed by a frame byte, and reads a byte late in the frame (short frames end there).
 */
const LEAN = `
mov %r6, %r1
ldxdw %r7, [%r10-8]
ldxdw %r8, [%r10-136]
or %r7, %r8
ldxdw %r8, [%r10-72]
or %r7, %r8
ldxw %r8, [%r10-4]
or %r7, %r8
mov %r8, %r7
rsh %r8, 32
or %r7, %r8
ldabsb 14
mov %r9, %r0
add %r9, 1
mov %r8, %r9
lsh %r8, 40
or %r8, %r9
stxdw [%r10-8], %r8
stxdw [%r10-72], %r8
stxdw [%r10-136], %r8
stxdw [%r10-128], %r8
ldabsb 15
stxw [%r10-16], %r0
stxdw [%r10-24], %r8
lddw %r1, ${MAP}
mov %r2, %r10
add %r2, -16
mov %r3, %r10
add %r3, -24
mov %r4, 0
call 2
ldabsb 40
add %r0, %r7
exit`;

/** Another program of the collection: writes its whole stack, deeper than LEAN's, and the same map. */
const OTHER = `
mov %r6, %r1
stdw [%r10-512], -1
stdw [%r10-256], -1
stdw [%r10-8], -1
stw [%r10-16], 7
stdw [%r10-24], 3
lddw %r1, ${MAP}
mov %r2, %r10
add %r2, -16
mov %r3, %r10
add %r3, -24
mov %r4, 0
call 2
ldabsb 14
exit`;

function object(): ObjectSpec {
  const maps = [mapSpec('seen', MapType.HASH, 4, 8, 64)];
  return {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps,
    programs: [tcProgram('lean', LEAN, maps), tcProgram('other', OTHER, maps)],
  };
}

/** Deterministic frames of every length from 0 to 100, a few bytes chosen so keys repeat. */
function frameSet(n: number, seed: number): Uint8Array[] {
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xffff;
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const f = new Uint8Array(rnd() % 101).map(() => rnd() & 0xff);
    if (f.length > 15) f[15] = f[15]! % 9;
    out.push(f);
  }
  return out;
}

const dump = (c: VmCollection) =>
  [...c.map('seen').entries()]
    .map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`)
    .sort();

for (const engine of ENGINES) {
  test(`runPacketAt (${engine}) frame after frame gives run()'s retvals and maps, with JS map updates and another program's runs between`, () => {
    // (the reference on the interpreter: it shares none of the other engines' per-run shortcuts)
    const ref = loadVmCollection(object(), { cpus: 1, execution: 'interpreter' });
    const lean = loadVmCollection(object(), { cpus: 1, execution: engine });
    assert.ok(readsPacketOnlyByLdAbs(lean.program('lean').loaded), 'the program runs in place');
    const frames = frameSet(600, 7);
    // the frames inside one buffer, as a capture's chunk holds them (and through the frame window)
    const buf = new Uint8Array(frames.reduce((n, f) => n + f.length + 16, 16)).fill(0xa5);
    const offs: number[] = [];
    let at = 16;
    for (const f of frames) {
      buf.set(f, at);
      offs.push(at);
      at += f.length + 16;
    }
    const win = lean.program('lean').frameWindow(buf.length);
    if (win !== null) win.set(buf);
    let nonZero = 0;
    for (const [i, f] of frames.entries()) {
      if (i === 200 || i === 400) {
        const key = new Uint8Array([i === 200 ? 3 : 5, 0, 0, 0]);
        const value = new Uint8Array(8).fill(i & 0xff);
        ref.map('seen').update(key, value);
        lean.map('seen').update(key, value);
      }
      if (i % 150 === 75) {
        assert.equal(lean.program('other').run({ data: f }).retval, ref.program('other').run({ data: f }).retval);
      }
      const want = ref.program('lean').run({ data: f }).retval;
      const src = i % 2 === 0 || win === null ? buf : win;
      assert.equal(lean.program('lean').runPacketAt(src, offs[i]!, f.length), want, `frame ${i} (${f.length} bytes)`);
      if (want !== 0) nonZero++;
    }
    assert.ok(nonZero > 100, 'the frames exercise the long path');
    assert.deepEqual(dump(lean), dump(ref));
    assert.ok(dump(ref).length > 5, 'the runs filled the map');
  });
}

/**
 * Reads every register before writing it (each run must find them zero but r1 and r10: a run that saw
 * an earlier run's returns them, high halves folded into the low), then leaves both halves of r0, r2-r9
 * set from its frame.
 */
const REGISTERS = `
or %r0, %r2
or %r0, %r3
or %r0, %r4
or %r0, %r5
or %r0, %r6
or %r0, %r7
or %r0, %r8
or %r0, %r9
mov %r9, %r0
rsh %r0, 32
or %r9, %r0
mov %r6, %r1
ldabsb 14
add %r0, 1
mov %r7, %r0
lsh %r7, 33
or %r7, %r0
mov %r2, %r7
mov %r3, %r7
mov %r4, %r7
mov %r5, %r7
mov %r6, %r7
mov %r8, %r7
mov %r0, %r7
add %r0, %r9
mov %r9, %r7
exit`;

for (const engine of ENGINES) {
  test(`runPacketAt (${engine}) frame after frame starts every run with zeroed registers`, () => {
    const spec = (): ObjectSpec => ({
      endian: 'little',
      license: 'GPL',
      kernelVersion: 0,
      maps: [],
      programs: [tcProgram('regs', REGISTERS, [])],
    });
    const ref = loadVmCollection(spec(), { cpus: 1, execution: 'interpreter' });
    const lean = loadVmCollection(spec(), { cpus: 1, execution: engine });
    assert.ok(readsPacketOnlyByLdAbs(lean.program('regs').loaded), 'the program runs in place');
    for (const [i, f] of frameSet(300, 11).entries()) {
      const want = ref.program('regs').run({ data: f }).retval;
      assert.equal(lean.program('regs').runPacketAt(f, 0, f.length), want, `frame ${i} (${f.length} bytes)`);
    }
  });
}
