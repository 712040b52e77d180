/**
 * Stores into the frame through a register other than r10 (wasm/emit-memory.ts): the module's stack
 * bound (compile.ts wasmStackBytes) covers only its r10 stores, so such a store raises MEM_CLEARS, and
 * the packet loop and the repeat loop zero what it reached before the next run, exactly as one run()
 * per packet starts from a zeroed stack.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureLayout, tcSpec } from './support.js';
import { loadVmCollection, type VmProgram } from '../../src/vm/collection.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { loopStats } from '../../src/vm/wasm/packet-batch.js';

/** Returns what r10-300 holds at its start; on frames starting 0x11 then writes it through r1 = r10 - 300. */
const TEXT = `
mov %r6, %r1
ldxdw %r0, [%r10-300]
ldxb %r7, [%r10-512]
or %r0, %r7
ldxw %r2, [%r6+76]
ldxw %r3, [%r6+80]
mov %r5, %r2
add %r5, 1
jgt %r5, %r3, +6
ldxb %r4, [%r2+0]
jne %r4, 0x11, +4
mov %r1, %r10
add %r1, -300
stdw [%r1+0], 0x77
stb [%r1-212], 0x5
exit`;

/** The same in a local call's frame (depth 1: the engine clears that one, not the loops). */
const IN_CALL = `
call local f
exit
f:
ldxdw %r0, [%r10-300]
ldxw %r2, [%r1+76]
ldxw %r3, [%r1+80]
mov %r5, %r2
add %r5, 1
jgt %r5, %r3, +5
ldxb %r4, [%r2+0]
jne %r4, 0x11, +3
mov %r4, %r10
add %r4, -300
stdw [%r4+0], 0x77
exit`;

function spec(text: string): ObjectSpec {
  return tcSpec(text);
}

function load(execution: 'wasm' | 'interpreter', text = TEXT): VmProgram {
  return loadVmCollection(spec(text), { execution, cpus: 1 }).program('p');
}

for (const [where, text] of [
  ['the entry frame', TEXT],
  ['a local call', IN_CALL],
] as const)
  test(`a store into ${where} through another register than r10: runPackets starts every record from a zeroed stack`, () => {
    const fs: Uint8Array[] = [];
    for (let i = 0; i < 400; i++) fs.push(new Uint8Array([i % 7 === 2 ? 0x11 : 0x22, i & 0xff, 3, 4, 5, 6]));
    const want = fs.map((f) => load('interpreter', text).run({ data: f }).retval >>> 0);
    assert.ok(want.every((r) => r === 0));
    const p = load('wasm', text);
    const { src, offs, lens } = captureLayout(fs);
    const got = new Array<number>(fs.length).fill(-1);
    const before = loopStats.records;
    p.runPackets(src, offs, lens, fs.length, (i, retval) => {
      got[i] = retval >>> 0;
    });
    assert.deepEqual(got, want);
    // (the entry frame's case really ran in the module's loop, not one run per packet)
    if (text === TEXT) assert.ok(loopStats.records - before > 300, `${loopStats.records - before} records in the loop`);
  });

test('a frame store through another register than r10: every repeated run starts from a zeroed stack', () => {
  const data = new Uint8Array([0x11, 2, 3, 4, 5, 6]);
  for (const text of [TEXT, IN_CALL])
    for (const execution of ['interpreter', 'wasm'] as const) {
      const r = load(execution, text).run({ data, repeat: 50 });
      assert.equal(r.retval >>> 0, 0, execution);
    }
});
