// bpf_tail_call and bpf_skb_load_bytes inside the wasm engine's modules (src/vm/wasm/tail-call.ts,
// skb-load-bytes.ts): tc objects run on the interpreter, jit and wasm must give the same results, faults
// (kind, pc, program, message), instruction counts and maps — through chains of stages, the 33-call
// limit, empty and out-of-range slots, prog arrays changed between runs, budgets running out on either
// side of a tail call, and skb_load_bytes at the edges of the packet and of the frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { loadVmCollection, type VmCollection } from '../../src/vm/collection.js';
import { ENGINES } from '../../src/vm/interpreter.js';
import { VmError } from '../../src/vm/vm-error.js';
import { MapType } from '../../src/uapi/types.js';
import { mapSpec } from '../support/map-spec.js';
import { MAP, tcProgram } from './support.js';
import { repoPath } from '../support/env.js';
import { frames } from '../programs/packets.js';
import { preferredEngine } from '../../src/vm/wasm/preference.js';

const ARR = MAP;
const PROGS = MAP + 1;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u32 = (n: number) => Uint8Array.of(n, n >>> 8, n >>> 16, n >>> 24);

/** A tc object: an array `arr` (8 u64), a prog array `progs` (4 slots: `slots` name their programs). */
function object(programs: Record<string, string>, slots: (string | undefined)[] = []): ObjectSpec {
  const progs = mapSpec('progs', MapType.PROG_ARRAY, 4, 4, 4);
  progs.contents = slots.flatMap((p, i) => (p ? [{ key: u32(i), value: { program: p } }] : []));
  const maps = [mapSpec('arr', MapType.ARRAY, 4, 8, 8), progs];
  return {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps,
    programs: Object.entries(programs).map(([name, text]) => tcProgram(name, text, maps)),
  };
}

/** What a run gave: its retval and instruction count, or the fault. */
function outcome(f: () => { retval: number; instructions: number }): string {
  try {
    const r = f();
    return `retval ${r.retval} in ${r.instructions}`;
  } catch (err) {
    if (!(err instanceof VmError)) throw err;
    return `${err.kind} at ${err.pc} in ${err.program}: ${err.message}`;
  }
}

/** Every map's contents. */
function dump(c: VmCollection, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const m = c.map(name);
    out[name] = [...m.keys()]
      .map((k) => {
        const v = m.lookup(k);
        return `${hex(k)}=${v ? hex(v) : '-'}`;
      })
      .sort()
      .join(' ');
  }
  return out;
}

type Steps = (c: VmCollection) => string[];

/** Run `steps` on a fresh collection per engine: every engine's outcomes and maps are the interpreter's. */
function agree(spec: ObjectSpec, steps: Steps, budget?: number): string[] {
  let reference: { out: string[]; maps: Record<string, string> } | undefined;
  for (const engine of ['interpreter', ...ENGINES.filter((e) => e !== 'interpreter')] as const) {
    const c = loadVmCollection(spec, { cpus: 1, execution: engine, ...(budget ? { budget } : {}) });
    const got = {
      out: steps(c),
      maps: dump(
        c,
        spec.maps.map((m) => m.name),
      ),
    };
    c.close();
    if (reference === undefined) reference = got;
    else assert.deepEqual(got, reference, `${engine} differs from the interpreter`);
  }
  return reference!.out;
}

const runs =
  (program: string, data: Uint8Array, times = 1, repeat = 1): Steps =>
  (c) =>
    Array.from({ length: times }, () => outcome(() => c.program(program).run({ data, repeat })));

const frame = frames.http();

// entry: r7 = 7, a stack word, r4 = 99, tail call slot 0 (or r0 = 1000 when it fails)
const ENTRY = `
mov %r6, %r1
mov %r7, 7
stdw [%r10-8], 0x55
lddw %r2, ${PROGS}
mov %r3, 0
mov %r4, 99
call 12
add %r0, 1000
exit`;
// tail1: what it starts with (r0 = 0, r4, r7, the stack word, r1 = the context), then slot 1
const TAIL1 = `
mov %r8, %r0
add %r8, %r4
add %r8, %r7
ldxdw %r5, [%r10-8]
add %r8, %r5
stxdw [%r10-16], %r8
ldxw %r5, [%r1+0]
stxdw [%r10-24], %r5
lddw %r2, ${PROGS}
mov %r3, 1
call 12
mov %r0, 2000
exit`;
const TAIL2 = `
ldxdw %r0, [%r10-16]
ldxdw %r5, [%r10-24]
add %r0, %r5
mul %r0, 3
exit`;

test('wasm tail calls: a chain of stages starts each with r0 = 0, the registers, the frame and the context the call left', () => {
  const spec = object({ entry: ENTRY, tail1: TAIL1, tail2: TAIL2 }, ['tail1', 'tail2']);
  const out = agree(spec, runs('entry', frame, 3, 4));
  // entry's 7 instructions, tail1's 11, tail2's 5; skb->len is the frame's length
  assert.equal(out[0], `retval ${(99 + 7 + 0x55 + frame.length) * 3} in 23`);
});

test('wasm tail calls: 33 per run, then -ENOENT and the program goes on — also inside the repeat loop', () => {
  // self: arr[0] += 1, tail call itself through slot 2; when refused, r0 = the helper's answer
  const self = `
mov %r6, %r1
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, ${ARR}
call 1
jeq %r0, 0, +2
mov %r1, 1
lock add [%r0+0], %r1
mov %r1, %r6
lddw %r2, ${PROGS}
mov %r3, 2
call 12
exit`;
  const spec = object({ self }, [undefined, undefined, 'self']);
  const out = agree(spec, (c) => [...runs('self', frame, 2)(c), ...runs('self', frame, 1, 5)(c)]);
  // r0 = -ENOENT as a u32 retval; 34 runs of 13 instructions and the last one's exit
  assert.equal(out[0], `retval ${2 ** 32 - 2} in ${34 * 13 + 1}`);
  const c = loadVmCollection(spec, { cpus: 1, execution: 'wasm' });
  c.program('self').run({ data: frame, repeat: 5 });
  assert.equal(hex(c.map('arr').lookup(u32(0))!), hex(Uint8Array.of(5 * 34, 0, 0, 0, 0, 0, 0, 0)));
  c.close();
});

test('wasm tail calls: empty slots, indices out of range or with their upper half set, maps that are no prog array', () => {
  const bodies = new Map<string, string>([
    ['empty slot', `lddw %r2, ${PROGS}\nmov %r3, 3`],
    ['index = max_entries', `lddw %r2, ${PROGS}\nmov %r3, 4`],
    ['index -1', `lddw %r2, ${PROGS}\nmov %r3, -1`],
    ['index 2^32 (low half 0)', `lddw %r2, ${PROGS}\nlddw %r3, 0x100000000`],
    ['index 2^32 + 1', `lddw %r2, ${PROGS}\nlddw %r3, 0x100000001`],
    ['an array map', `lddw %r2, ${ARR}\nmov %r3, 0`],
    ['a handle naming nothing', `mov %r2, 1000\nmov %r3, 0`],
    ['the handle with its upper half set', `lddw %r2, ${PROGS}\nlddw %r4, 0x100000000\nadd %r2, %r4\nmov %r3, 0`],
  ]);
  const seen = new Set<string>();
  for (const [label, args] of bodies) {
    const entry = `mov %r6, %r1\n${args}\nmov %r1, %r6\ncall 12\nexit`;
    const out = agree(object({ entry, t: 'mov %r0, 77\nexit' }, ['t']), runs('entry', frame, 2));
    seen.add(out[0]!.split(' in ')[0]!);
    assert.equal(out[0], out[1], label);
  }
  // -ENOENT, the target's 77 and -EINVAL all occur
  assert.deepEqual([...seen].sort(), ['retval 4294967294', 'retval 4294967274', 'retval 77'].sort());
});

test('wasm tail calls: a prog array updated, emptied and refilled from userspace between runs', () => {
  const entry = `mov %r6, %r1\nlddw %r2, ${PROGS}\nmov %r3, 0\ncall 12\nmov %r0, 5\nexit`;
  const spec = object({ entry, a: 'mov %r0, 1\nexit', b: 'mov %r0, 2\nexit' }, ['a']);
  const out = agree(spec, (c) => {
    const progs = c.map('progs');
    const step = () => outcome(() => c.program('entry').run({ data: frame, repeat: 3 }));
    const out = [step()];
    progs.update(u32(0), u32(c.program('b').fd));
    out.push(step());
    progs.delete(u32(0));
    out.push(step());
    progs.update(u32(0), u32(c.program('a').fd));
    out.push(step());
    return out;
  });
  assert.deepEqual(
    out.map((o) => o.split(' in ')[0]),
    ['retval 1', 'retval 2', 'retval 5', 'retval 1'],
  );
});

test('wasm tail calls: the budget runs out at the same instruction before, at and after the call', () => {
  const spec = object({ entry: ENTRY, tail1: TAIL1, tail2: TAIL2 }, ['tail1', 'tail2']);
  const kinds = new Set<string>();
  for (let budget = 1; budget <= 32; budget++) {
    const out = agree(spec, runs('entry', frame, 1, 2), budget);
    kinds.add(out[0]!.split(' ')[0]!);
  }
  assert.deepEqual([...kinds].sort(), ['budget', 'retval']);
});

test('wasm tail calls: a fault in a tail-called program names that program; calls from a subprogram take the helper', () => {
  const faulty = object({ entry: ENTRY, tail1: TAIL1, tail2: 'ldxdw %r0, [%r1+4096]\nexit' }, ['tail1', 'tail2']);
  const out = agree(faulty, runs('entry', frame, 2, 3));
  assert.match(out[0]!, /^access at 0 in tail2: tail2: pc 0 /);
  // a local call that tail calls: the target's exit returns to the caller
  const local = `
mov %r6, %r1
call local f
add %r0, 100
exit
f:
lddw %r2, ${PROGS}
mov %r3, 0
call 12
exit`;
  const out2 = agree(object({ entry: local, t: 'mov %r0, 7\nexit' }, ['t']), runs('entry', frame, 2, 3));
  assert.equal(out2[0]!.split(' in ')[0], 'retval 107');
});

/** skb_load_bytes(ctx, off, dest, len) over a stack filled with 0xaa, then r0 = result mixed with the stack. */
function loadBytes(off: string, dest: string, len: string): string {
  const fill: string[] = [];
  for (let at = 8; at <= 512; at += 8) fill.push(`stdw [%r10-${at}], -0x55555556`);
  const mix: string[] = [];
  for (let at = 8; at <= 80; at += 8) mix.push(`ldxdw %r5, [%r10-${at}]`, 'mul %r0, 31', 'add %r0, %r5');
  mix.push('ldxdw %r5, [%r10-512]', 'add %r0, %r5');
  return [
    'mov %r6, %r1',
    ...fill,
    off.includes('\n') || off.startsWith('lddw') ? off : `mov %r2, ${off}`,
    dest,
    len.startsWith('lddw') ? len : `mov %r4, ${len}`,
    'mov %r1, %r6',
    'call 26',
    'mov %r7, %r0',
    ...mix,
    'xor %r0, %r7',
    'exit',
  ].join('\n');
}

test('wasm skb_load_bytes: offsets and lengths at the packet’s edges, destinations at the frame’s', () => {
  const n = frame.length;
  const at = (d: number) => `mov %r3, %r10\nadd %r3, ${d}`;
  const cases: [string, string, string][] = [
    ['0', at(-40), '20'],
    ['14', at(-8), '8'],
    [`${n - 8}`, at(-16), '8'],
    [`${n - 7}`, at(-16), '8'], // one byte past the end
    [`${n}`, at(-16), '1'],
    [`${n - 1}`, at(-16), '1'],
    ['0x7fffffff', at(-16), '1'],
    ['-1', at(-16), '4'], // 0xffffffff
    ['lddw %r2, 0x100000004', at(-16), '4'], // upper half ignored
    ['0', at(-16), '0'],
    ['0', at(-80), '63'],
    ['0', at(-80), '64'], // charged: the helper's path
    ['0', at(-512), '8'],
    ['0', at(-513), '8'], // below the frame: the helper faults
    ['0', at(-4), '8'], // past the frame's top
    ['0', at(-8), 'lddw %r4, 0x100000008'], // upper half ignored
    ['0', at(-8), '-1'],
    ['0', 'mov %r3, %r6', '4'], // the context
    ['0', 'mov %r3, 0', '4'],
    ['0', `${at(-16)}\nlddw %r5, 0x100000000\nadd %r3, %r5`, '4'], // a tagged-looking stack pointer
  ];
  const kinds = new Set<string>();
  for (const [off, dest, len] of cases) {
    const spec = object({ entry: loadBytes(off, dest, len) });
    const out = agree(spec, runs('entry', frame, 2, 3));
    kinds.add(out[0]!.split(' ')[0]!);
  }
  assert.deepEqual([...kinds].sort(), ['access', 'retval']);
});

test('wasm skb_load_bytes: a destination found only at run time is zeroed before the next run, in the repeat loop too', () => {
  // arr[0] += the stack word at -200 (0 in a fresh run), then skb_load_bytes(0, r10 + r9 = -200, 8)
  const entry = `
mov %r6, %r1
mov %r9, -200
ldxdw %r8, [%r10-200]
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, ${ARR}
call 1
jeq %r0, 0, +1
lock add [%r0+0], %r8
mov %r1, %r6
mov %r2, 0
mov %r3, %r10
add %r3, %r9
mov %r4, 8
call 26
ldxdw %r0, [%r10-200]
exit`;
  const spec = object({ entry });
  agree(spec, (c) => [...runs('entry', frame, 3)(c), ...runs('entry', frame, 1, 6)(c)]);
  const c = loadVmCollection(spec, { cpus: 1, execution: 'wasm' });
  c.program('entry').run({ data: frame, repeat: 6 });
  assert.equal(hex(c.map('arr').lookup(u32(0))!), '0000000000000000');
  c.close();
});

test('wasm: tunnel-monitor over every kind of tunnel, short frames and repeats gives the interpreter’s results and maps', () => {
  const spec = loadObjectFile(repoPath('examples', 'tunnel-monitor', 'tunnel-monitor.o'));
  const kinds = [frames.vxlan(42), frames.vxlan(0x123456), frames.gre(), frames.ipip(), frames.ipv6Udp()];
  const all = [...kinds, frames.http(), frames.arp()];
  // cut inside each header: skb_load_bytes past the end
  const short = kinds.flatMap((f) => [20, 30, 40, 50, 60].filter((k) => k < f.length).map((k) => f.subarray(0, k)));
  agree(spec, (c) => {
    const p = c.program('tunnel_entry');
    const out: string[] = [];
    for (const f of [...all, ...short]) out.push(outcome(() => p.run({ data: f })));
    for (const f of all) out.push(outcome(() => p.run({ data: f, repeat: 7 })));
    for (const f of [...all, ...short]) out.push(`packet ${p.runPacket(f)}`);
    return out;
  });
});

test('wasm: the default engine takes objects that tail call through a prog array and load bytes into the stack', () => {
  const entry = `mov %r6, %r1\nmov %r2, 0\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 8\ncall 26\nmov %r1, %r6\nlddw %r2, ${PROGS}\nmov %r3, 0\ncall 12\nexit`;
  const spec = object({ entry, t: 'mov %r0, 1\nexit' }, ['t']);
  assert.equal(preferredEngine(spec), 'wasm');
  // (hash maps stay in the module too; a per-CPU hash does not)
  assert.equal(preferredEngine({ ...spec, maps: [...spec.maps, mapSpec('h', MapType.HASH, 4, 4, 1)] }), 'wasm');
  assert.equal(preferredEngine({ ...spec, maps: [...spec.maps, mapSpec('h', MapType.PERCPU_HASH, 4, 4, 1)] }), 'jit');
});
