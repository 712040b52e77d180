// The wasm engine's inline paths (issue 21): loads, stores and atomic adds through the region table's
// slots (context fields, map values reached through tagged pointers, read-only maps) and LD_ABS/LD_IND
// read in the module agree with the interpreter at every edge — results, faults (kind, pc, message) and
// map contents — whether each run starts from JavaScript (run) or inside the module's repeat loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { BPF_PSEUDO_MAP_FD, OP_LDDW } from '../../src/isa/index.js';
import { loadVmCollection } from '../../src/vm/collection.js';
import type { EngineKind } from '../../src/vm/interpreter.js';
import { VmError } from '../../src/vm/vm-error.js';
import type { MapSpec, ObjectSpec } from '../../src/elf/spec.js';
import { MapType, ProgType } from '../../src/uapi/types.js';
import { mapSpec } from '../support/map-spec.js';

/** `lddw %rN, MAP+k` in a test program: the k-th map of MAPS. */
const MAP = 0x7e570000;
/** Values of 12 bytes: elements of stride 16 whose last 4 bytes no pointer may reach. */
const MAPS: MapSpec[] = [
  mapSpec('arr', MapType.ARRAY, 4, 12, 4),
  mapSpec('ro', MapType.ARRAY, 4, 8, 2, { flags: 0x80 /* BPF_F_RDONLY_PROG */ }),
];

function spec(text: string): ObjectSpec {
  const mapRefs: { pc: number; map: string; kind: 'fd'; offset: number }[] = [];
  const insns = assemble(text, { syntax: 'conformance', source: 't' }).map((i) => {
    if (i.code !== OP_LDDW || i.imm < MAP || i.imm >= MAP + MAPS.length) return i;
    mapRefs.push({ pc: i.pc, map: MAPS[i.imm - MAP]!.name, kind: 'fd', offset: 0 });
    return { ...i, src: BPF_PSEUDO_MAP_FD, imm: 0 };
  });
  const program = { name: 'p', section: 'socket', type: ProgType.SOCKET_FILTER, insns, mapRefs };
  return {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: MAPS,
    programs: [{ ...program, license: 'GPL', kernelVersion: 0 }],
  } as unknown as ObjectSpec;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Each frame run once, then all of them again with repeat 5; every result or fault, then the maps. */
function outcome(engine: EngineKind, text: string, frames: Uint8Array[]): string[] {
  const c = loadVmCollection(spec(text), { cpus: 1, execution: engine });
  const p = c.program('p');
  const out: string[] = [];
  for (const repeat of [1, 5])
    for (const data of frames) {
      try {
        const r = p.run({ data, repeat });
        out.push(`${r.retval} after ${r.instructions}`);
      } catch (err) {
        if (!(err instanceof VmError)) throw err;
        out.push(`${err.kind} at ${err.pc}: ${err.message}`);
      }
    }
  for (const name of ['arr', 'ro']) {
    const m = c.map(name);
    out.push(`${name}: ${[...m.keys()].map((k) => hex(m.lookup(k)!)).join(' ')}`);
  }
  c.close();
  return out;
}

function same(text: string, frames: Uint8Array[]): string[] {
  const ref = outcome('interpreter', text, frames);
  assert.deepEqual(outcome('wasm', text, frames), ref, text);
  return ref;
}

/** Frames whose byte 0 is the key looked up (3 and 4: the last element, and past max_entries). */
const keyed = [0, 3, 4, 1].map((k) => Uint8Array.of(k, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));

/** Look the frame's first byte up in map `map` (r0: the value pointer), then `access`; r0 at the exit. */
const lookup = (map: number, access: string) => `
ldabsb 0
stxw [%r10-4], %r0
mov %r2, %r10
add %r2, -4
lddw %r1, ${MAP + map}
call 1
jeq %r0, 0, +2
${access}
exit
mov %r0, 99
exit`;

test('wasm inline: map value loads, stores and atomic adds at every offset around an element’s extent', () => {
  const sizes = [
    ['b', 1],
    ['h', 2],
    ['w', 4],
    ['dw', 8],
  ] as const;
  let faults = 0;
  for (const [s, n] of sizes)
    for (let off = -2; off <= 14; off++) {
      const at = off < 0 ? `${off}` : `+${off}`;
      // a store then a load through the same pointer: the second run sees the first's value
      const out = same(lookup(0, `st${s} [%r0${at}], 0x5a\nldx${s} %r0, [%r0${at}]`), keyed);
      if (out.some((o) => o.startsWith('access'))) faults++;
      if (n >= 4) {
        const wide = n === 8 ? '' : '32';
        same(lookup(0, `mov %r1, 3\nlock add${wide} [%r0${at}], %r1\nldx${s} %r0, [%r0${at}]`), keyed);
      }
    }
  assert.ok(faults > 10, 'the grid reaches past the extent');
  // a pointer moved into the next element keeps its tag: it reaches nothing there
  same(lookup(0, 'add %r0, 16\nldxw %r0, [%r0+0]'), keyed);
  same(lookup(0, 'ldxw %r0, [%r0+16]'), keyed);
  // a pointer whose upper half a 32-bit operation cleared reaches no element
  same(lookup(0, 'mov32 %r0, %r0\nldxw %r0, [%r0+0]'), keyed);
  // a read-only map: loads pass, stores and atomics fault
  same(lookup(1, 'ldxdw %r0, [%r0+0]'), keyed);
  same(lookup(1, 'stw [%r0+0], 1\nmov %r0, 1'), keyed);
  same(lookup(1, 'mov %r1, 1\nlock add [%r0+0], %r1\nmov %r0, 1'), keyed);
});

test('wasm inline: one instruction reaching the context, a map value and the stack in turn', () => {
  // r3 is the context, the value or a stack slot by the frame's second byte; the same ldxw reads all three
  const text = `
mov %r6, %r1
ldabsb 1
mov %r7, %r0
ldabsb 0
stxw [%r10-4], %r0
stw [%r10-8], 77
mov %r2, %r10
add %r2, -4
lddw %r1, ${MAP}
call 1
jeq %r0, 0, +8
mov %r3, %r6
jeq %r7, 0, +4
mov %r3, %r0
jeq %r7, 1, +2
mov %r3, %r10
add %r3, -8
ldxw %r0, [%r3+0]
exit
mov %r0, 99
exit`;
  const frames = [0, 1, 2, 0, 2, 1].map((sel, i) => Uint8Array.of(i % 3, sel, 5, 6, 7, 8, 9, 10));
  same(text, frames);
  // context fields at the edge of the __sk_buff (192 bytes) and past it
  for (const off of [0, 4, 8, 184, 188, 190, 192])
    for (const s of ['b', 'h', 'w', 'dw']) same(`ldx${s} %r0, [%r1+${off}]\nexit`, keyed.slice(0, 2));
});

test('wasm inline: LD_ABS and LD_IND at the packet’s end, with negative and wrapping offsets', () => {
  const frames = [14, 15, 16, 17, 18, 20, 60].map((n) => Uint8Array.from({ length: n }, (_, i) => 0x40 + i));
  for (const [s, n] of [
    ['b', 1],
    ['h', 2],
    ['w', 4],
  ] as const) {
    for (const off of [0, 1, 12, 13, 14, 15, 16, 17, 19, 56, 59, 60])
      if (off + n >= 12) same(`ldabs${s} ${off}\nexit`, frames);
    // LD_IND: register + imm in 32 bits, so -1 + 1 is offset 0 and a huge register wraps
    for (const [r, imm] of [
      [10, 2],
      [-1, 1],
      [-1, 16],
      [0xffffffff, 3],
      [0x7fffffff, 1],
      [-2, 0],
      [0x100000000 + 5, 0],
    ] as const)
      same(`lddw %r1, ${r}\nldind${s} %r1, ${imm}\nmov %r0, %r0\nexit`, frames);
  }
  // the network- and link-layer offsets (SKF_NET_OFF, SKF_LL_OFF) and below them
  for (const off of [-0x100000, -0x100000 + 3, -0x200000, -0x200000 + 13, -0x200001])
    same(`ldabsb ${off}\nexit`, frames);
  // a load past the end stops the program with r0 = 0, in the middle of a run
  same('mov %r0, 5\nldabsw 12\nldabsw 40\nmov %r0, 7\nexit', frames);
});
