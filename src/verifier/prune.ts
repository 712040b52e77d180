/**
 * State pruning (the kernel's states_equal): a path reaching an instruction in a state that an already
 * fully explored state at that instruction covers needs no further walk. "Covers" means every register
 * the rest of the program may read is at least as general (scalar ranges contain, pointers match with a
 * consistent renaming of ids), every stack byte likewise, and the same references are held. Scalars the
 * old state holds imprecise (no instruction after it relied on their values, precision.ts) match any
 * scalar. The exact form detects loops that come back to where they started.
 */
import { contains, sameScalar } from './scalar.js';
import {
  ByteType,
  type DynptrSlice,
  type Reg,
  type Slot,
  type State,
  UNKNOWN_SCALAR,
  cloneState,
  writableStack,
} from './state.js';

/** A renaming of ids between an old and a current state, which must stay one-to-one. */
/**
 * How two states are compared (the kernel's exact_level): `Covers` ignores imprecise scalars, `Ranges`
 * compares every scalar by range (against states whose precision marks are not final yet), `Exact`
 * wants the same state (loop detection).
 */
export const enum Compare {
  Covers = 0,
  Exact = 1,
  Ranges = 2,
}

class IdMap {
  private readonly fwd = new Map<number, number>();
  private readonly back = new Map<number, number>();
  private fresh = -1;
  /** Forget every pairing, for the next comparison (one map serves every covers call). */
  reset(): this {
    if (this.fwd.size) {
      this.fwd.clear();
      this.back.clear();
    }
    this.fresh = -1;
    return this;
  }
  /** For scalars: id 0 links nothing, so it matches anything; a current 0 links nothing either. */
  check(old: number, now: number): boolean {
    if (old === 0) return true;
    if (now === 0) now = this.fresh--;
    return this.exact(old, now);
  }
  /**
   * For pointers (check_ids): id 0 links nothing and matches only 0, without a pairing (the ids share one
   * space with scalars', so a pairing for 0 could clash with a scalar's).
   */
  pointer(old: number, now: number): boolean {
    return old === 0 || now === 0 ? old === now : this.exact(old, now);
  }
  /** Every id, 0 included, names a group whose members move together. */
  exact(old: number, now: number): boolean {
    const f = this.fwd.get(old);
    const b = this.back.get(now);
    if (f === undefined && b === undefined) {
      this.fwd.set(old, now);
      this.back.set(now, old);
      return true;
    }
    return f === now && b === old;
  }
  /** Is `old` mapped to one of `candidates` (or unmapped while one candidate is free)? */
  holds(old: number, candidates: number[]): boolean {
    const f = this.fwd.get(old);
    if (f !== undefined) return candidates.includes(f);
    return candidates.some((c) => !this.back.has(c) && this.exact(old, c));
  }
}

const sameSlice = (a: DynptrSlice | undefined, b: DynptrSlice | undefined): boolean =>
  a === b || (!!a && !!b && a.pkt === b.pkt && a.frame === b.frame && a.lo === b.lo && a.hi === b.hi);

function regSafe(old: Reg, now: Reg, ids: IdMap, mode: Compare): boolean {
  const exact = mode === Compare.Exact;
  if (old.kind === 'not_init') return !exact || now.kind === 'not_init';
  if (old.kind !== now.kind) return false;
  // regsafe: the old path never relied on this scalar's value.
  if (old.kind === 'scalar' && mode === Compare.Covers && !old.precise) return true;
  // The same register object (untouched since the state was remembered): only its ids need pairing.
  if (old === now) {
    if (old.kind === 'scalar') return old.id === 0 || ids.check(old.id, now.id);
    if (!ids.pointer(old.id, now.id)) return false;
    if (old.dynptr && !ids.exact(-old.dynptr - 2e9, -now.dynptr! - 2e9)) return false;
    return !old.ref || ids.exact(-old.ref - 1e9, -now.ref - 1e9);
  }
  if (old.kind === 'scalar') {
    // regsafe: a register linked K apart is another value than one linked 0 apart, or unlinked; but an
    // old register linked to nothing covers a current one linked K apart (Linux 6.18, checked: the link
    // only tells the current path more).
    if ((old.id !== 0 || old.addConst) && (old.addConst !== now.addConst || (old.addConst && old.off !== now.off)))
      return false;
    if (!(exact ? sameScalar(old.s, now.s) : contains(old.s, now.s))) return false;
    return old.id === 0 ? true : ids.check(old.id, now.id);
  }
  if (old.off !== now.off || old.nullable !== now.nullable || old.map !== now.map || old.btf !== now.btf) return false;
  if (old.rdonly !== now.rdonly || old.alloc !== now.alloc) return false;
  if (old.frame !== now.frame || old.size !== now.size || old.target !== now.target) return false;
  if (!(exact ? sameScalar(old.s, now.s) : contains(old.s, now.s))) return false;
  if (exact ? old.range !== now.range : old.range > now.range) return false;
  if (!ids.pointer(old.id, now.id)) return false;
  if ((old.ref || now.ref) && !ids.exact(-old.ref - 1e9, -now.ref - 1e9)) return false;
  // A dynptr's slice dies with its dynptr: the two must belong to dynptrs that correspond.
  if ((old.dynptr || now.dynptr) && !ids.exact(-(old.dynptr ?? 0) - 2e9, -(now.dynptr ?? 0) - 2e9)) return false;
  // A kfunc's slice: the same packet flag and stack buffer (what may invalidate it later).
  return sameSlice(old.slice, now.slice);
}

const INVALID: readonly ByteType[] = new Array<ByteType>(8).fill(ByteType.Invalid);

/** Every byte Misc or Invalid: a load gives an unknown scalar (the kernel's is_stack_all_misc, privileged). */
const allMisc = (s: Slot | undefined): boolean =>
  !s || (!s.spill && s.bytes.every((b) => b === ByteType.Misc || b === ByteType.Invalid));

function slotSafe(old: Slot | undefined, now: Slot | undefined, ids: IdMap, mode: Compare): boolean {
  const exact = mode === Compare.Exact;
  // stacksafe's STACK_ITER: the same iterator, slot and state, its references paired; the depth never
  // counts (it only tells loop iterations apart for the infinite-loop check, walk.ts).
  if (old?.iter) {
    const o = old.iter;
    const n = now?.iter;
    return (
      n !== undefined &&
      o.btfId === n.btfId &&
      o.index === n.index &&
      o.state === n.state &&
      ids.exact(-o.ref - 1e9, -n.ref - 1e9)
    );
  }
  if (old === now && !exact && !old?.spill && !old?.dynptr) return true;
  // stacksafe's STACK_DYNPTR: the same type and slot, holding references that correspond. Anything
  // else where the old state had a dynptr is not covered; a dynptr where it had nothing is.
  if (old?.dynptr) {
    const d = old.dynptr;
    const n = now?.dynptr;
    if (!n || n.type !== d.type || n.first !== d.first) return false;
    if ((d.ref || n.ref) && !ids.exact(-d.ref - 1e9, -n.ref - 1e9)) return false;
    return !exact || ids.exact(-d.id - 2e9, -n.id - 2e9);
  }
  if (now?.dynptr && exact) return false;
  const ob = old?.bytes ?? INVALID;
  const nb = now?.bytes ?? INVALID;
  let from = 0;
  if (old?.spill) {
    // An imprecise 64-bit scalar spill covers a slot of unknown bytes (scalar_reg_for_stack).
    const sp = old.spill;
    if (mode === Compare.Covers && sp.kind === 'scalar' && !sp.precise && (old.spillSize ?? 8) === 8 && allMisc(now))
      return true;
    if (!now?.spill || (old.spillSize ?? 8) !== (now.spillSize ?? 8)) return false;
    if (!regSafe(old.spill, now.spill, ids, mode)) return false;
    from = old.spillSize ?? 8;
  }
  for (let i = from; i < 8; i++) {
    const o = ob[i]!;
    const n = nb[i]!;
    if (exact) {
      if (o !== n) return false;
      continue;
    }
    if (o === ByteType.Invalid) continue;
    if (o === ByteType.Misc) {
      // stacksafe with allow_uninit_stack (a privileged loader): an old byte of unknown data covers
      // anything, a spilled pointer's byte too (checked on the kernel: a narrow read, or arithmetic that
      // a pointer refuses, after such a join is accepted). By ranges (loops), not a spilled pointer.
      if (mode === Compare.Covers) continue;
      if (n === ByteType.Spill && now?.spill?.kind !== 'scalar') return false;
      continue;
    }
    if (o === ByteType.Zero && n !== ByteType.Zero) return false;
  }
  if (exact && now?.spill && !old?.spill) return false;
  return true;
}

const sharedIds = new IdMap();

/**
 * Does `old` cover `now` at an instruction whose live registers (innermost frame) are `live`?
 * With Compare.Exact, are they the same state (for loop detection)? `read`: the stack slots old's
 * continuation read (walk.ts), when its marks are final; the others are skipped with Compare.Covers.
 * `liveAt`: the live registers before an instruction (stage 1's), for callers' frames with Compare.Covers.
 */
export function covers(
  old: State,
  now: State,
  live: number,
  mode: Compare,
  read?: Uint32Array,
  liveAt?: Uint16Array,
): boolean {
  const exact = mode === Compare.Exact;
  if (old.frames.length !== now.frames.length) return false;
  if (old.refs.size !== now.refs.size) return false;
  const ids = sharedIds.reset();
  const last = old.frames.length - 1;
  for (let i = 0; i <= last; i++) {
    const fo = old.frames[i]!;
    const fn = now.frames[i]!;
    if (fo.callsite !== fn.callsite || fo.subprog !== fn.subprog) return false;
    if ((fo.callback === undefined) !== (fn.callback === undefined)) return false;
    // func_states_equal: a state that has called its callback more times covers no state with fewer.
    if ((fo.callbackDepth ?? 0) > (fn.callbackDepth ?? 0)) return false;
    // Callers: r0-r5 are overwritten on return, but a callback returns to its helper's call, which reads
    // r1-r5 again.
    const firstKept = i < last && old.frames[i + 1]!.callback ? 1 : 6;
    // A caller's registers that are dead at its call (nothing after the call reads them) do not matter
    // either: Linux 6.18's clean_verifier_state cleans each caller frame by the live registers before its
    // call instruction (compute_live_registers), in the fully explored states it compares against.
    const callerLive =
      i < last && mode === Compare.Covers && liveAt ? (liveAt[old.frames[i + 1]!.callsite] ?? 0xffff) : 0xffff;
    for (let r = 0; r < 11; r++) {
      // The innermost frame: only live registers matter.
      if (i === last ? !(live & (1 << r)) && !exact : r < firstKept || !(callerLive & (1 << r))) continue;
      if (!regSafe(fo.regs[r]!, fn.regs[r]!, ids, mode)) return false;
    }
    // stacksafe: a slot the old state's continuation never read does not matter (only with its marks final).
    // A dynptr's slots count as read always: a store over one is a check too (cannot overwrite
    // referenced dynptr), which the read marks do not see.
    const unread = (k: number) =>
      mode === Compare.Covers && read !== undefined && (read[2 * i + (k >> 5)]! & (1 << (k & 31))) === 0;
    for (const [k, slot] of fo.stack) {
      const now = fn.stack.get(k);
      if ((!unread(k) || slot.dynptr || now?.dynptr) && !slotSafe(slot, now, ids, mode)) return false;
    }
    for (const [k, slot] of fn.stack)
      if (!fo.stack.has(k) && (!unread(k) || slot.dynptr) && !slotSafe(undefined, slot, ids, mode)) return false;
  }
  // states_equal: an RCU read section and preemption disabled the same way in both.
  if (!!old.rcu !== !!now.rcu || (old.preempt ?? 0) !== (now.preempt ?? 0)) return false;
  // The spin lock: held in both or neither, on the same map, through values whose ids correspond.
  if (!!old.lock !== !!now.lock) return false;
  if (old.lock && (old.lock.map !== now.lock!.map || !ids.pointer(old.lock.id, now.lock!.id))) return false;
  // References: each one the old state held must be one the current state holds (matched via registers).
  for (const ref of old.refs.keys())
    if (
      !ids.holds(
        -ref - 1e9,
        [...now.refs.keys()].map((r) => -r - 1e9),
      )
    )
      return false;
  return true;
}

/**
 * The kernel's widen_imprecise_scalars, for may_goto loops: `now` with every scalar (register or spilled)
 * that is imprecise in both states and not the same in `old` made unknown. Precise scalars are kept: the
 * loop is walked on with their exact values.
 */
export function widenImprecise(old: State, now: State): State {
  const out = cloneState(now);
  const widenReg = (a: Reg | undefined, b: Reg): Reg =>
    a?.kind === 'scalar' && b.kind === 'scalar' && !a.precise && !b.precise && !sameScalar(a.s, b.s)
      ? UNKNOWN_SCALAR
      : b;
  const n = Math.min(old.frames.length, out.frames.length);
  for (let i = 0; i < n; i++) {
    const fo = old.frames[i]!;
    const fn = out.frames[i]!;
    for (let r = 0; r < 11; r++) fn.regs[r] = widenReg(fo.regs[r], fn.regs[r]!);
    for (const [k, sb] of fn.stack) {
      const sa = fo.stack.get(k);
      if (!sa?.spill || !sb.spill) continue;
      const w = widenReg(sa.spill, sb.spill);
      if (w !== sb.spill) writableStack(fn).set(k, { ...sb, spill: w });
    }
  }
  return out;
}
