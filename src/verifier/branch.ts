/**
 * Conditional jumps on scalars: whether a branch is decided (is_branch_taken) and what each side learns
 * (reg_set_min_max). 32-bit compares are decided on the low halves and refine only when both values
 * already fit the range where a 32-bit compare means the same as a 64-bit one.
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
import { type Scalar, low32, sync } from './scalar.js';
import { U64, tand, tconst, tintersect, tor } from './tnum.js';

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

interface Interval {
  lo: bigint;
  hi: bigint;
}

const S32_MAX = 0x7fffffffn;

/** Signed 32-bit view of the low half. */
function signed32(s: Scalar): Interval {
  const l = low32(s);
  if (l.umax <= S32_MAX) return { lo: l.umin, hi: l.umax };
  if (l.umin > S32_MAX) return { lo: l.umin - (1n << 32n), hi: l.umax - (1n << 32n) };
  return { lo: -(1n << 31n), hi: S32_MAX };
}

/** True/false when `a op b` always / never holds, undefined when it depends. */
export function decide(op: number, a: Scalar, b: Scalar, is32: boolean): boolean | undefined {
  const A = is32 ? low32(a) : a;
  const B = is32 ? low32(b) : b;
  const ua = { lo: A.umin, hi: A.umax };
  const ub = { lo: B.umin, hi: B.umax };
  const sa = is32 ? signed32(a) : { lo: a.smin, hi: a.smax };
  const sb = is32 ? signed32(b) : { lo: b.smin, hi: b.smax };
  const cmp = (x: Interval, y: Interval, strict: boolean): boolean | undefined => {
    // x > y (strict) or x >= y
    if (strict ? x.lo > y.hi : x.lo >= y.hi) return true;
    if (strict ? x.hi <= y.lo : x.hi < y.lo) return false;
    return undefined;
  };
  switch (op) {
    case BPF_JEQ:
    case BPF_JNE: {
      let eq: boolean | undefined;
      if (A.t.mask === 0n && B.t.mask === 0n) eq = A.t.value === B.t.value;
      else if (ua.hi < ub.lo || ub.hi < ua.lo || sa.hi < sb.lo || sb.hi < sa.lo) eq = false;
      return eq === undefined ? undefined : op === BPF_JEQ ? eq : !eq;
    }
    case BPF_JSET:
    case JNSET: {
      // As the kernel: only against a constant.
      let set: boolean | undefined;
      const [x, k] = B.t.mask === 0n ? [A, B] : [B, A];
      if (k.t.mask !== 0n) return undefined;
      if ((x.t.value & k.t.value) !== 0n) set = true;
      else if (((x.t.value | x.t.mask) & k.t.value) === 0n) set = false;
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

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/**
 * What `a op b` being `taken` (or not) teaches about a and b. Undefined when that side cannot happen.
 * 32-bit compares refine only values that 32-bit and 64-bit compares order the same way.
 */
export function refine(op: number, a: Scalar, b: Scalar, taken: boolean, is32: boolean): [Scalar, Scalar] | undefined {
  const d = decide(op, a, b, is32);
  if (d !== undefined) return d === taken ? [a, b] : undefined;
  return refineUndecided(op, a, b, taken, is32);
}

/**
 * refine for a compare `decide` left open (the caller asked it already). A side whose bounds the compare
 * does not change is synced from the register's own scalar, so a scalar that is already consistent comes
 * back as the same object and the caller can keep its register.
 */
export function refineUndecided(op: number, a: Scalar, b: Scalar, taken: boolean, is32: boolean): [Scalar, Scalar] {
  const o = taken ? op : NEGATE[op]!;
  if (is32) {
    const unsignedOk = a.umax <= 0xffffffffn && b.umax <= 0xffffffffn;
    const signedOk = a.umax <= S32_MAX && b.umax <= S32_MAX;
    const isSigned = o === BPF_JSGT || o === BPF_JSGE || o === BPF_JSLT || o === BPF_JSLE;
    if (!(isSigned ? signedOk : unsignedOk)) return [a, b];
  }
  let A = { ...a };
  let B = { ...b };
  switch (o) {
    case BPF_JEQ: {
      const t = tintersect(a.t, b.t);
      A = {
        t,
        umin: max(a.umin, b.umin),
        umax: min(a.umax, b.umax),
        smin: max(a.smin, b.smin),
        smax: min(a.smax, b.smax),
      };
      B = { ...A };
      break;
    }
    case BPF_JNE:
      if (b.t.mask === 0n) A = notEqual(a, b.t.value);
      if (a.t.mask === 0n) B = notEqual(b, a.t.value);
      break;
    case BPF_JGT:
      A.umin = max(a.umin, b.umin + 1n);
      B.umax = min(b.umax, a.umax - 1n);
      break;
    case BPF_JGE:
      A.umin = max(a.umin, b.umin);
      B.umax = min(b.umax, a.umax);
      break;
    case BPF_JLT:
      A.umax = min(a.umax, b.umax - 1n);
      B.umin = max(b.umin, a.umin + 1n);
      break;
    case BPF_JLE:
      A.umax = min(a.umax, b.umax);
      B.umin = max(b.umin, a.umin);
      break;
    case BPF_JSGT:
      A.smin = max(a.smin, b.smin + 1n);
      B.smax = min(b.smax, a.smax - 1n);
      break;
    case BPF_JSGE:
      A.smin = max(a.smin, b.smin);
      B.smax = min(b.smax, a.smax);
      break;
    case BPF_JSLT:
      A.smax = min(a.smax, b.smax - 1n);
      B.smin = max(b.smin, a.smin + 1n);
      break;
    case BPF_JSLE:
      A.smax = min(a.smax, b.smax);
      B.smin = max(b.smin, a.smin);
      break;
    case BPF_JSET:
      if (b.t.mask === 0n && (b.t.value & (b.t.value - 1n)) === 0n && b.t.value !== 0n)
        A.t = tor(a.t, tconst(b.t.value));
      break;
    case JNSET:
      if (b.t.mask === 0n && !is32) A.t = tand(a.t, tconst(~b.t.value & U64));
      break;
  }
  const ra = sync(same(A, a) ? a : A);
  const rb = sync(same(B, b) ? b : B);
  // A side the bounds call impossible but is_branch_taken did not decide: the kernel still walks it, so
  // bpfkit walks it too, with what it knew before.
  if (!ra || !rb) return [a, b];
  return [ra, rb];
}

/** The same five facts (then syncing either gives the same result). */
const same = (x: Scalar, y: Scalar): boolean =>
  x === y ||
  (x.t.value === y.t.value &&
    x.t.mask === y.t.mask &&
    x.umin === y.umin &&
    x.umax === y.umax &&
    x.smin === y.smin &&
    x.smax === y.smax);

function notEqual(a: Scalar, v: bigint): Scalar {
  const r = { ...a };
  if (r.umin === v) r.umin++;
  if (r.umax === v) r.umax--;
  const sv = BigInt.asIntN(64, v);
  if (r.smin === sv) r.smin++;
  if (r.smax === sv) r.smax--;
  return r;
}
