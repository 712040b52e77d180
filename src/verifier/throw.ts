/**
 * BPF exceptions: the kfunc bpf_throw(u64 cookie) ends the whole program from whatever frame calls it
 * (verifier.c's check_kfunc_call for KF_bpf_throw, then do_check's process_bpf_exit_full with
 * exception_exit), and the checks made once the walk is done (check_max_stack_depth): no throw from a
 * callback, or from anything a callback calls. Checked on Linux 6.18 by loading each case
 * (test/verifier/throw-cases.ts).
 *
 * At the call, in the kernel's order: a held bpf_spin_lock refuses any call that is not a graph kfunc;
 * the program type must have the generic kfunc set; the cookie is a scalar; with no exception callback
 * the cookie becomes the program's return value, so it is checked as the outermost frame's r0 would be
 * (the program's range, a timer callback's 0, any scalar for a global function verified on its own);
 * then every reference still held leaks, and an RCU read section or disabled preemption may not be left
 * that way. The path ends there: nothing after the call runs, and the frames above are not returned to.
 */
import type { Instruction } from '../isa/instruction.js';
import { BPF_CALL, BPF_JMP, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, OP_LDDW, classOf, opOf } from '../isa/opcodes.js';
import type { Next } from './calls.js';
import { leakText } from './calls.js';
import type { Cfg } from './cfg.js';
import type { Env } from './env.js';
import { sectionLeak } from './kfunc-sections.js';
import { kfuncSetAllowed } from './kfunc-table.js';
import { Rejection } from './reject.js';
import { invalidScalarText, returnRange } from './return-code.js';
import { type State, cur } from './state.js';

/** The kfunc's name in the kernel's BTF. */
export const THROW_KFUNC = 'bpf_throw';

/** Does this call instruction name bpf_throw in the kernel's BTF (is_bpf_throw_kfunc)? */
export function isThrowCall(env: Env, insn: Instruction): boolean {
  if (insn.code !== (BPF_JMP | BPF_CALL) || insn.src !== 2 || insn.off !== 0) return false;
  return env.kernelBtf?.types[insn.imm]?.name === THROW_KFUNC;
}

/** Execute a bpf_throw call: its checks, then the end of the path (an exit of the whole program). */
export function throwCall(env: Env, st: State, insn: Instruction): Next[] {
  const pc = insn.pc;
  // do_check, before any call's own checks: under a spin lock only the graph kfuncs may be called.
  if (st.lock) throw new Rejection(pc, 'function calls are not allowed while holding a lock');
  // A sleepable program (syscall, .s sections) runs outside an RCU read section: not checked here.
  if (env.sleepable) throw new Rejection(pc, `kfunc ${THROW_KFUNC}: bpfkit does not model it in a sleepable program`);
  // fetch_kfunc_meta: bpf_throw is in generic_kfunc_set (kernel/bpf/helpers.c).
  if (!kfuncSetAllowed('generic', env.progType))
    throw new Rejection(pc, `calling kernel function ${THROW_KFUNC} is not allowed`);
  const r1 = cur(st).regs[1]!;
  // check_kfunc_args: the u64 cookie is a scalar.
  if (r1.kind !== 'scalar') throw new Rejection(pc, 'R1 is not a scalar');
  if (env.exceptionCallback === undefined) cookieCheck(env, st, pc);
  // check_resource_leak for an exceptional exit: every reference, whichever frame took it, then the
  // sections (a held lock was refused at the call).
  if (st.refs.size) throw new Rejection(pc, leakText(st, `${THROW_KFUNC} would lead to reference leak`));
  sectionLeak(st, pc, THROW_KFUNC);
  // The return-code checks of an ordinary exit are skipped: the path simply ends.
  return [];
}

/**
 * check_return_code(R1) at a throw without an exception callback: the cookie is the value the outermost
 * frame returns — a timer callback's 0, the program's range, any scalar for a global function walked on
 * its own (its caller's range is not checked: Linux 6.18 loads a cgroup_skb program whose global
 * function throws 5).
 */
function cookieCheck(env: Env, st: State, pc: number): void {
  const r1 = cur(st).regs[1]!;
  if (r1.kind !== 'scalar') return;
  const outer = st.frames[0]!;
  let range: readonly [bigint, bigint] | undefined;
  let where = 'At program exit';
  if (outer.async) {
    range = [0n, 0n];
    where = 'At async callback return';
  } else if (env.entry === 0) range = returnRange(env.progType, env.attachType);
  if (!range) return;
  env.precision?.mark(1);
  if (r1.s.smin < range[0] || r1.s.smax > range[1])
    throw new Rejection(pc, invalidScalarText(where, r1.s, range, 'R1'));
}

/**
 * check_max_stack_depth's part on exceptions, after the walk: from the entry and from each callback that
 * runs on its own (timers), depth first through local calls and callback references in instruction
 * order, a bpf_throw met in a callback (a subprogram the walk ran as one: the kernel's is_cb) or in
 * anything a callback calls is refused, naming the throw and the subprogram (its index) that holds it.
 */
export function throwInCallback(
  insns: readonly Instruction[],
  cfg: Cfg,
  isThrow: (insn: Instruction) => boolean,
  callbacks: ReadonlySet<number>,
  async: ReadonlySet<number>,
): void {
  if (!insns.some(isThrow)) return;
  const byPc = new Map(insns.map((i) => [i.pc, i]));
  const endOf = (sp: number): number => {
    const k = cfg.subprogs.indexOf(sp);
    return k + 1 < cfg.subprogs.length ? cfg.subprogs[k + 1]! : cfg.slots;
  };
  // Subprograms whose throws are already known to be fine with a callback above (or not): each visited
  // once per answer, where the kernel walks every chain again (the first fault is the same).
  const done = new Set<string>();
  const visit = (sp: number, underCb: boolean): void => {
    const inCb = underCb || callbacks.has(sp) || async.has(sp);
    const key = `${sp}:${inCb}`;
    if (done.has(key)) return;
    done.add(key);
    for (let pc = sp; pc < endOf(sp); pc++) {
      const insn = byPc.get(pc);
      if (!insn) continue;
      if (isThrow(insn)) {
        if (inCb)
          throw new Rejection(
            pc,
            `bpf_throw kfunc (insn ${pc}) cannot be called from callback subprog ${cfg.subprogs.indexOf(sp)}`,
          );
        continue;
      }
      const call = classOf(insn.code) === BPF_JMP && opOf(insn.code) === BPF_CALL && insn.src === BPF_PSEUDO_CALL;
      const ref = insn.code === OP_LDDW && insn.src === BPF_PSEUDO_FUNC;
      if (!call && !ref) continue;
      const target = pc + insn.imm + 1;
      // A timer callback named by reference runs on its own: it is a root of its own below.
      if (ref && async.has(target)) continue;
      visit(target, inCb);
    }
  };
  visit(0, false);
  for (const sp of cfg.subprogs) if (sp !== 0 && async.has(sp)) visit(sp, false);
}
