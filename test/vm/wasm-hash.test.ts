// Hash and LRU hash maps inside the WebAssembly module (src/vm/wasm/hash-lookup.ts): the same runs on the
// interpreter, jit and wasm give the same results, the same map contents in the same get-next-key (LRU)
// order, and the same faults — with userspace updates and deletes in between, evictions, a full map, the
// bucket growth JavaScript makes, word and byte-sized keys — and on wasm they do not call the helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { BPF_PSEUDO_MAP_FD, type Instruction } from '../../src/isa/index.js';
import { loadVmCollection, type VmCollection } from '../../src/vm/collection.js';
import { ENGINES, type EngineKind } from '../../src/vm/interpreter.js';
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { MapReference, MapSpec, ObjectSpec } from '../../src/elf/spec.js';
import { mapSpec } from '../support/map-spec.js';
import { preferredEngine } from '../../src/vm/wasm/preference.js';
import { HashMap } from '../../src/vm/maps/hash.js';

const MAP = 0x5eed00;

/**
 * The program: a key of the map's size at r10-40 from the frame's bytes 0..7 (the rest zero), a value at
 * r10-48 from bytes 12..15 (plus 16..19 in the upper half); byte 8 the operation (0 lookup and add 1 through
 * the pointer, 1 update with flags byte 9, 2 delete, 3 lookup and store past the value: a fault), byte 10
 * the map. r0: the helper's result (a lookup: the value read, or 0xdead when absent).
 */
const TEXT = `
ldabsw 0
stxw [%r10-40], %r0
ldabsw 4
stxw [%r10-36], %r0
ldabsw 12
stxw [%r10-48], %r0
ldabsw 16
stxw [%r10-44], %r0
ldabsb 9
mov %r8, %r0
ldabsb 8
mov %r7, %r0
ldabsb 10
jeq %r0, 1, m1
jeq %r0, 2, m2
jeq %r0, 3, m3
lddw %r1, ${MAP}
ja go
m1:
lddw %r1, ${MAP + 1}
ja go
m2:
lddw %r1, ${MAP + 2}
ja go
m3:
lddw %r1, ${MAP + 3}
go:
mov %r2, %r10
add %r2, -40
jeq %r7, 1, update
jeq %r7, 2, delete
call 1
jeq %r0, 0, absent
jeq %r7, 3, past
ldxdw %r3, [%r0+0]
add %r3, 1
stxdw [%r0+0], %r3
mov %r0, %r3
exit
past:
stdw [%r0+8], 1
exit
absent:
mov %r0, 0xdead
exit
update:
mov %r3, %r10
add %r3, -48
mov %r4, %r8
call 2
exit
delete:
call 3
exit
`;

const MAPS = (): MapSpec[] => [
  mapSpec('lru', MapType.LRU_HASH, 40, 8, 4),
  mapSpec('small', MapType.HASH, 6, 8, 3),
  mapSpec('grows', MapType.HASH, 8, 8, 200),
  mapSpec('pcpu', MapType.PERCPU_HASH, 8, 8, 4),
];

function spec(): ObjectSpec {
  const maps = MAPS();
  const refs: MapReference[] = [];
  const insns = assemble(TEXT, { syntax: 'conformance', source: 'hash' }).map((i): Instruction => {
    if (i.code !== 0x18 || i.imm < MAP || i.imm >= MAP + maps.length) return i;
    refs.push({ pc: i.pc, map: maps[i.imm - MAP]!.name, kind: 'fd', offset: 0 });
    return { ...i, src: BPF_PSEUDO_MAP_FD, imm: 0 };
  });
  const program = {
    name: 'p',
    section: 'socket',
    type: ProgType.SOCKET_FILTER,
    insns,
    mapRefs: refs,
    license: 'GPL',
    kernelVersion: 0,
  };
  return { endian: 'little', license: 'GPL', kernelVersion: 0, maps, programs: [program] };
}

/** A frame: key words a, b; operation; flags; map; value. */
function frame(a: number, b: number, op: number, flags: number, map: number, value: number): Uint8Array {
  const f = new Uint8Array(24);
  const dv = new DataView(f.buffer);
  dv.setUint32(0, a);
  dv.setUint32(4, b);
  f[8] = op;
  f[9] = flags;
  f[10] = map;
  dv.setUint32(12, value);
  dv.setUint32(16, value ^ 0x5a5a5a5a);
  return f;
}

type Step = { frame: Uint8Array } | { user: (c: VmCollection) => unknown };

/** A deterministic mixed workload (xorshift). */
function steps(seed: number): Step[] {
  let x = seed;
  const r = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const out: Step[] = [];
  for (let i = 0; i < 900; i++) {
    const map = r() % 4;
    const keys = map === 2 ? 150 : 8;
    const a = r() % keys;
    const b = r() % 3 === 0 ? 0x01020304 : 0;
    if (r() % 25 === 0) {
      const name = MAPS()[map]!.name;
      const key = new Uint8Array(MAPS()[map]!.keySize);
      const dv = new DataView(key.buffer);
      dv.setUint32(0, a);
      if (key.length >= 8) dv.setUint32(4, b);
      else key.set([b >>> 24, (b >>> 16) & 0xff], 4);
      const v = new Uint8Array(8).fill(i & 0xff);
      out.push({
        user: (c) => {
          const m = c.maps.get(name)!;
          try {
            if (r() % 2) return m.delete(key);
            m.update(key, v);
            return 'updated';
          } catch (err) {
            return (err as Error).message;
          }
        },
      });
      continue;
    }
    const op = r() % 10 < 5 ? 0 : r() % 10 < 7 ? 1 : r() % 30 === 0 ? 3 : 2;
    const flags = [0, 0, 0, 1, 2, 4, 5, 8][r() % 8]!;
    out.push({ frame: frame(a, b, op, flags, map, r()) });
  }
  return out;
}

function dump(c: VmCollection): unknown {
  const maps: Record<string, string[]> = {};
  for (const [name, m] of c.maps) {
    maps[name] = [...m.entries()].map(
      ([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`,
    );
  }
  return maps;
}

/** Every step's result (retval or fault message) and every map's contents after it on one engine. */
function outcome(engine: EngineKind, seed: number, helperCalls?: Map<number, number>): unknown[] {
  const c = loadVmCollection(spec(), { execution: engine, cpus: 2 });
  if (helperCalls) {
    for (const id of [1, 2, 3]) {
      const h = c.vm.helpers.get(id)!;
      c.vm.helpers.register(id, h.name, (call) => {
        helperCalls.set(id, (helperCalls.get(id) ?? 0) + 1);
        h.fn(call);
      });
    }
  }
  const p = c.program('p');
  const out: unknown[] = [];
  for (const s of steps(seed)) {
    if ('user' in s) out.push(s.user(c));
    else {
      try {
        out.push(p.run({ data: s.frame }).retval);
      } catch (err) {
        out.push((err as Error).message);
      }
    }
    out.push(dump(c));
  }
  return out;
}

test('wasm hash maps: results, map contents and order, and faults agree with the interpreter and jit', () => {
  for (const seed of [1, 77, 4242]) {
    const ref = outcome('interpreter', seed);
    for (const engine of ENGINES) {
      if (engine === 'interpreter') continue;
      const got = outcome(engine, seed);
      for (let i = 0; i < ref.length; i++) assert.deepEqual(got[i], ref[i], `${engine}, seed ${seed}, step ${i >> 1}`);
    }
  }
});

test('wasm hash maps: lookups, updates and deletes of placed hash maps stay inside the module', () => {
  // only the per-CPU map (not placed in the module's table) and what the module declines reach the helpers
  const onlyPlaced = (seed: number): Map<number, number> => {
    const calls = new Map<number, number>();
    const c = loadVmCollection(spec(), { execution: 'wasm', cpus: 1 });
    for (const id of [1, 2, 3]) {
      const h = c.vm.helpers.get(id)!;
      c.vm.helpers.register(id, h.name, (call) => {
        calls.set(id, (calls.get(id) ?? 0) + 1);
        h.fn(call);
      });
    }
    for (const m of c.maps.values()) if (m instanceof HashMap && m.valuesPerKey === 1) assert.ok(m.table.block);
    const p = c.program('p');
    // LRU with 40-byte keys: inserts, evictions, hits, updates of present keys, deletes
    for (let i = 0; i < 50; i++) p.run({ data: frame(i % 6, seed, 1, 0, 0, i) });
    for (let i = 0; i < 50; i++) p.run({ data: frame(i % 6, seed, 0, 0, 0, i) });
    for (let i = 0; i < 6; i++) p.run({ data: frame(i, seed, 2, 0, 0, i) });
    // 6-byte keys
    for (let i = 0; i < 20; i++) p.run({ data: frame(i % 4, 0, i % 3, 0, 1, i) });
    return calls;
  };
  const calls = onlyPlaced(9);
  assert.deepEqual([...calls.entries()], []);
  // the helper counter does count (the same runs on jit call them)
  const jit = new Map<number, number>();
  outcome('jit', 3, jit);
  assert.ok((jit.get(1) ?? 0) > 100 && (jit.get(2) ?? 0) > 10 && (jit.get(3) ?? 0) > 10);
});

test('wasm hash maps: the default engine is wasm for hash and LRU hash maps that fit, jit for per-CPU ones', () => {
  const s = spec();
  assert.equal(preferredEngine(s), 'jit'); // (the per-CPU hash)
  s.maps = s.maps.slice(0, 3);
  s.programs[0]!.mapRefs = s.programs[0]!.mapRefs.filter((r) => r.map !== 'pcpu');
  assert.equal(preferredEngine(s), 'wasm');
  s.maps[2] = mapSpec('grows', MapType.HASH, 64, 8, 1 << 20);
  assert.equal(preferredEngine(s), 'jit'); // (too big for linear memory: the helper would run every time)
});
