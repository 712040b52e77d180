/**
 * Conditional jumps on scalars: whether a branch is decided (is_branch_taken) and what each side learns
 * (reg_set_min_max). 32-bit compares are decided on, and refine, the low halves: their tnum bits and
 * the 32-bit bounds the kernel keeps beside the 64-bit ones.
 */
import {
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JLE,
  BPF_JLT,
  BPF_JNE,
  BPF_JSET,
  BPF_JSGE,
  BPF_JSGT,
  BPF_JSLE,
  BPF_JSLT,
} from '../isa/opcodes.js';
import { type Scalar, UNKNOWN, sync, withFacts } from './scalar.js';
import { contradictionTnum } from './bounds-sync.js';
import { U64, type Tnum, tand, tconst, tintersect, tlow32, tor } from './tnum.js';

const U32 = 0xffffffffn;
const HI32 = U64 ^ U32;

/** Pseudo operation: "no bit of dst & src set", the not-taken side of JSET. */
const JNSET = 0x100;

const NEGATE: Record<number, number> = {
  [BPF_JEQ]: BPF_JNE,
  [BPF_JNE]: BPF_JEQ,
  [BPF_JGT]: BPF_JLE,
  [BPF_JLE]: BPF_JGT,
  [BPF_JGE]: BPF_JLT,
  [BPF_JLT]: BPF_JGE,
  [BPF_JSGT]: BPF_JSLE,
  [BPF_JSLE]: BPF_JSGT,
  [BPF_JSGE]: BPF_JSLT,
  [BPF_JSLT]: BPF_JSGE,
  [BPF_JSET]: JNSET,
  [JNSET]: BPF_JSET,
};

/** A range of one width: BigInts for 64-bit bounds, numbers for 32-bit ones (never mixed in a compare). */
interface Interval {
  lo: bigint | number;
  hi: bigint | number;
}

/** True when x > y (strict) or x >= y always holds, false when it never does. */
function cmp(x: Interval, y: Interval, strict: boolean): boolean | undefined {
  if (strict ? x.lo > y.hi : x.lo >= y.hi) return true;
  if (strict ? x.hi <= y.lo : x.hi < y.lo) return false;
  return undefined;
}

/**
 * Linux 6.18's is_scalar_branch_taken also decides `==`/`!=` from the tnums alone: two values whose
 * known bits disagree somewhere are never equal (tnum_overlap).
 */
const TNUM_OVERLAP = true;

/** Could two tnums hold the same value? */
const toverlap = (a: Tnum, b: Tnum): boolean => {
  const mu = a.mask | b.mask;
  return (a.value & ~mu) === (b.value & ~mu);
};

/** is_reg_const: the whole value, or for a 32-bit compare its low half, is known. */
const isConstFor = (s: Scalar, is32: boolean): boolean => (is32 ? (s.t.mask & U32) === 0n : s.t.mask === 0n);

/**
 * True/false when `a op b` always / never holds, undefined when it depends (is_scalar_branch_taken). A
 * 32-bit compare reads the low halves' tnums and the 32-bit bounds; a 64-bit `==` also tries the
 * 32-bit bounds when the 64-bit ones overlap.
 */
export function decide(op: number, a: Scalar, b: Scalar, is32: boolean): boolean | undefined {
  // Ranges of the width compared: numbers for the 32-bit bounds (no BigInt made per compare).
  const ua = is32 ? { lo: a.u32min, hi: a.u32max } : { lo: a.umin, hi: a.umax };
  const ub = is32 ? { lo: b.u32min, hi: b.u32max } : { lo: b.umin, hi: b.umax };
  const sa = is32 ? { lo: a.s32min, hi: a.s32max } : { lo: a.smin, hi: a.smax };
  const sb = is32 ? { lo: b.s32min, hi: b.s32max } : { lo: b.smin, hi: b.smax };
  switch (op) {
    case BPF_JEQ:
    case BPF_JNE: {
      const t1 = is32 ? tlow32(a.t) : a.t;
      const t2 = is32 ? tlow32(b.t) : b.t;
      let eq: boolean | undefined;
      if (t1.mask === 0n && t2.mask === 0n) eq = t1.value === t2.value;
      else if (TNUM_OVERLAP && !toverlap(t1, t2)) eq = false;
      else if (ua.hi < ub.lo || ub.hi < ua.lo || sa.hi < sb.lo || sb.hi < sa.lo) eq = false;
      else if (!is32 && (a.u32min > b.u32max || a.u32max < b.u32min || a.s32min > b.s32max || a.s32max < b.s32min))
        eq = false;
      return eq === undefined ? undefined : op === BPF_JEQ ? eq : !eq;
    }
    case BPF_JSET:
    case JNSET: {
      // As the kernel: only against a constant.
      let set: boolean | undefined;
      const t1 = is32 ? tlow32(a.t) : a.t;
      const t2 = is32 ? tlow32(b.t) : b.t;
      const [x, k] = isConstFor(b, is32) ? [t1, t2] : [t2, t1];
      if (k.mask !== 0n) return undefined;
      if ((x.value & k.value) !== 0n) set = true;
      else if (((x.value | x.mask) & k.value) === 0n) set = false;
      return set === undefined ? undefined : op === BPF_JSET ? set : !set;
    }
    case BPF_JGT:
      return cmp(ua, ub, true);
    case BPF_JGE:
      return cmp(ua, ub, false);
    case BPF_JLT:
      return cmp(ub, ua, true);
    case BPF_JLE:
      return cmp(ub, ua, false);
    case BPF_JSGT:
      return cmp(sa, sb, true);
    case BPF_JSGE:
      return cmp(sa, sb, false);
    case BPF_JSLT:
      return cmp(sb, sa, true);
    case BPF_JSLE:
      return cmp(sb, sa, false);
  }
  return undefined;
}

/**
 * What `a op b` being `taken` (or not) teaches about a and b. Undefined when that side cannot happen.
 */
export function refine(op: number, a: Scalar, b: Scalar, taken: boolean, is32: boolean): [Scalar, Scalar] | undefined {
  const d = decide(op, a, b, is32);
  if (d !== undefined) return d === taken ? [a, b] : undefined;
  return refineUndecided(op, a, b, taken, is32);
}

/** Greater-than compares are less-than compares with the operands swapped. */
const FLIP: Record<number, number> = {
  [BPF_JGT]: BPF_JLT,
  [BPF_JGE]: BPF_JLE,
  [BPF_JSGT]: BPF_JSLT,
  [BPF_JSGE]: BPF_JSLE,
};

/** A scalar being refined: every bound as a mutable field. */
type Mut = { -readonly [K in keyof Scalar]: Scalar[K] };

/** The tnum `t` with its low half replaced by `low` (tnum_with_subreg). */
const withLow = (t: Tnum, low: Tnum): Tnum => tor({ value: t.value & HI32, mask: t.mask & HI32 }, tlow32(low));

/**
 * refine for a compare `decide` left open (the caller asked it already): the kernel's regs_refine_cond_op
 * then reg_bounds_sync on each side. A 32-bit compare narrows the 32-bit bounds and the tnum's low half,
 * and the sync carries that to the 64-bit bounds where it can. A side whose bounds the compare does not
 * change is synced from the register's own scalar, so a scalar that is already consistent comes back as
 * the same object and the caller can keep its register.
 */
export function refineUndecided(
  op: number,
  a: Scalar,
  b: Scalar,
  taken: boolean,
  is32: boolean,
  sameReg = false,
): [Scalar, Scalar] {
  let o = taken ? op : NEGATE[op]!;
  const A: Mut = withFacts(a, {});
  // `if r1 > r1`: the kernel refines one register through two pointers to it, each write seen by the next.
  const B: Mut = sameReg ? A : withFacts(b, {});
  let r1 = A;
  let r2 = B;
  if (FLIP[o] !== undefined) {
    o = FLIP[o]!;
    [r1, r2] = [B, A];
  }
  switch (o) {
    case BPF_JEQ:
      if (is32) {
        r1.u32min = r2.u32min = Math.max(r1.u32min, r2.u32min);
        r1.u32max = r2.u32max = Math.min(r1.u32max, r2.u32max);
        r1.s32min = r2.s32min = Math.max(r1.s32min, r2.s32min);
        r1.s32max = r2.s32max = Math.min(r1.s32max, r2.s32max);
        const t = tintersect(tlow32(r1.t), tlow32(r2.t));
        r1.t = withLow(r1.t, t);
        r2.t = withLow(r2.t, t);
      } else {
        r1.umin = r2.umin = max(r1.umin, r2.umin);
        r1.umax = r2.umax = min(r1.umax, r2.umax);
        r1.smin = r2.smin = max(r1.smin, r2.smin);
        r1.smax = r2.smax = min(r1.smax, r2.smax);
        r1.t = r2.t = tintersect(r1.t, r2.t);
      }
      break;
    case BPF_JNE:
    case BPF_JSET:
    case JNSET: {
      // Against a constant only: the other register learns.
      if (!isConstFor(r2, is32)) [r1, r2] = [r2, r1];
      if (!isConstFor(r2, is32)) break;
      const v = is32 ? r2.t.value & U32 : r2.t.value;
      if (o === BPF_JNE) notEqual(r1, v, is32);
      else if (o === BPF_JSET) {
        // Only a single bit says which bit is set.
        if (v !== 0n && (v & (v - 1n)) === 0n)
          r1.t = is32 ? withLow(r1.t, tor(tlow32(r1.t), tconst(v))) : tor(r1.t, tconst(v));
      } else {
        const clear = tconst(~v & U64);
        r1.t = is32 ? withLow(r1.t, tand(tlow32(r1.t), clear)) : tand(r1.t, clear);
        // Linux 6.18 forgets the ranges here and recomputes them from the new tnum alone (the old ones
        // could contradict it): "no bit of x & k" may teach less than the ranges knew.
        r1.umin = UNKNOWN.umin;
        r1.umax = UNKNOWN.umax;
        r1.smin = UNKNOWN.smin;
        r1.smax = UNKNOWN.smax;
        r1.u32min = UNKNOWN.u32min;
        r1.u32max = UNKNOWN.u32max;
        r1.s32min = UNKNOWN.s32min;
        r1.s32max = UNKNOWN.s32max;
      }
      break;
    }
    case BPF_JLE:
      if (is32) {
        r1.u32max = Math.min(r1.u32max, r2.u32max);
        r2.u32min = Math.max(r1.u32min, r2.u32min);
      } else {
        r1.umax = min(r1.umax, r2.umax);
        r2.umin = max(r1.umin, r2.umin);
      }
      break;
    case BPF_JLT:
      if (is32) {
        r1.u32max = Math.min(r1.u32max, r2.u32max - 1);
        r2.u32min = Math.max(r1.u32min + 1, r2.u32min);
      } else {
        r1.umax = min(r1.umax, r2.umax - 1n);
        r2.umin = max(r1.umin + 1n, r2.umin);
      }
      break;
    case BPF_JSLE:
      if (is32) {
        r1.s32max = Math.min(r1.s32max, r2.s32max);
        r2.s32min = Math.max(r1.s32min, r2.s32min);
      } else {
        r1.smax = min(r1.smax, r2.smax);
        r2.smin = max(r1.smin, r2.smin);
      }
      break;
    case BPF_JSLT:
      if (is32) {
        r1.s32max = Math.min(r1.s32max, r2.s32max - 1);
        r2.s32min = Math.max(r1.s32min + 1, r2.s32min);
      } else {
        r1.smax = min(r1.smax, r2.smax - 1n);
        r2.smin = max(r1.smin + 1n, r2.smin);
      }
      break;
  }
  // A side the bounds call impossible but is_branch_taken did not decide: the kernel still walks it, with
  // the contradicting register's ranges forgotten (reg_bounds_sanity_check: "REG INVARIANTS VIOLATION",
  // __mark_reg_unbounded) and the tnum its reg_bounds_sync left kept.
  const ra = sync(same(A, a) ? a : A) ?? withFacts(UNKNOWN, { t: contradictionTnum(A) });
  if (sameReg) return [ra, ra];
  const rb = sync(same(B, b) ? b : B) ?? withFacts(UNKNOWN, { t: contradictionTnum(B) });
  return [ra, rb];
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The same facts (then syncing either gives the same result). */
const same = (x: Scalar, y: Scalar): boolean =>
  x === y ||
  (x.t.value === y.t.value &&
    x.t.mask === y.t.mask &&
    x.umin === y.umin &&
    x.umax === y.umax &&
    x.smin === y.smin &&
    x.smax === y.smax &&
    x.u32min === y.u32min &&
    x.u32max === y.u32max &&
    x.s32min === y.s32min &&
    x.s32max === y.s32max);

/** `r != v`: a bound equal to v moves past it (the value is not v). */
function notEqual(r: Mut, v: bigint, is32: boolean): void {
  if (is32) {
    const u = Number(v);
    if (r.u32min === u) r.u32min++;
    if (r.u32max === u) r.u32max--;
    if (r.s32min === (u | 0)) r.s32min++;
    if (r.s32max === (u | 0)) r.s32max--;
    return;
  }
  if (r.umin === v) r.umin++;
  if (r.umax === v) r.umax--;
  const sv = BigInt.asIntN(64, v);
  if (r.smin === sv) r.smin++;
  if (r.smax === sv) r.smax--;
}
