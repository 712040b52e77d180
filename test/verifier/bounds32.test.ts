/**
 * The 32-bit bounds (scalar.ts, bounds-sync.ts, sync-small.ts, scalar-ops.ts, branch.ts): the kernel's
 * deductions on the selftests' own examples, the number fast path held equal to the BigInt steps, and
 * every transfer function checked for soundness on random values (a result must hold every value the
 * operation can produce; a bound that excludes one would let bpfkit prove live code dead).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BPF_JEQ,
  BPF_JGT,
  BPF_JLT,
  BPF_JNE,
  BPF_JSGT,
  BPF_JSLT,
  BPF_JSET,
  BPF_JSGE,
  BPF_JLE,
  BPF_JGE,
  BPF_JSLE,
} from '../../src/isa/opcodes.js';
import { boundsSync } from '../../src/verifier/bounds-sync.js';
import { tstep } from '../../src/verifier/tnum.js';
import { decide, refineUndecided } from '../../src/verifier/branch.js';
import { type Scalar, UNKNOWN, known, low32, sync, withFacts } from '../../src/verifier/scalar.js';
import { scalarAlu } from '../../src/verifier/alu.js';
import { NOT_SMALL, syncSmall } from '../../src/verifier/sync-small.js';
import { NOT_LOW_HALF, syncLowHalf } from '../../src/verifier/sync-low-half.js';
import {
  BPF_ADD,
  BPF_AND,
  BPF_ARSH,
  BPF_LSH,
  BPF_MUL,
  BPF_OR,
  BPF_RSH,
  BPF_SUB,
  BPF_XOR,
} from '../../src/isa/opcodes.js';
import { rng } from './boundary-programs.js';

const U64 = (1n << 64n) - 1n;
const with32 = (s: Scalar, b: Partial<Scalar>): Scalar => sync({ ...s, ...b })!;

/** Does scalar `s` admit the 64-bit value `v`? (every fact: tnum, 64-bit and 32-bit bounds) */
function admits(s: Scalar, v: bigint): boolean {
  const u = BigInt.asUintN(64, v);
  const sv = BigInt.asIntN(64, u);
  const lo = Number(u & 0xffffffffn);
  return (
    (u & ~s.t.mask & U64) === s.t.value &&
    u >= s.umin &&
    u <= s.umax &&
    sv >= s.smin &&
    sv <= s.smax &&
    lo >= s.u32min &&
    lo <= s.u32max &&
    (lo | 0) >= s.s32min &&
    (lo | 0) <= s.s32max
  );
}

test('32-bit bounds: a 32-bit compare on an unknown 64-bit value narrows its low half only', () => {
  // `if w0 < 4 goto` not taken: the low half is at least 4, the high half anything.
  const [, fall] = refineUndecided(BPF_JLT, UNKNOWN, known(4n), true, true);
  const r = refineUndecided(BPF_JLT, UNKNOWN, known(4n), false, true)[0];
  assert.equal(r.u32min, 4);
  // The 64-bit bounds learn only what the low half gives their ends (__reg_deduce_mixed_bounds).
  assert.equal(r.umin, 4n);
  assert.equal(r.umax, U64);
  assert.ok(fall);
  // ... so `w0 == 3` never holds, and `w0 > 4` may (deducing_bounds_from_non_const_5).
  assert.equal(decide(BPF_JEQ, r, known(3n), true), false);
  assert.equal(decide(BPF_JGT, known(4n), r, true), false);
  assert.equal(decide(BPF_JEQ, r, known(4n), true), undefined);
  // A 64-bit compare reads the 64-bit bounds, which the low half moved up to 4...
  assert.equal(decide(BPF_JGT, r, known(3n), false), true);
  assert.equal(decide(BPF_JGT, r, known(5n), false), undefined);
  // ... and a 64-bit == tries the 32-bit bounds too (0x100000003 has the low half 3).
  assert.equal(decide(BPF_JEQ, r, known(0x100000003n), false), false);
  assert.equal(decide(BPF_JEQ, r, known(0x100000004n), false), undefined);
});

test('32-bit bounds: signed and unsigned ranges that cross meet in one part (signed_unsigned_intersection32)', () => {
  // u32 in [3, U32_MAX] and s32 in [S32_MIN, 1]: the value is negative as s32.
  const s = with32(low32(UNKNOWN), { u32min: 3, s32max: 1 });
  assert.equal(s.s32max, -1);
  assert.equal(s.u32min, 0x80000000);
  assert.equal(decide(BPF_JSLT, s, known(0n), true), true);
  // u32 in [0, S32_MIN+3] and s32 in [-3, 5]: [0, 5].
  const t = with32(low32(UNKNOWN), { u32max: 0x80000003, s32min: -3, s32max: 5 });
  assert.equal(t.u32max, 5);
  assert.equal(t.s32min, 0);
  assert.equal(t.umax, 5n);
});

test('64-bit bounds: a signed range across the sign meets an unsigned one in one part (bounds_deduct_positive_overlap)', () => {
  // s64 in [-128, 127] (a sign-extended byte), u64 <= 0xffffffffffffff00: only [0, 127] remains.
  const s = sync({ ...UNKNOWN, smin: -128n, smax: 127n, umax: 0xffffffffffffff00n })!;
  assert.equal(s.smin, 0n);
  assert.equal(s.umax, 127n);
  assert.equal(s.s32max, 127);
  // Two overlaps (umax 0xff..80 reaches the negative part too): nothing new.
  const t = sync({ ...UNKNOWN, smin: -128n, smax: 127n, umax: 0xffffffffffffff80n })!;
  assert.equal(t.smin, -128n);
});

test('32-bit bounds: the 64-bit ends take the 32-bit bounds as their low halves (__reg_deduce_mixed_bounds)', () => {
  const s = sync({ ...UNKNOWN, umin: 0x100000000n, umax: 0x380000000n, s32min: 1, s32max: 0x7fffffff })!;
  assert.equal(s.umin, 0x100000001n);
  assert.equal(s.umax, 0x37fffffffn);
});

test('32-bit ALU: a 32-bit add wraps in the low half and zero-extends', () => {
  const r = scalarAlu(BPF_ADD, true, with32(UNKNOWN, { u32min: 10, u32max: 20 }), known(5n));
  assert.equal(r.u32min, 15);
  assert.equal(r.u32max, 25);
  assert.equal(r.umin, 15n);
  assert.equal(r.umax, 25n);
  // A 64-bit add keeps the low half's bounds beside the 64-bit ones.
  const q = scalarAlu(BPF_ADD, false, with32(UNKNOWN, { u32min: 10, u32max: 20 }), known(5n));
  assert.equal(q.u32min, 15);
  assert.equal(q.u32max, 25);
  assert.equal(q.umax, 0xffffffff00000019n);
});

/** A random scalar: random facts around a few random values (so it is never empty), synced. */
function randomScalar(r: () => number): { s: Scalar; values: bigint[] } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const edge = [
    0n,
    1n,
    2n,
    3n,
    4n,
    5n,
    127n,
    128n,
    255n,
    0x7fffffffn,
    0x80000000n,
    0xffffffffn,
    0x100000000n,
    0x7fffffffffffffffn,
    0x8000000000000000n,
    U64 - 127n,
    U64 - 1n,
    U64,
  ];
  const rand64 = (): bigint => {
    const k = r();
    if (k < 0.4) return pick(edge) + BigInt(Math.floor(r() * 5)) - 2n;
    if (k < 0.7) return BigInt(Math.floor(r() * 0x100000000));
    return (BigInt(Math.floor(r() * 0x100000000)) << 32n) | BigInt(Math.floor(r() * 0x100000000));
  };
  const values = Array.from({ length: 1 + Math.floor(r() * 3) }, () => BigInt.asUintN(64, rand64()));
  let s: Scalar = UNKNOWN;
  // Constrain by random facts that every chosen value satisfies.
  const us = values;
  const ss = values.map((v) => BigInt.asIntN(64, v));
  const lo = values.map((v) => Number(v & 0xffffffffn));
  const mn = <T>(xs: T[]) => xs.reduce((a, b) => (a < b ? a : b));
  const mx = <T>(xs: T[]) => xs.reduce((a, b) => (a > b ? a : b));
  if (r() < 0.5) s = { ...s, umin: mn(us), umax: mx(us) };
  if (r() < 0.5) s = { ...s, smin: mn(ss), smax: mx(ss) };
  if (r() < 0.5) s = { ...s, u32min: mn(lo), u32max: mx(lo) };
  if (r() < 0.5) s = { ...s, s32min: mn(lo.map((x) => x | 0)), s32max: mx(lo.map((x) => x | 0)) };
  if (r() < 0.5) {
    const diff = values.reduce((a, v) => a | (v ^ values[0]!), 0n);
    const extra = r() < 0.5 ? BigInt(Math.floor(r() * 0x100)) : 0n;
    const mask = (diff | extra) & U64;
    s = { ...s, t: { value: values[0]! & ~mask & U64, mask } };
  }
  return { s: sync(s)!, values };
}

test('sync-small: the number steps give exactly what the BigInt steps give', () => {
  const r = rng(0xb32);
  let small = 0;
  for (let i = 0; i < 200_000; i++) {
    // Any facts at all, contradictory ones too: both must agree on every outcome.
    const lo = Math.floor(r() * 0x100000000);
    const hi = Math.floor(r() * 0x100000000);
    const mask = BigInt(Math.floor(r() * 0x100000000)) & (r() < 0.5 ? 0xffffn : 0xffffffffn);
    const value = BigInt(Math.floor(r() * 0x100000000)) & ~mask & 0xffffffffn;
    const s: Scalar = {
      t: { value, mask: mask | (r() < 0.05 ? 1n << 40n : 0n) },
      umin: r() < 0.5 ? 0n : BigInt(Math.min(lo, hi)),
      umax: r() < 0.3 ? U64 : BigInt(Math.max(lo, hi)),
      smin: r() < 0.5 ? -(1n << 63n) : BigInt(Math.floor(r() * 0x100000000)),
      smax: r() < 0.5 ? (1n << 63n) - 1n : BigInt(Math.floor(r() * 0x100000000)),
      u32min: r() < 0.5 ? 0 : Math.floor(r() * 0x100000000),
      u32max: r() < 0.5 ? 0xffffffff : Math.floor(r() * 0x100000000),
      s32min: r() < 0.5 ? -0x80000000 : Math.floor(r() * 0x100000000) | 0,
      s32max: r() < 0.5 ? 0x7fffffff : Math.floor(r() * 0x100000000) | 0,
    };
    if (s.t.mask === 0n) continue;
    const fast = syncSmall(s);
    if (fast === NOT_SMALL) continue;
    small++;
    // sync() wraps the fast path in __update_reg64_bounds' single-value rule, at the start and the end.
    assert.deepEqual(
      sync(s),
      boundsSync(s),
      JSON.stringify(s, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
    );
  }
  // Most inputs take the fast path, and many of them change (a fast path returning its input would fail).
  assert.ok(small > 100_000, `${small}`);
});

test('sync-low-half: the number steps give exactly what the BigInt steps give', () => {
  const r = rng(0x10f);
  for (let i = 0; i < 200_000; i++) {
    // A low half known in part, the high half unknown; any 32-bit bounds.
    const mask = BigInt(Math.floor(r() * 0x100000000)) & (r() < 0.5 ? 0xffn : 0xffffffffn);
    const value = BigInt(Math.floor(r() * 0x100000000)) & ~mask & 0xffffffffn;
    // 64-bit bounds at their limits, or anywhere in their limits' high halves.
    const lo = () => (r() < 0.5 ? 0n : BigInt(Math.floor(r() * 0x100000000)));
    const s: Scalar = withFacts(UNKNOWN, {
      t: { value, mask: mask | 0xffffffff00000000n },
      umin: lo(),
      umax: 0xffffffffffffffffn - lo(),
      smin: -(1n << 63n) + lo(),
      smax: (1n << 63n) - 1n - lo(),
      u32min: r() < 0.5 ? 0 : Math.floor(r() * 0x100000000),
      u32max: r() < 0.5 ? 0xffffffff : Math.floor(r() * 0x100000000),
      s32min: r() < 0.5 ? -0x80000000 : Math.floor(r() * 0x100000000) | 0,
      s32max: r() < 0.5 ? 0x7fffffff : Math.floor(r() * 0x100000000) | 0,
    });
    const fast = syncLowHalf(s);
    assert.notEqual(fast, NOT_LOW_HALF);
    assert.deepEqual(
      sync(s),
      boundsSync(s),
      JSON.stringify(s, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
    );
  }
  // Other scalars are left to the general steps.
  assert.equal(syncLowHalf(withFacts(UNKNOWN, { umin: 1n << 32n })), NOT_LOW_HALF);
  assert.equal(syncLowHalf(withFacts(UNKNOWN, { smax: 0x7ffffffeffffffffn })), NOT_LOW_HALF);
  assert.equal(syncLowHalf(withFacts(UNKNOWN, { t: { value: 0n, mask: 0x7fffffffffffffffn } })), NOT_LOW_HALF);
});

const OPS = [BPF_ADD, BPF_SUB, BPF_MUL, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH, BPF_ARSH];

/** The concrete result of an ALU operation (32-bit: on the low halves, zero-extended). */
function concrete(op: number, is32: boolean, a: bigint, b: bigint): bigint {
  const w = is32 ? 32 : 64;
  const ua = BigInt.asUintN(w, a);
  const ub = BigInt.asUintN(w, b);
  let r: bigint;
  switch (op) {
    case BPF_ADD:
      r = ua + ub;
      break;
    case BPF_SUB:
      r = ua - ub;
      break;
    case BPF_MUL:
      r = ua * ub;
      break;
    case BPF_AND:
      r = ua & ub;
      break;
    case BPF_OR:
      r = ua | ub;
      break;
    case BPF_XOR:
      r = ua ^ ub;
      break;
    case BPF_LSH:
      r = ua << ub;
      break;
    case BPF_RSH:
      r = ua >> ub;
      break;
    default:
      r = BigInt.asIntN(w, ua) >> ub;
      break;
  }
  return BigInt.asUintN(w, r);
}

test('transfer functions: every result holds every value the operation can produce (random, 64- and 32-bit)', () => {
  const r = rng(0x5a1e);
  for (let i = 0; i < 40_000; i++) {
    const A = randomScalar(r);
    const is32 = r() < 0.5;
    const op = OPS[Math.floor(r() * OPS.length)]!;
    let B = randomScalar(r);
    if (op === BPF_LSH || op === BPF_RSH || op === BPF_ARSH) {
      const k = BigInt(Math.floor(r() * (is32 ? 32 : 64)));
      B = { s: known(k), values: [k] };
    }
    const res = scalarAlu(op, is32, A.s, B.s);
    for (const a of A.values)
      for (const b of B.values) {
        const v = concrete(op, is32, a, b);
        assert.ok(
          admits(res, v),
          `${op} is32=${is32}: ${a} op ${b} = ${v} outside ${JSON.stringify(res, (_, x: unknown) => (typeof x === 'bigint' ? `${x}` : x))}`,
        );
      }
  }
});

const CMP = [BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE, BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET];

function holds(op: number, is32: boolean, a: bigint, b: bigint): boolean {
  const w = is32 ? 32 : 64;
  const ua = BigInt.asUintN(w, a);
  const ub = BigInt.asUintN(w, b);
  const sa = BigInt.asIntN(w, a);
  const sb = BigInt.asIntN(w, b);
  switch (op) {
    case BPF_JEQ:
      return ua === ub;
    case BPF_JNE:
      return ua !== ub;
    case BPF_JGT:
      return ua > ub;
    case BPF_JGE:
      return ua >= ub;
    case BPF_JLT:
      return ua < ub;
    case BPF_JLE:
      return ua <= ub;
    case BPF_JSGT:
      return sa > sb;
    case BPF_JSGE:
      return sa >= sb;
    case BPF_JSLT:
      return sa < sb;
    case BPF_JSLE:
      return sa <= sb;
    default:
      return (ua & ub) !== 0n;
  }
}

test('branches: a decided compare is right for every value, and each side keeps every value that takes it', () => {
  const r = rng(0xb7a);
  for (let i = 0; i < 40_000; i++) {
    const A = randomScalar(r);
    const B =
      r() < 0.5
        ? randomScalar(r)
        : (() => {
            const k = BigInt(Math.floor(r() * 8));
            return { s: known(k), values: [k] };
          })();
    const is32 = r() < 0.5;
    const op = CMP[Math.floor(r() * CMP.length)]!;
    const d = decide(op, A.s, B.s, is32);
    for (const a of A.values)
      for (const b of B.values) {
        const h = holds(op, is32, a, b);
        if (d !== undefined) {
          assert.equal(h, d, `decide ${op} is32=${is32} ${a} ${b}`);
          continue;
        }
        const [ra, rb] = refineUndecided(op, A.s, B.s, h, is32);
        assert.ok(admits(ra, a) && admits(rb, b), `refine ${op} is32=${is32} taken=${h}: ${a} ${b}`);
      }
  }
});

test('tnum_step: the smallest member of a tnum above a value, as a count through the members finds it', () => {
  // Every 6-bit tnum against every value: the members listed, the next one picked by hand.
  for (let mask = 0n; mask < 64n; mask++)
    for (let value = 0n; value < 64n; value++) {
      if (value & mask) continue;
      const t = { value, mask };
      const members: bigint[] = [];
      for (let x = 0n; x < 64n; x++) if ((x & ~mask) === value) members.push(x);
      const tmax = value | mask;
      for (let z = 0n; z < 70n; z++) {
        const want = z >= tmax ? tmax : members.find((m) => m > z)!;
        assert.equal(tstep(t, z), want, `tnum (${value}; ${mask}) after ${z}`);
      }
    }
});

test('sync: a range that meets the tnum in one value pins the register to it (__update_reg64_bounds)', () => {
  const odd = { value: 1n, mask: 0x3cn }; // 1, 5, 9, ... 61
  const at = (umin: bigint, umax: bigint, t = odd) => sync(withFacts(UNKNOWN, { t, umin, umax, smin: 0n, smax: umax }));
  // [4, 8] holds 5 alone; [5, 8] starts at it; [2, 6] holds 5 alone between its ends; [4, 12] holds 5 and 9.
  assert.deepEqual(at(4n, 8n), known(5n));
  assert.deepEqual(at(5n, 8n), known(5n));
  assert.deepEqual(at(2n, 6n), known(5n));
  assert.equal(at(4n, 12n)!.t.mask !== 0n, true);
  // No member at all: [2, 2] (the taken side of `r < 3` on [2, 61]) still comes out a constant, 3, as
  // the kernel's steps leave it (checked on Linux 6.18).
  assert.deepEqual(at(2n, 2n), known(3n));
  // A constant tnum outside the range is that constant.
  assert.deepEqual(at(0n, 2n, { value: 7n, mask: 0n }), known(7n));
});
