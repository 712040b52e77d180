// The VM's run-time isolation, as the kernel promises it, whatever the program (no verifier runs): each
// reproducer of issue 20 on both engines, which must also agree with each other on every outcome.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asm } from './support.js';
import { loadVmCollection, type VmCollection } from '../../src/vm/collection.js';
import { ENGINES, Vm, type EngineKind } from '../../src/vm/interpreter.js';
import { VmError } from '../../src/vm/vm-error.js';
import { RingBufMap } from '../../src/vm/maps/ringbuf.js';
import { readsPacketOnlyByLdAbs } from '../../src/vm/packet-access.js';
import { FUNC_TAG } from '../../src/vm/interpreter-program.js';
import {
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
  OP_LDDW,
  type Instruction,
} from '../../src/isa/index.js';
import type { MapSpec, MapReference, ObjectSpec } from '../../src/elf/spec.js';
import { MapType, ProgType } from '../../src/uapi/types.js';
import { mapSpec } from '../support/map-spec.js';

/** `lddw %rN, MAP+k` in the test programs: the k-th map of the object (rewritten to a map reference). */
const MAP = 0x7e570000;
/** `lddw %rN, FUNC+slot`: a function pointer to that slot (rewritten to BPF_PSEUDO_FUNC). */
const FUNC = 0x7e580000;
/** `lddw %rN, VALUE+k`: the address of the k-th map's value (global data: BPF_PSEUDO_MAP_VALUE). */
const VALUE = 0x7e590000;

/** One program (conformance syntax, with the MAP/FUNC markers above) and its maps as an object. */
function object(text: string, type: number, maps: MapSpec[]): ObjectSpec {
  const refs: MapReference[] = [];
  const insns = asm(text).map((i): Instruction => {
    if (i.code !== OP_LDDW || i.imm2 !== 0) return i;
    if (i.imm >= MAP && i.imm < MAP + 16) {
      refs.push({ pc: i.pc, map: maps[i.imm - MAP]!.name, kind: 'fd', offset: 0 });
      return { ...i, src: BPF_PSEUDO_MAP_FD, imm: 0 };
    }
    if (i.imm >= VALUE && i.imm < VALUE + 16) {
      refs.push({ pc: i.pc, map: maps[i.imm - VALUE]!.name, kind: 'value', offset: 0 });
      return { ...i, src: BPF_PSEUDO_MAP_VALUE, imm: 0 };
    }
    if (i.imm >= FUNC && i.imm < FUNC + 0x10000) return { ...i, src: BPF_PSEUDO_FUNC, imm: i.imm - FUNC - i.pc - 1 };
    return i;
  });
  return {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps,
    programs: [{ name: 'p', section: 's', type, insns, mapRefs: refs, license: 'GPL', kernelVersion: 0 }],
  };
}

function load(
  engine: EngineKind,
  text: string,
  type: number,
  maps: MapSpec[],
  budget?: number,
  cpus = 1,
): VmCollection {
  return loadVmCollection(object(text, type, maps), { cpus, execution: engine, ...(budget ? { budget } : {}) });
}

const frame = new Uint8Array(64).fill(0xab);

/** Run once; the VmError (if any) and every map's contents afterwards, so engines can be compared whole. */
function outcome(c: VmCollection, data = frame): { result: string; maps: Record<string, string> } {
  let result: string;
  try {
    result = `retval ${c.program('p').run({ data }).retval}`;
  } catch (err) {
    if (!(err instanceof VmError)) throw err;
    result = `${err.kind}: ${err.message}`;
  }
  const maps: Record<string, string> = {};
  for (const [name, m] of c.maps) if (m.slab) maps[name] = Buffer.from(m.slab).toString('hex');
  return { result, maps };
}

/** Every engine gives the same outcome (error text and maps included); returns it. */
function agreed(
  make: (engine: EngineKind) => VmCollection,
  data = frame,
): { result: string; maps: Record<string, string> } {
  const [first, ...rest] = ENGINES.map((e) => outcome(make(e), data));
  for (const o of rest) assert.deepEqual(o, first);
  return first!;
}

/** Stores putting a NUL-terminated string on the stack at r10 - 16 (at most 15 characters). */
function stackString(s: string): string {
  const bytes = new Uint8Array(16);
  bytes.set(new TextEncoder().encode(s));
  const dv = new DataView(bytes.buffer);
  return [0, 4, 8, 12].map((o) => `stw [%r10-${16 - o}], ${dv.getInt32(o, true)}`).join('\n');
}

const lookupKey0 = (map: number) => `stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, ${MAP + map}\ncall 1`;

test('a pointer from a map lookup reaches that value only: its neighbour faults, both engines, maps untouched', () => {
  const maps = [mapSpec('a', MapType.ARRAY, 4, 8, 4)];
  const own = agreed((e) =>
    load(e, `${lookupKey0(0)}\njeq %r0, 0, +2\nstdw [%r0+0], 7\nmov %r0, 1\nexit`, ProgType.XDP, maps),
  );
  assert.equal(own.result, 'retval 1');
  assert.equal(own.maps.a!.slice(0, 16), '0700000000000000');
  // lookup(0), then *(u64 *)(r0 + 8): key 1's value
  const next = agreed((e) =>
    load(e, `${lookupKey0(0)}\njeq %r0, 0, +2\nstdw [%r0+8], 7\nmov %r0, 1\nexit`, ProgType.XDP, maps),
  );
  assert.match(
    next.result,
    /^access: .*pc 7 .*leaves the element of region 'map a values' its pointer was derived from \(element size 8\)/,
  );
  assert.equal(next.maps.a, '00'.repeat(32), 'no value was written');
  // reading before the value, and a helper handed a pointer that runs into the next value
  const before = agreed((e) =>
    load(e, `${lookupKey0(0)}\njeq %r0, 0, +2\nldxdw %r0, [%r0-8]\nexit\nexit`, ProgType.XDP, [
      mapSpec('b', MapType.ARRAY, 4, 8, 4),
    ]),
  );
  assert.match(before.result, /^access: /);
  const helperSpan = agreed((e) =>
    load(
      e,
      `${lookupKey0(0)}\njeq %r0, 0, +7\nmov %r3, %r0\nadd %r3, 4\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, ${MAP}\ncall 2\nexit`,
      ProgType.XDP,
      maps,
    ),
  );
  assert.match(helperSpan.result, /^access: .*leaves the element of region 'map a values'/);
});

/** Run `c`'s program once through `path`: a context run, a copied packet run or an in-place packet run. */
function runOn(c: VmCollection, path: 'run' | 'copy' | 'in-place'): string {
  const p = c.program('p');
  try {
    if (path === 'run') return `retval ${p.run({ data: frame }).retval}`;
    if (path === 'copy') return `retval ${p.runPacket(frame)}`;
    const buf = new Uint8Array(frame.length + 40);
    buf.set(frame, 20);
    return `retval ${p.runPacketAt(buf, 20, frame.length)}`;
  } catch (err) {
    if (!(err instanceof VmError)) throw err;
    return `${err.kind}: ${err.message}`;
  }
}

test('pointer arithmetic keeps a value pointer in its value: every map kind, global data and callbacks, both engines, every packet path', () => {
  const kinds: [string, number][] = [
    ['array', MapType.ARRAY],
    ['percpu array', MapType.PERCPU_ARRAY],
    ['hash', MapType.HASH],
    ['lru hash', MapType.LRU_HASH],
    ['percpu hash', MapType.PERCPU_HASH],
    ['lru percpu hash', MapType.LRU_PERCPU_HASH],
  ];
  // keys 0..3 get values (update with r3 -> 8 bytes of 5 at r10-16), then lookup(0) and `move` r0 before a store
  const update = (k: number) =>
    `stw [%r10-4], ${k}\nmov %r2, %r10\nadd %r2, -4\nmov %r3, %r10\nadd %r3, -16\nlddw %r1, ${MAP}\nmov %r4, 0\ncall 2`;
  const attack = (move: string) =>
    `stdw [%r10-16], 5\n${[0, 1, 2, 3].map(update).join('\n')}\n${lookupKey0(0)}\njeq %r0, 0, +3\n${move}\nstdw [%r0+0], 7\nmov %r0, 1\nexit\nexit`;
  const moves = {
    'r0 += 8 (the next value)': 'add %r0, 8',
    'r0 -= 8': 'add %r0, -8',
    'r0 += 16 from a register': 'mov %r5, 16\nadd %r0, %r5',
    'a 32-bit move drops the pointer': 'mov32 %r0, %r0',
    'r0 += 4, then 4 more': 'add %r0, 4\nadd %r0, 4',
  };
  for (const [kind, type] of kinds) {
    const maps = [mapSpec('m', type, 4, 8, 4)];
    for (const [what, move] of Object.entries(moves)) {
      for (const path of ['run', 'copy', 'in-place'] as const) {
        const outcomes = ENGINES.map((e) => {
          const c = load(e, attack(move), ProgType.SOCKET_FILTER, maps, undefined, 2);
          const result = runOn(c, path);
          return { result, values: Buffer.from(c.map('m').slab!).toString('hex') };
        });
        for (const o of outcomes) assert.deepEqual(o, outcomes[0], `${kind}, ${what}, ${path}: engines agree`);
        const o = outcomes[0]!;
        assert.match(
          o.result,
          /^access: .*(leaves the element|not derived from a pointer)/,
          `${kind}, ${what}, ${path}`,
        );
        assert.ok(!Buffer.from(o.values, 'hex').includes(7), `${kind}, ${what}, ${path}: no value was written`);
      }
    }
    // the pointer's own value, reached after arithmetic that stays inside it
    const own = load('jit', attack('add %r0, 4\nadd %r0, -4'), ProgType.SOCKET_FILTER, maps, undefined, 2);
    assert.equal(runOn(own, 'copy'), 'retval 1', kind);
  }
  // global data: a value's address from lddw reaches that value only (two values of 8 bytes side by side)
  const data = [mapSpec('.data', MapType.ARRAY, 4, 8, 1), mapSpec('.bss', MapType.ARRAY, 4, 8, 1)];
  for (const move of ['add %r0, 8', 'mov32 %r0, %r0', 'add %r0, -8']) {
    const o = agreed((e) =>
      load(e, `lddw %r0, ${VALUE}\n${move}\nstdw [%r0+0], 7\nmov %r0, 1\nexit`, ProgType.XDP, data),
    );
    assert.match(o.result, /^access: /, move);
  }
  assert.equal(
    agreed((e) => load(e, `lddw %r0, ${VALUE}\nstdw [%r0+0], 7\nmov %r0, 1\nexit`, ProgType.XDP, data)).result,
    'retval 1',
  );
  // a for_each_map_elem callback's value pointer: its own value, not the next
  for (const [kind, type] of kinds.filter(([k]) => !k.includes('percpu'))) {
    const maps = [mapSpec('m', type, 4, 8, 4)];
    const walk = (body: string) =>
      `stdw [%r10-16], 5\n${[0, 1].map(update).join('\n')}\nlddw %r1, ${MAP}\nlddw %r2, ${FUNC + 0}\nmov %r3, 0\nmov %r4, 0\ncall 164\nexit\n${body}\nmov %r0, 0\nexit`;
    const text = (body: string) => {
      const pre = walk(body);
      // the callback starts after the main program's exit: find its slot by assembling the prefix
      const slot = asm(pre.slice(0, pre.indexOf('exit\n') + 4)).reduce((n, i) => n + (i.code === OP_LDDW ? 2 : 1), 0);
      return walk(body).replace(`${FUNC + 0}`, `${FUNC + slot}`);
    };
    const fine = agreed((e) => load(e, text('stdw [%r3+0], 9'), ProgType.XDP, maps));
    assert.equal(fine.result, kind === 'array' ? 'retval 4' : 'retval 2', kind);
    const bad = agreed((e) => load(e, text('add %r3, 8\nstdw [%r3+0], 7'), ProgType.XDP, maps));
    assert.match(bad.result, /^access: .*leaves the element/, kind);
  }
});

test('ring buffer: a record pointer reaches its own record until submitted; headers cannot be rewritten; the consumer checks lengths', () => {
  const rb = [mapSpec('rb', MapType.RINGBUF, 0, 0, 8192)];
  const reserve = `lddw %r1, ${MAP}\nmov %r2, 16\nmov %r3, 0\ncall 131\njeq %r0, 0, +N`;
  const prog = (body: string) =>
    `${reserve.replace('+N', `+${body.split('\n').length + 3}`)}\n${body}\nmov %r1, %r0\nmov %r2, 0\ncall 132\nmov %r0, 1\nexit`;
  for (const engine of ENGINES) {
    const c = load(engine, prog('stdw [%r0+8], 5'), ProgType.XDP, rb);
    assert.equal(outcome(c).result, 'retval 1');
    assert.deepEqual(
      (c.map('rb') as RingBufMap).consume().map((r) => Buffer.from(r).toString('hex')),
      ['00000000000000000500000000000000'],
    );
  }
  // the issue's reproducer: overwrite the header (reserved - 8) with a huge length, then submit
  const header = agreed((e) => load(e, prog('stw [%r0-8], 0x3ffffff0'), ProgType.XDP, rb));
  assert.match(header.result, /^access: .*leaves the record of region 'map rb values' its pointer was derived from/);
  // past the record's 16 bytes (anywhere else in the ring)
  assert.match(
    agreed((e) => load(e, prog('stdw [%r0+16], 5'), ProgType.XDP, rb)).result,
    /^access: .*leaves the record/,
  );
  assert.match(
    agreed((e) => load(e, prog('mov %r6, %r0\nadd %r6, 2048\nstdw [%r6+0], 5'), ProgType.XDP, rb)).result,
    /^access: .*leaves the record/,
  );
  // after submit the pointer is dead
  const late = `${reserve.replace('+N', '+7')}\nmov %r6, %r0\nmov %r1, %r0\nmov %r2, 0\ncall 132\nstdw [%r6+0], 5\nmov %r0, 1\nexit\nexit`;
  assert.match(agreed((e) => load(e, late, ProgType.XDP, rb)).result, /^access: .*leaves the record/);

  // The consumer never trusts a header: one corrupted behind the VM's back ends consumption, quickly and small.
  const c = load('interpreter', prog('stdw [%r0+0], 5'), ProgType.XDP, rb);
  outcome(c);
  const m = c.map('rb') as RingBufMap;
  new DataView(m.slab!.buffer).setUint32(0, 0x3ffffff0, true);
  assert.deepEqual(m.consume(), []);
  assert.equal(m.query(0), 0, 'the corrupt rest of the ring was dropped');
});

test('bpf_trace_printk formats at most 1,023 characters, however wide the conversion', () => {
  for (const engine of ENGINES) {
    const c = load(
      engine,
      `${stackString('%536870000d')}\nmov %r1, %r10\nadd %r1, -16\nmov %r2, 12\nmov %r3, 42\ncall 6\nexit`,
      ProgType.XDP,
      [],
    );
    const t0 = performance.now();
    const r = c.program('p').run({ data: frame });
    assert.ok(performance.now() - t0 < 1000, 'no 512 MB line was built');
    assert.equal(c.trace.length, 1);
    assert.equal(c.trace[0]!.length, 1023);
    assert.equal(c.trace[0], ' '.repeat(1023), 'the number would come after the 1,023rd column');
    assert.equal(r.retval, 1023);
  }
});

test('helper work is charged to the budget: csum_diff over a 4 MiB value inside bpf_loop x100,000 ends in a budget fault', () => {
  const maps = [mapSpec('big', MapType.ARRAY, 4, 4 << 20, 1)];
  // main: r3 = the value; bpf_loop(100000, cb, r3, 0). cb(i, ctx): csum_diff(NULL, 0, ctx, 4 MiB, 0); return 0
  const text = `${lookupKey0(0)}
jeq %r0, 0, +6
mov %r3, %r0
mov %r1, 100000
lddw %r2, ${FUNC + 14}
mov %r4, 0
call 181
exit
mov %r3, %r2
mov %r1, 0
mov %r2, 0
mov %r4, ${4 << 20}
mov %r5, 0
call 28
mov %r0, 0
exit`;
  const t0 = performance.now();
  const o = agreed((e) => load(e, text, ProgType.XDP, maps));
  assert.ok(performance.now() - t0 < 10_000, 'bounded by the budget, not by 100,000 checksums of 4 MiB');
  assert.match(o.result, /^budget: .*pc 19 .*instruction budget of 1000000/);
});

test('helper charges on a loop-free program: both engines fault at the same place for every budget', () => {
  const maps = [mapSpec('v', MapType.ARRAY, 4, 4096, 1)];
  // lookup; csum_diff over the 4 KiB value (64 instructions of work); then a few stores into the value
  const text = `${lookupKey0(0)}\njeq %r0, 0, +11\nmov %r6, %r0\nmov %r1, 0\nmov %r2, 0\nmov %r3, %r6\nmov %r4, 4096\nmov %r5, 0\ncall 28\nstdw [%r6+0], 1\nstdw [%r6+8], 2\nstdw [%r6+16], 3\nexit\nexit`;
  const seen = new Set<string>();
  for (let budget = 70; budget <= 90; budget++)
    seen.add(agreed((e) => load(e, text, ProgType.XDP, maps, budget)).result);
  assert.ok(
    [...seen].some((r) => r.startsWith('budget')) && [...seen].some((r) => r.startsWith('retval')),
    [...seen].join(' | '),
  );
  assert.ok(seen.size >= 4, 'faults at the helper, at each store after it, and success');
});

test("callx obeys the program type's helper set: refused with the helper named, never a raw exception", () => {
  // a socket filter calling xdp_adjust_head (44), an XDP program calling skb_vlan_push (18)
  for (const [type, id] of [
    [ProgType.SOCKET_FILTER, 44],
    [ProgType.XDP, 18],
  ] as const) {
    const o = agreed((e) => load(e, `mov %r1, 0\nmov %r2, 0\nmov %r3, 0\nmov %r6, ${id}\ncall %r6\nexit`, type, []));
    assert.match(
      o.result,
      new RegExp(`^helper: .*pc 4 .*callx: bpf_\\w+ \\(${id}\\) may not be called by this program$`),
    );
  }
  // a helper the type may call still works through callx
  assert.equal(agreed((e) => load(e, 'mov %r6, 7\ncall %r6\nmov %r0, 3\nexit', ProgType.XDP, [])).result, 'retval 3');
});

test('a callback pointer must be a real function pointer: a forged one faults identically on both engines', () => {
  // bpf_loop(3, fn, 0, 0) with fn = slot 9 (the callback's entry, named by the lddw at slot 7) or slot 10
  // (its second instruction: a forgery with the right tag and program id)
  const text = (fnLo: number, fnHi: number) =>
    `mov %r1, 3\nlddw %r2, 0x${((BigInt(fnHi >>> 0) << 32n) | BigInt(fnLo)).toString(16)}\nmov %r3, 0\nmov %r4, 0\ncall 181\nexit\nlddw %r9, ${FUNC + 9}\nmov %r0, 0\nmov %r0, 0\nexit`;
  assert.equal(agreed((e) => load(e, text(9, FUNC_TAG), ProgType.XDP, [])).result, 'retval 3');
  const forged = agreed((e) => load(e, text(10, FUNC_TAG), ProgType.XDP, []));
  assert.match(forged.result, /^helper: .*pc 5 .*0x400000000000000a is not a callback function pointer/);
  for (const lo of [0, 5, 7, 8, 11, 1000]) {
    assert.match(
      agreed((e) => load(e, text(lo, FUNC_TAG), ProgType.XDP, [])).result,
      /is not a callback function pointer/,
    );
  }
});

test('stacks start clean every run, even a frame the last run reached only by pointer arithmetic', () => {
  for (const engine of ENGINES) {
    const vm = new Vm({ engine });
    const frames = vm.memory.mapped().filter((r) => r.name.startsWith('stack frame'));
    const top0 = frames[0]!.base + 512;
    // r1 = distance from r10 to a word of another frame; r2 = 1: store 77 there; then read it back
    const p = vm.load(asm('mov %r3, %r10\nadd %r3, %r1\njeq %r2, 0, +1\nstdw [%r3+0], 77\nldxdw %r0, [%r3+0]\nexit'));
    for (const f of frames) {
      const delta = f.base + 64 - top0;
      assert.equal(vm.run(p, { args: [delta, 1] }).r0, 77n);
      assert.equal(vm.run(p, { args: [delta, 0] }).r0, 0n, `${engine}: ${f.name} was zeroed`);
    }
  }
});

test("runPacketAt is indistinguishable from a copied run, even when a helper's pointer is aimed at the packet buffer", () => {
  const maps = [mapSpec('seen', MapType.ARRAY, 4, 8, 1)];
  for (const engine of ENGINES) {
    // map_update_elem(seen, &0, <packet buffer address of the frame's first byte>, 0): copies 8 frame bytes
    const text = (dataAddr: number) =>
      `stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nlddw %r3, 0x${dataAddr.toString(16)}\nlddw %r1, ${MAP}\nmov %r4, 0\ncall 2\nmov %r0, 0\nexit`;
    const dataAddr = load(engine, text(0), ProgType.SOCKET_FILTER, maps).packetBuffer().base + 256;
    const inPlace = load(engine, text(dataAddr), ProgType.SOCKET_FILTER, maps);
    const copied = load(engine, text(dataAddr), ProgType.SOCKET_FILTER, maps);
    assert.equal(inPlace.packetBuffer().base, dataAddr - 256, 'same layout in every collection');
    assert.ok(readsPacketOnlyByLdAbs(inPlace.program('p').loaded), 'the program takes the in-place path');
    const a = new Uint8Array(60).fill(0xaa);
    const b = new Uint8Array(60).fill(0xbb);
    const buf = new Uint8Array(200);
    buf.set(b, 70);
    for (const c of [inPlace, copied]) c.program('p').runPacket(a); // the packet buffer now holds frame a
    inPlace.program('p').runPacketAt(buf, 70, 60);
    copied.program('p').runPacket(b);
    const seen = (c: VmCollection) => Buffer.from(c.map('seen').lookup(new Uint8Array(4))!).toString('hex');
    assert.equal(seen(copied), 'bb'.repeat(8));
    assert.equal(seen(inPlace), seen(copied), `${engine}: the in-place run saw the current frame`);
  }
});

test('after a budget fault both engines leave the same maps (the jit never skips the stores before the fault)', () => {
  const maps = [mapSpec('c', MapType.ARRAY, 4, 64, 1)];
  // a loop whose body stores a counter into eight words of the value, one after another
  const stores = Array.from({ length: 8 }, (_, i) => `stxdw [%r6+${i * 8}], %r7`).join('\n');
  const text = `${lookupKey0(0)}\njeq %r0, 0, +12\nmov %r6, %r0\nmov %r7, 0\nadd %r7, 1\n${stores}\nja -10\nexit`;
  const results = new Set<string>();
  for (let budget = 20; budget <= 45; budget++) {
    const o = agreed((e) => load(e, text, ProgType.XDP, maps, budget));
    assert.match(o.result, /^budget: /);
    results.add(o.maps.c!);
  }
  assert.ok(results.size > 8, 'the budgets stop the loop at many different stores');
});

test('a 20,000,000-entry array map costs nothing until used', () => {
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const c = load(
    'jit',
    `stw [%r10-4], 19999999\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, ${MAP}\ncall 1\njeq %r0, 0, +2\nstdw [%r0+0], 9\nmov %r0, 1\nexit`,
    ProgType.XDP,
    [mapSpec('huge', MapType.ARRAY, 4, 8, 20_000_000)],
  );
  assert.equal(c.program('p').run({ data: frame }).retval, 1);
  assert.ok(performance.now() - t0 < 2000, `loaded and ran in ${(performance.now() - t0).toFixed(0)} ms`);
  assert.ok(process.memoryUsage().rss - before < 64 << 20, 'the 160 MB of values were not touched');
  const key = new Uint8Array(new Uint32Array([19_999_999]).buffer);
  assert.equal(Buffer.from(c.map('huge').lookup(key)!).toString('hex'), '0900000000000000');
});
