/**
 * bpf_spin_lock and bpf_spin_unlock (Linux 6.18's process_spin_lock and the checks around it): the lock
 * is the `struct bpf_spin_lock` field of a map value, found through the map's BTF, passed at its exact
 * offset; one lock is held at a time and the unlock names the same one (the same map and the same
 * register id: every lookup of a map with a lock gives its value an id of its own, kept after the NULL
 * check); while it is held no helper but bpf_spin_unlock is called, no global function, no tail call, no
 * BPF_LD_[ABS|IND], and the main program does not exit. A static subprogram may take or give back the lock.
 * What bpfkit cannot see — a map whose BTF it does not know, other lock kinds (bpf_res_spin_lock), locks
 * inside callbacks, allocated objects — is said to be not modelled.
 */
import type { Env } from './env.js';
import { newId } from './env.js';
import { ALLOC_OBJECTS, RBTREE_LESS_CB } from './graph.js';
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import { UNKNOWN_SCALAR, cur, forEachReg, kindText, type Reg, type State, type VerifierMap } from './state.js';

const SPIN_LOCK = 'struct bpf_spin_lock';

/** The offset of the map value's `struct bpf_spin_lock`, if bpfkit found one in the map's BTF. */
export function spinLockOffset(map: VerifierMap | undefined): number | undefined {
  return map?.kernelFields?.find((f) => f.what === SPIN_LOCK)?.off;
}

/**
 * check_map_prog_compatibility, for every map an instruction names (before the walk): a map value with a
 * list or tree root is not for the tracing types (is_tracing_prog_type), nor one with a spin lock, which
 * socket filters may not use either, nor one with a timer or a bpf_wq — in that order (a value with both a root and a
 * lock is refused for its root).
 */
export function spinLockMapUse(map: VerifierMap, progType: number): string | undefined {
  // kprobe, tracepoint, perf_event, raw_tracepoint, raw_tracepoint_writable.
  const tracing = [2, 5, 7, 17, 24].includes(progType);
  const has = (what: string) => map.kernelFields?.some((f) => f.what === what) === true;
  if (tracing && (has('struct bpf_list_head') || has('struct bpf_rb_root')))
    return 'tracing progs cannot use bpf_{list_head,rb_root} yet';
  if (spinLockOffset(map) !== undefined) {
    if (progType === 1) return 'socket filter progs cannot use bpf_spin_lock yet';
    if (tracing) return 'tracing progs cannot use bpf_spin_lock yet';
  }
  // A timer (timer.ts) after the lock: the same tracing types may not use one.
  if (tracing && has('struct bpf_timer')) return 'tracing progs cannot use bpf_timer yet';
  if (tracing && has('struct bpf_wq')) return 'tracing progs cannot use bpf_wq yet';
  return undefined;
}

/**
 * The id a map value handed out never NULL gets: a fresh one when the map holds a spin lock (the kernel
 * tells the locks of two lookups apart by it), else 0.
 */
export function nonNullValueId(env: Env, map: VerifierMap | undefined): number {
  return spinLockOffset(map) === undefined ? 0 : newId(env);
}

/** mark_ptr_or_null_reg: a map value (or allocated object) proven non-NULL keeps its id when it may point to a spin lock. */
export function keepsIdAfterNullCheck(r: Reg): boolean {
  if (r.kind === 'alloc') return r.alloc!.fields.some((f) => f.what === SPIN_LOCK);
  return r.kind === 'map_value' && spinLockOffset(r.map) !== undefined;
}

/** Before a helper call (do_check): while a lock is held only bpf_spin_unlock may be called. */
export function checkCallUnderLock(st: State, pc: number, helper: number): void {
  if (st.lock && helper !== 94) throw new Rejection(pc, 'function calls are not allowed while holding a lock');
}

/** bpf_spin_lock (93) or bpf_spin_unlock (94) with R1 = `reg`: take or give back the lock on this path. */
export function spinLockCall(st: State, pc: number, helper: number, reg: Reg): void {
  // bpf_rbtree_add's `less` (graph.ts) may take no lock: it runs under its caller's (check_func_arg,
  // after the argument's type). Other callbacks are not modelled.
  const inLess = cur(st).callback?.helper === RBTREE_LESS_CB;
  if (st.frames.some((f) => f.callback) && !inLess)
    throw new Rejection(pc, 'bpf_spin_lock inside a callback: bpfkit does not model it');
  // spin_lock_types: a map value or an allocated object (graph.ts), not NULL.
  if ((reg.kind !== 'map_value' && reg.kind !== 'alloc') || reg.nullable)
    throw new Rejection(pc, `R1 type=${kindText(reg)} expected=map_value, ptr_`);
  if (inLess) {
    if (reg.kind === 'alloc' && (reg.alloc!.nonOwning || !isConst(reg.s) || reg.s.t.value !== 0n))
      throw new Rejection(pc, 'bpf_spin_lock of this allocated object in a callback: bpfkit does not model it');
    throw new Rejection(pc, "can't spin_{lock,unlock} in rbtree cb");
  }
  // A non-owning reference's lock: not modelled.
  if (reg.alloc?.nonOwning || reg.alloc?.rcu)
    throw new Rejection(pc, 'bpf_spin_lock in a non-owning reference to an allocated object: bpfkit does not model it');
  if (!isConst(reg.s))
    throw new Rejection(pc, "R1 doesn't have constant offset. bpf_spin_lock has to be at the constant offset");
  const map = reg.alloc ? { ...ALLOC_OBJECTS, kernelFields: reg.alloc.fields } : reg.map!;
  const at = spinLockOffset(map);
  // Without a lock in what bpfkit read of the map's BTF, the kernel may find the map without BTF, or
  // with a lock bpfkit does not recognise: not judged.
  if (at === undefined || map.kernelFields!.some((f) => f.what === 'struct bpf_res_spin_lock'))
    throw new Rejection(
      pc,
      `map '${map.name}': bpfkit does not find a struct bpf_spin_lock in the map's BTF (not modelled)`,
    );
  const off = Number(reg.s.t.value) + reg.off;
  if (off !== at) throw new Rejection(pc, `off ${off} doesn't point to 'struct bpf_spin_lock' that is at ${at}`);
  if (helper === 93) {
    if (st.lock) throw new Rejection(pc, 'Locking two bpf_spin_locks are not allowed');
    st.lock = { map: reg.alloc ? ALLOC_OBJECTS : map, id: reg.id };
    return;
  }
  if (!st.lock) throw new Rejection(pc, 'bpf_spin_unlock without taking a lock');
  if (st.lock.map !== (reg.alloc ? ALLOC_OBJECTS : map) || st.lock.id !== reg.id)
    throw new Rejection(pc, 'bpf_spin_unlock of different lock');
  st.lock = undefined;
  // invalidate_non_owning_refs: what was pushed under the lock may be freed once it is given back.
  forEachReg(st, (r) => (r.alloc?.nonOwning ? UNKNOWN_SCALAR : r));
}
