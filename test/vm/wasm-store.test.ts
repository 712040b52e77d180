// bpf_skb_store_bytes, bpf_l3_csum_replace and bpf_l4_csum_replace inside the wasm engine's modules
// (src/vm/wasm/skb-store-bytes.ts, csum-replace.ts) against the interpreter: results (r0's both halves,
// r1-r5 after the call), packets after the run, skb->hash, instruction counts and faults, for every flag
// combination the helpers know and at the edges of the packet and of the frame — run by run, in the
// repeat loop and in the packet loop (runPackets, frames of varying length one after another).
// Each program reads its arguments from the packet, so one program per helper covers every case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { loadVmCollection, type VmCollection } from '../../src/vm/collection.js';
import { ENGINES } from '../../src/vm/interpreter.js';
import { VmError } from '../../src/vm/vm-error.js';
import { ProgType } from '../../src/uapi/types.js';
import { SKB_SIZE } from '../../src/vm/contexts/skb.js';
import { csumReplace2, csumReplace4, csumReplaceByDiff } from '../../src/vm/helpers/checksum.js';
import { skbStoreBytes } from '../../src/vm/helpers/packet-helpers.js';
import { MEM_TOUCHED } from '../../src/vm/wasm/repeat-loop.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * r0 = (r0 ^ r0 >> 32) & 0xffff | fold(r1 + r2 + r3 + r4 + r5 + r7) << 16: the helper's result (both
 * halves) and the argument registers as the call left them.
 */
const MIX = `
mov %r9, %r0
rsh %r9, 32
xor %r0, %r9
and %r0, 0xffff
mov %r9, %r1
add %r9, %r2
add %r9, %r3
add %r9, %r4
add %r9, %r5
add %r9, %r7
mov %r8, %r9
rsh %r8, 32
xor %r9, %r8
lsh %r9, 16
or %r0, %r9
exit`;

/** The arguments from the packet's first 32 bytes (shorter packets: r0 = 0). */
const PARAMS = `
mov %r6, %r1
ldxw %r7, [%r6+76]
ldxw %r8, [%r6+80]
mov %r0, 0
mov %r9, %r7
add %r9, 32
jle %r9, %r8, +1
exit`;

/**
 * helper(skb, off, from, to, flags) with off, from, to, flags the packet's u64s at 0, 8, 16, 24.
 */
const csumProgram = (helper: number): string => `
${PARAMS}
ldxdw %r2, [%r7+0]
ldxdw %r3, [%r7+8]
ldxdw %r4, [%r7+16]
ldxdw %r5, [%r7+24]
mov %r1, %r6
call ${helper}
mov %r7, 0
${MIX}`;

/**
 * skb_store_bytes(skb, off, from, len, flags): off, len, flags the packet's u64s at 0, 8, 16; `from` the
 * s32 at 24 added to what the u32 at 28 names (0: r10, 1: the packet's data, 2: the context, 3:
 * nothing), over a stack whose every byte is set; r7 = skb->hash after the call.
 */
function storeProgram(): string {
  const fill: string[] = [];
  for (let k = 1; k <= 64; k++) fill.push(`stdw [%r10-${8 * k}], ${(k * 0x1010101 + 0x5a) | 0}`);
  return `
${PARAMS}
${fill.join('\n')}
ldxdw %r2, [%r7+0]
ldxdw %r4, [%r7+8]
ldxdw %r5, [%r7+16]
ldxw %r3, [%r7+24]
lsh %r3, 32
arsh %r3, 32
ldxw %r9, [%r7+28]
jeq %r9, 3, +6
mov %r8, %r10
jeq %r9, 0, +3
mov %r8, %r7
jeq %r9, 1, +1
mov %r8, %r6
add %r3, %r8
mov %r1, %r6
call 9
ldxw %r7, [%r6+68]
${MIX}`;
}

/** skb_load_bytes(skb, off, r10 - 64, len) with off, len the packet's u64s at 0, 8; r7 = the bytes read. */
const LOAD_PROGRAM = `
${PARAMS}
stdw [%r10-64], 0x77
ldxdw %r2, [%r7+0]
ldxdw %r4, [%r7+8]
mov %r5, 0
mov %r3, %r10
add %r3, -64
mov %r1, %r6
call 26
ldxdw %r7, [%r10-64]
${MIX}`;

function spec(text: string): ObjectSpec {
  const insns = assemble(text, { syntax: 'conformance', source: 'p' });
  return {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [],
    programs: [
      { name: 'p', section: 'tc', type: ProgType.SCHED_CLS, insns, mapRefs: [], license: 'GPL', kernelVersion: 0 },
    ],
  };
}

/** A deterministic generator. */
function rng(seed: number): { int(n: number): number; pick<T>(xs: readonly T[]): T; u32(): number } {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) & 0xffffff;
  const int = (n: number) => next() % n;
  return { int, pick: (xs) => xs[int(xs.length)]!, u32: () => ((next() << 8) ^ next()) >>> 0 };
}

/** A frame of `len` bytes (>= 32) with random bytes and the u64 arguments at 0, 8, 16, 24 (as [lo, hi]). */
function frame(r: ReturnType<typeof rng>, len: number, args: [number, number][]): Uint8Array {
  const f = Uint8Array.from({ length: len }, () => r.int(256));
  const dv = new DataView(f.buffer);
  args.forEach(([lo, hi], i) => {
    dv.setUint32(8 * i, lo >>> 0, true);
    dv.setUint32(8 * i + 4, hi >>> 0, true);
  });
  return f;
}

/** Mostly a plain 32-bit value, sometimes with an upper half. */
const wide = (r: ReturnType<typeof rng>, lo: number): [number, number] => [
  lo,
  r.int(8) === 0 ? r.pick([1, 0x80000000, 0xffffffff]) : 0,
];

const L3_FLAGS = [0, 1, 2, 3, 4, 5, 8, 0xf, 0x10, 0x12, 0x14, 0x80000004];
const L4_FLAGS = [
  ...[0, 2, 4].flatMap((size) => [0, 0x10, 0x20, 0x30, 0x40, 0x60, 0x70, 0x80, 0xf0].map((f) => f | size)),
  1,
  3,
  0x21,
  0x61,
  0x100,
  0x102,
  0x80000002,
];

/** Frames for csum_replace: offsets at the packet's edges, every flag combination, sums giving 0. */
function csumFrames(seed: number, count: number, l4: boolean): Uint8Array[] {
  const r = rng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const len = 36 + r.int(100);
    const flags = r.pick(l4 ? L4_FLAGS : L3_FLAGS);
    const size = flags & 0xf;
    let off = r.pick([
      32 + 2 * r.int((len - 32) >> 1),
      32 + 2 * r.int((len - 32) >> 1),
      len - 2,
      len - 1,
      len,
      len + 1,
      33,
      0xfffe,
      0x10000,
      0xfffffffe,
    ]);
    if (off >= len && r.int(2) === 0) off = len - 2;
    const from = size === 0 && r.int(4) !== 0 ? 0 : r.pick([0, 0xffff, r.u32(), r.u32() & 0xffff]);
    let to = r.pick([0, 0xffff, r.u32(), r.u32() & 0xffff]);
    const sum = r.pick([0, 0xffff, r.int(0x10000), r.int(0x10000)]);
    // now and then the sum that makes the result 0 (BPF_F_MARK_MANGLED_0 writes 0xffff then)
    if (r.int(4) === 0 && (size === 2 || size === 4 || size === 0)) {
      const replace = (t: number) =>
        size === 2
          ? csumReplace2(sum, from & 0xffff, t & 0xffff)
          : size === 4
            ? csumReplace4(sum, from, t)
            : csumReplaceByDiff(sum, t);
      for (let t = 0; t < 0x20000; t++)
        if (replace(t) === 0) {
          to = t;
          break;
        }
    }
    const f = frame(r, len, [wide(r, off), wide(r, from), wide(r, to), r.int(10) === 0 ? [flags, 1] : [flags, 0]]);
    if (off + 2 <= len && off >= 32) {
      f[off] = sum & 0xff;
      f[off + 1] = sum >> 8;
    }
    out.push(f);
  }
  return out;
}

const STORE_FLAGS: [number, number][] = [
  [0, 0],
  [0, 0],
  [1, 0],
  [2, 0],
  [3, 0],
  [4, 0],
  [5, 0],
  [0x80000000, 0],
  [0, 1],
  [1, 1],
  [4, 0x10],
];

/**
 * Frames for skb_store_bytes: offsets and lengths at the packet's edges, every flag, sources in the
 * frame, at its edges and outside it, in the packet and in the context (`faults`: also sources that
 * fault, a null one, and lengths from 64 on, which the helper charges).
 */
function storeFrames(seed: number, count: number, faults: boolean): Uint8Array[] {
  const r = rng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const len = 36 + r.int(100);
    let n = r.pick([1, 2, 4, 8, r.int(64), r.int(64), 63, faults ? 64 : 9, faults ? 100 : 7, 0]);
    const off = r.pick([32 + r.int(len - 32), r.int(len), len - n, len - n + 1, len, 0x7fffffff, 0x80000000, -1]);
    let kind = r.pick([0, 0, 0, 0, 1, 2, faults ? 3 : 0]);
    let src = 0;
    if (kind === 0) src = -n - r.int(faults ? 520 - n : 512 - n + 1);
    if (kind === 0 && faults && r.int(6) === 0) src = r.pick([-n + 1, -4, 0, -513]);
    if (kind === 1) src = r.int(len);
    if (kind === 2) src = r.int(SKB_SIZE - n + (faults ? 4 : 1));
    if (kind === 3) src = r.pick([0, 8]);
    if (kind === 1 && !faults && src + n > len) kind = 0;
    if (kind === 0 && !faults) src = -n - r.int(512 - n + 1);
    if (!faults && n >= 64) n = 63;
    const f = frame(r, len, [wide(r, off), wide(r, n), r.pick(STORE_FLAGS)]);
    new DataView(f.buffer).setInt32(24, src, true);
    new DataView(f.buffer).setUint32(28, kind, true);
    out.push(f);
  }
  return out;
}

/** Frames for skb_load_bytes: offsets and lengths at the packet's edges. */
function loadFrames(seed: number, count: number): Uint8Array[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const len = 36 + r.int(100);
    const n = r.pick([1, 2, 4, 8, 1 + r.int(8)]);
    const off = r.pick([r.int(len), len - n, len - n + 1, len - 1, 0x7fffffff, -1]);
    return frame(r, len, [wide(r, off), wide(r, n)]);
  });
}

/** A __sk_buff passed in, with a hash for BPF_F_INVALIDATE_HASH to clear. */
const CTX = new Uint8Array(SKB_SIZE);
new DataView(CTX.buffer).setUint32(68, 0x5eed1234, true);

/** One run of `f` (with the hash-carrying context when `ctx`), repeated `repeat` times: what it gave. */
function outcome(c: VmCollection, f: Uint8Array, ctx: boolean, repeat = 1): string {
  try {
    const r = c.program('p').run({ data: f, repeat, ...(ctx ? { ctx: CTX } : {}) });
    return `${r.retval.toString(16)} in ${r.instructions}: ${hex(r.data)}`;
  } catch (err) {
    if (!(err instanceof VmError)) throw err;
    return `${err.kind} at ${err.pc}: ${err.message}`;
  }
}

/** Every engine's outcomes of every frame (run, with the context, repeated) are the interpreter's. */
function agree(text: string, frames: Uint8Array[]): string[] {
  let reference: string[] | undefined;
  for (const engine of ['interpreter', ...ENGINES.filter((e) => e !== 'interpreter')] as const) {
    const c = loadVmCollection(spec(text), { cpus: 1, execution: engine });
    const got = frames.flatMap((f, i) => [
      `${i}: ${outcome(c, f, false)}`,
      `${i} ctx: ${outcome(c, f, true)}`,
      `${i} x3: ${outcome(c, f, i % 2 === 0, 3)}`,
    ]);
    c.close();
    if (reference === undefined) reference = got;
    else assert.deepEqual(got, reference, `${engine} differs from the interpreter`);
  }
  return reference!;
}

/** runPackets on 'wasm' over `frames` (laid out in one buffer) reports what run() per frame gives on the interpreter. */
function agreeBatched(text: string, frames: Uint8Array[]): void {
  const a = loadVmCollection(spec(text), { cpus: 1, execution: 'interpreter' });
  const want = frames.map((f, i) => {
    const r = a.program('p').run({ data: f });
    return `${i}: ${r.retval >>> 0} ${hex(r.data) !== hex(f) ? hex(r.data) : '-'}`;
  });
  a.close();
  const offs = new Int32Array(frames.length);
  const lens = new Int32Array(frames.length);
  let at = 8;
  for (const [i, f] of frames.entries()) {
    offs[i] = at;
    lens[i] = f.length;
    at += f.length + 8;
  }
  const src = new Uint8Array(at);
  for (const [i, f] of frames.entries()) src.set(f, offs[i]);
  const b = loadVmCollection(spec(text), { cpus: 1, execution: 'wasm' });
  const p = b.program('p');
  const got: string[] = [];
  // (twice: the first call compiles the program and runs its first frame alone)
  for (let round = 0; round < 2; round++) {
    got.length = 0;
    p.runPackets(src, offs, lens, frames.length, (i, retval, changed) => {
      got.push(`${i}: ${retval} ${changed ? hex(p.lastPacket()) : '-'}`);
    });
  }
  b.close();
  assert.deepEqual(got, want);
}

/** The kinds of outcome: r0's low 16 bits in hex (0, 15 for -EINVAL, d for -EFAULT) or the fault's kind. */
function kinds(out: string[]): Set<string> {
  return new Set(
    out.map((o) => {
      const [first, second] = o.slice(o.indexOf(': ') + 2).split(' ');
      return second === 'in' ? (parseInt(first!, 16) & 0xffff).toString(16) : first!;
    }),
  );
}

test('wasm l3_csum_replace: every size and flag, offsets at the packet’s edges, as the interpreter', () => {
  const out = agree(csumProgram(10), csumFrames(1, 400, false));
  // 0 (done), 0x15 (-EINVAL: lo ^ hi), 0xd (-EFAULT)
  for (const k of ['0', '15', 'd']) assert.ok(kinds(out).has(k), `some result ${k}`);
});

test('wasm l4_csum_replace: every size, BPF_F_PSEUDO_HDR, MARK_MANGLED_0, MARK_ENFORCE, IPV6, as the interpreter', () => {
  const frames = csumFrames(2, 600, true);
  const out = agree(csumProgram(11), frames);
  for (const k of ['0', '15', 'd']) assert.ok(kinds(out).has(k), `some result ${k}`);
  // some run wrote CSUM_MANGLED_0 (0xffff) where the sum came out 0
  const mangled = frames.some((f, i) => {
    const line = out[3 * i]!;
    const after = line.slice(line.lastIndexOf(' ') + 1);
    const off = new DataView(f.buffer).getUint32(0, true);
    return (
      (f[24]! & 0x20) !== 0 &&
      off + 2 <= f.length &&
      after.slice(2 * off, 2 * off + 4) === 'ffff' &&
      hex(f).slice(2 * off, 2 * off + 4) !== 'ffff'
    );
  });
  assert.ok(mangled, 'some result was marked mangled');
});

test('wasm skb_store_bytes: offsets, lengths, flags and sources at every edge, as the interpreter', () => {
  const out = agree(storeProgram(), storeFrames(3, 500, true));
  const k = kinds(out);
  for (const r of ['0', '15', 'd']) assert.ok(k.has(r), `some result ${r}`);
  assert.ok(
    [...k].some((x) => !/^[0-9a-f]+$/.test(x)),
    `some run faulted: ${[...k].join(' ')}`,
  );
});

test('wasm packet helpers in the packet loop: frames of every length one after another, as run() per frame', () => {
  agreeBatched(csumProgram(10), csumFrames(4, 600, false));
  agreeBatched(csumProgram(11), csumFrames(5, 600, true));
  agreeBatched(storeProgram(), storeFrames(6, 600, false));
  // (the packet's length comes from the LD_ABS mirror the loop rewrites per record, for skb_load_bytes too)
  agreeBatched(LOAD_PROGRAM, loadFrames(7, 600));
});

/** Whether a run of `f` with `repeat` on 'wasm' called into JavaScript (the repeat loop's MEM_TOUCHED cell). */
function touched(c: VmCollection, f: Uint8Array): boolean {
  c.program('p').run({ data: f, repeat: 4 });
  const cells = (c.vm as unknown as { st: { wasm: { cells: Int32Array } } }).st.wasm.cells;
  return cells[MEM_TOUCHED >> 2] !== 0;
}

test('wasm packet helpers: the common cases never leave the module; a host’s own helper is called', () => {
  const store = (flags: number, n = 2, kind = 0, src = -8) => {
    const f = frame(rng(9), 60, [
      [40, 0],
      [n, 0],
      [flags, 0],
    ]);
    new DataView(f.buffer).setInt32(24, src, true);
    new DataView(f.buffer).setUint32(28, kind, true);
    return f;
  };
  const c = loadVmCollection(spec(storeProgram()), { cpus: 1, execution: 'wasm' });
  assert.equal(touched(c, store(0)), false, 'store_bytes from the stack');
  assert.equal(touched(c, store(1, 63)), false, 'with BPF_F_RECOMPUTE_CSUM');
  assert.equal(touched(c, store(4)), false, '-EINVAL');
  assert.equal(touched(c, store(2)), true, 'BPF_F_INVALIDATE_HASH goes to the helper');
  assert.equal(touched(c, store(0, 2, 1, 0)), true, 'a source in the packet goes to the helper');
  // a host's own function under the number: called, whatever the module could do
  let calls = 0;
  c.vm.helpers.register(9, 'skb_store_bytes', (call) => {
    calls++;
    skbStoreBytes(call);
  });
  assert.equal(touched(c, store(0)), true);
  assert.ok(calls > 0);
  c.close();
  for (const [helper, flags] of [
    [10, 2],
    [10, 4],
    [11, 0x12],
    [11, 0x64],
  ] as const) {
    const l = loadVmCollection(spec(csumProgram(helper)), { cpus: 1, execution: 'wasm' });
    const f = frame(rng(10), 60, [
      [40, 0],
      [0x1234, 0],
      [0x4321, 0],
      [flags, 0],
    ]);
    assert.equal(touched(l, f), false, `helper ${helper} flags ${flags}`);
    l.close();
  }
});
