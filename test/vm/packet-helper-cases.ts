/**
 * Programs and frames for the packet helpers' differential tests (test/vm/wasm-store.test.ts against the
 * interpreter, test/kernel/packet-helpers.test.ts against the kernel): one tc program per helper that
 * reads its arguments from the packet, and deterministic frames that put those arguments at the edges.
 */
import type { ObjectSpec } from '../../src/elf/spec.js';
import { tcSpec } from './support.js';
import { SKB_SIZE } from '../../src/vm/contexts/skb.js';
import { csumReplace2, csumReplace4, csumReplaceByDiff } from '../../src/vm/helpers/checksum.js';

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

/**
 * For the kernel, whose verifier lets no one read r1-r5 after a call: r0 = (r0 ^ r0 >> 32) & 0xffff.
 */
const MIX_R0 = `
mov %r9, %r0
rsh %r9, 32
xor %r0, %r9
and %r0, 0xffff
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
export const csumProgram = (helper: number, kernel = false): string => `
${PARAMS}
ldxdw %r2, [%r7+0]
ldxdw %r3, [%r7+8]
ldxdw %r4, [%r7+16]
ldxdw %r5, [%r7+24]
mov %r1, %r6
call ${helper}
mov %r7, 0
${kernel ? MIX_R0 : MIX}`;

/**
 * skb_store_bytes for the kernel's verifier: from r10 - 64 (set), len - 1 below 64 (else r0 = 0x7777,
 * no call), off and flags as in storeProgram.
 */
export function kernelStoreProgram(): string {
  const fill: string[] = [];
  for (let k = 1; k <= 8; k++) fill.push(`stdw [%r10-${8 * k}], ${(k * 0x1010101 + 0x5a) | 0}`);
  return `
${PARAMS}
${fill.join('\n')}
ldxdw %r2, [%r7+0]
ldxdw %r4, [%r7+8]
ldxdw %r5, [%r7+16]
mov %r0, 0x7777
add %r4, -1
jgt %r4, 63, +9
add %r4, 1
mov %r3, %r10
add %r3, -64
mov %r1, %r6
call 9
${MIX_R0}`;
}

/**
 * skb_store_bytes(skb, off, from, len, flags): off, len, flags the packet's u64s at 0, 8, 16; `from` the
 * s32 at 24 added to what the u32 at 28 names (0: r10, 1: the packet's data, 2: the context, 3:
 * nothing), over a stack whose every byte is set; r7 = skb->hash after the call.
 */
export function storeProgram(): string {
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
export const LOAD_PROGRAM = `
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

export function spec(text: string): ObjectSpec {
  return tcSpec(text);
}

/** A deterministic generator. */
export function rng(seed: number): { int(n: number): number; pick<T>(xs: readonly T[]): T; u32(): number } {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) & 0xffffff;
  const int = (n: number) => next() % n;
  return { int, pick: (xs) => xs[int(xs.length)]!, u32: () => ((next() << 8) ^ next()) >>> 0 };
}

/** A frame of `len` bytes (>= 32) with random bytes and the u64 arguments at 0, 8, 16, 24 (as [lo, hi]). */
export function frame(r: ReturnType<typeof rng>, len: number, args: [number, number][]): Uint8Array {
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
export function csumFrames(seed: number, count: number, l4: boolean): Uint8Array[] {
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
export function storeFrames(seed: number, count: number, faults: boolean): Uint8Array[] {
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
export function loadFrames(seed: number, count: number): Uint8Array[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const len = 36 + r.int(100);
    const n = r.pick([1, 2, 4, 8, 1 + r.int(8)]);
    const off = r.pick([r.int(len), len - n, len - n + 1, len - 1, 0x7fffffff, -1]);
    return frame(r, len, [wide(r, off), wide(r, n)]);
  });
}
