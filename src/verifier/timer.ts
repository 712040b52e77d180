/**
 * bpf_timer_init, bpf_timer_set_callback, bpf_timer_start and bpf_timer_cancel (helpers 169-172, Linux
 * 6.18's check_func_arg with process_timer_func): R1 points, at a constant offset, to the map value's one
 * `struct bpf_timer`, found through the map's BTF; bpf_timer_init's map is the timer's own. The callback
 * bpf_timer_set_callback names runs later, on its own (push_async_cb): it is walked as a program of its
 * own, from a fresh state, with (map, key, value) in r1-r3, must return 0, and its stack counts apart
 * from its caller's. What bpfkit cannot see — a map whose BTF it does not know, inner maps of a map of
 * maps (their map_uid) — is said to be not modelled. A sleepable program uses them as any other; their
 * callback is not sleepable.
 */
import { Rejection } from './reject.js';
import { isConst } from './scalar.js';
import { type Env } from './env.js';
import {
  NOT_INIT,
  type Frame,
  type Reg,
  type State,
  UNKNOWN_SCALAR,
  type VerifierMap,
  cur,
  kindText,
  ptrReg,
} from './state.js';
import { REG_FP } from '../isa/opcodes.js';

const NAMES: ReadonlyMap<number, string> = new Map([
  [169, 'timer_init'],
  [170, 'timer_set_callback'],
  [171, 'timer_start'],
  [172, 'timer_cancel'],
]);

/** True for the four bpf_timer helpers. */
export const isTimerHelper = (id: number): boolean => NAMES.has(id);

/**
 * Program types bpfkit knows get the timer helpers from bpf_base_func_proto when no probe says otherwise
 * (syscall, 31, through tracing_prog_func_proto and raw_tp's table, as tp_btf).
 */
const BASE_TYPES: ReadonlySet<number> = new Set([1, 3, 4, 6, 17, 26, 31]);

/** Where a walk goes on after a call: the next instruction, and for set_callback the callback too. */
export interface TimerNext {
  pc: number;
  st: State;
}

/**
 * A call of timer helper `id` at `pc` (after the lock check); `ptype` is the program type whose helper
 * table applies (raw_tp for tp_btf). Returns where the walk goes on.
 */
export function timerCall(env: Env, st: State, pc: number, id: number, ptype: number): TimerNext[] {
  const name = `bpf_${NAMES.get(id)!}#${id}`;
  const notModelled = (why: string) => new Rejection(pc, `helper ${name}: bpfkit does not model ${why}`);
  const probed = env.helperAvailable?.(ptype, id);
  if (probed === false) throw new Rejection(pc, `program of this type cannot use helper ${name}`);
  if (probed === undefined && !BASE_TYPES.has(ptype)) throw notModelled('its availability in this program type');
  if (!env.gplCompatible)
    throw new Rejection(pc, 'cannot call GPL-restricted function from non-GPL compatible program');
  // A sleepable program may use timers as any other; its callback is not sleepable (calls.ts), and what a
  // sleepable program may not do bpfkit leaves not modelled (sleepable-calls.ts).
  const f = cur(st);
  const timer = f.regs[1]!;
  if (timer.kind === 'not_init') throw new Rejection(pc, 'R1 !read_ok');
  if (timer.kind !== 'map_value' || timer.nullable) throw notModelled(`R1 as ${kindText(timer)}`);
  // process_timer_func.
  if (!isConst(timer.s))
    throw new Rejection(pc, "R1 doesn't have constant offset. bpf_timer has to be at the constant offset");
  const map = timer.map!;
  if (!isTopLevel(env, map)) throw notModelled("an inner map's timer (map_uid)");
  const at = map.kernelFields?.find((x) => x.what === 'struct bpf_timer')?.off;
  // Without a timer in what bpfkit read, the map may have no BTF at all: the kernel's words differ.
  if (at === undefined) throw notModelled(`map '${map.name}' without a bpf_timer bpfkit finds in its BTF`);
  const off = timer.off + Number(timer.s.t.value);
  if (off !== at) throw new Rejection(pc, `off ${off} doesn't point to 'struct bpf_timer' that is at ${at}`);
  let callback: Reg | undefined;
  if (id === 169) {
    const m = f.regs[2]!;
    if (m.kind === 'not_init') throw new Rejection(pc, 'R2 !read_ok');
    if (m.kind !== 'map_ptr' || m.nullable) throw notModelled(`R2 as ${kindText(m)}`);
    if (!isTopLevel(env, m.map!)) throw notModelled('an inner map (map_uid)');
    if (m.map !== map)
      throw new Rejection(pc, "timer pointer in R1 map_uid=0 doesn't match map pointer in R2 map_uid=0");
  }
  if (id === 170) {
    callback = f.regs[2]!;
    if (callback.kind === 'not_init') throw new Rejection(pc, 'R2 !read_ok');
    if (callback.kind !== 'func') throw new Rejection(pc, `R2 type=${kindText(callback)} expected=func`);
  }
  const argc = id === 172 ? 1 : id === 170 ? 2 : 3;
  for (let r = 2; r <= argc; r++) if (f.regs[r]!.kind === 'not_init') throw new Rejection(pc, `R${r} !read_ok`);
  const out: TimerNext[] = [];
  if (callback) out.push({ pc: callback.target, st: asyncState(env, pc, callback.target, map) });
  for (let r = 1; r <= 5; r++) f.regs[r] = NOT_INIT;
  f.regs[0] = UNKNOWN_SCALAR;
  return [{ pc: pc + 1, st }, ...out];
}

/** A map the program names itself (not a map of maps' inner map, whose values carry a map_uid of their own). */
const isTopLevel = (env: Env, map: VerifierMap): boolean => [...env.maps.values()].includes(map);

/**
 * push_async_cb with set_timer_callback_state: a new path, one frame running the callback from `target`
 * with the timer's map, a key and a value of it, holding nothing (no reference, lock or RCU section).
 */
function asyncState(env: Env, pc: number, target: number, map: VerifierMap): State {
  (env.asyncCallbacks ??= new Set()).add(target);
  const regs: Reg[] = new Array<Reg>(11).fill(NOT_INIT);
  regs[1] = ptrReg('map_ptr', { map });
  regs[2] = ptrReg('map_key', { map });
  regs[3] = ptrReg('map_value', { map });
  regs[REG_FP] = ptrReg('fp', { frame: 0 });
  const frame: Frame = { regs, stack: new Map(), callsite: pc, subprog: target, async: true };
  return { frames: [frame], refs: new Map() };
}
