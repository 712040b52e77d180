/**
 * BPF exceptions: the kfunc bpf_throw(u64 cookie) ends the whole program from whatever frame calls it
 * (verifier.c's check_kfunc_call for KF_bpf_throw, then do_check's process_bpf_exit_full with
 * exception_exit), and the checks made once the walk is done (check_max_stack_depth): no throw from a
 * callback, or from anything a callback calls (nor a tail call there, a rule of the same pass); the
 * exception callback a decl tag names. Checked on Linux 6.18 by loading each case
 * (test/verifier/throw-cases.ts).
 *
 * At the call, in the kernel's order: a held bpf_spin_lock refuses any call that is not a graph kfunc;
 * the program type must have the generic kfunc set; the cookie is a scalar; with no exception callback
 * the cookie becomes the program's return value, so it is checked as the outermost frame's r0 would be
 * (the program's range, a timer callback's 0, any scalar for a global function verified on its own);
 * then every reference still held leaks, and an RCU read section or disabled preemption may not be left
 * that way. The path ends there: nothing after the call runs, and the frames above are not returned to.
 */
import { type Btf, BtfKind } from '../btf/index.js';
import type { Instruction } from '../isa/instruction.js';
import { declTags } from './btf-fields.js';
import type { GlobalFunc } from './btf-funcs.js';
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

/**
 * Does this call instruction name bpf_throw in the kernel's BTF (is_bpf_throw_kfunc)? Without that BTF
 * a kfunc call cannot be told apart: refused as not modelled (the walk refuses every kfunc call it
 * reaches so; this one it never reached, and the kernel's later pass looks at it all the same).
 */
export function isThrowCall(env: Env, insn: Instruction): boolean {
  // imm 0 names no function (kfunc-zero.ts), bpf_throw least of all.
  if (insn.code !== (BPF_JMP | BPF_CALL) || insn.src !== 2 || insn.off !== 0 || insn.imm === 0) return false;
  if (!env.kernelBtf)
    throw new Rejection(
      insn.pc,
      `kfunc call (btf_id ${insn.imm}): bpfkit tells bpf_throw by the kernel's BTF, and none was given (kernelBtf)`,
    );
  return env.kernelBtf.types[insn.imm]?.name === THROW_KFUNC;
}

/** Execute a bpf_throw call: its checks, then the end of the path (an exit of the whole program). */
export function throwCall(env: Env, st: State, insn: Instruction): Next[] {
  const pc = insn.pc;
  // do_check, before any call's own checks: under a spin lock only the graph kfuncs may be called.
  if (st.lock) throw new Rejection(pc, 'function calls are not allowed while holding a lock');
  // fetch_kfunc_meta: bpf_throw is in generic_kfunc_set (kernel/bpf/helpers.c). It takes no pointer, so
  // a sleepable program's pointer rules play no part (Linux 6.18 loads a syscall program's throw).
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
 * check_max_stack_depth's part on callbacks, after the walk: from the entry and from each callback that
 * runs on its own (timers, the exception callback), depth first through local calls and callback
 * references in instruction order. In a callback (a subprogram the walk ran as one: the kernel's is_cb)
 * or in anything a callback calls, a bpf_throw is refused, naming the throw and the subprogram (its
 * index) that holds it, and so is a subprogram with a tail call (Linux 6.18: `cannot tail call within
 * callback`, even where the walk never reached the tail call; the root callback's own are not looked
 * at). A local call of the exception callback is refused (the kernel runs it only after a throw), and a
 * callback that runs on its own may hold no tail call (Linux 6.18's `verifier bug`). Each rule was
 * checked by loading programs (test/verifier/throw-cases.ts).
 */
export function callbackChainChecks(
  insns: readonly Instruction[],
  cfg: Cfg,
  isThrow: (insn: Instruction) => boolean,
  callbacks: ReadonlySet<number>,
  async: ReadonlySet<number>,
  exceptionCb?: number,
): void {
  const tailCalls = insns.filter((i) => i.code === (BPF_JMP | BPF_CALL) && i.src === 0 && i.imm === 12);
  const anyCallback = callbacks.size > 0 || async.size > 0 || exceptionCb !== undefined;
  if (!insns.some(isThrow) && exceptionCb === undefined && !(tailCalls.length && anyCallback)) return;
  const byPc = new Map(insns.map((i) => [i.pc, i]));
  const endOf = (sp: number): number => {
    const k = cfg.subprogs.indexOf(sp);
    return k + 1 < cfg.subprogs.length ? cfg.subprogs[k + 1]! : cfg.slots;
  };
  // check_subprogs' has_tail_call: the subprograms holding a tail call, walked or not.
  const hasTailCall = new Set(tailCalls.map((i) => cfg.subprogOf(i.pc)));
  const isAsync = (sp: number): boolean => async.has(sp) || sp === exceptionCb;
  // Subprograms already found fine in the same position (under a callback or not, a root or not): each
  // is scanned once per position, where the kernel walks every chain again (the first fault is the same).
  const done = new Set<string>();
  const visit = (sp: number, underCb: boolean, root: boolean): void => {
    const inCb = underCb || callbacks.has(sp) || isAsync(sp);
    const key = `${sp}:${inCb}:${root}`;
    if (done.has(key)) return;
    done.add(key);
    if (!root && inCb && hasTailCall.has(sp)) throw new Rejection(sp, 'cannot tail call within callback');
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
      if (isAsync(target)) {
        if (hasTailCall.has(target)) throw new Rejection(pc, 'verifier bug: subprog has tail_call and async cb');
        // Named by reference it runs on its own: a root of its own below.
        if (ref) continue;
        if (target === exceptionCb) throw new Rejection(pc, `insn ${pc} cannot call exception cb directly`);
      }
      visit(target, inCb, false);
    }
  };
  visit(0, false, true);
  for (const sp of cfg.subprogs) if (sp !== 0 && isAsync(sp)) visit(sp, false, true);
}

/** The BTF decl tag on the program's function that names its exception callback. */
const TAG = 'exception_callback:';
/** BTF_FUNC_GLOBAL, a FUNC's linkage (its vlen). */
const LINKAGE_GLOBAL = 1;

/**
 * The exception callback a program names (bpf_find_exception_callback_insn_off, in the kernel's first
 * pass): the `exception_callback:<name>` decl tag on the function of func_info's first record, at most one;
 * the first FUNC of that name in the program's BTF, with global linkage; its func_info record (the last
 * one with its type) gives the first slot. Returns that slot, the kernel's refusal (its words), or
 * undefined when the program names none (or has no func_info).
 */
export function exceptionCallbackOf(
  btf: Btf,
  funcInfo: readonly { pc: number; typeId: number }[] | undefined,
): number | { refused: string } | undefined {
  if (!funcInfo?.length) return undefined;
  const main = funcInfo[0]!.typeId;
  const tags = declTags(btf, main).filter((t) => t.component === -1 && t.name.startsWith(TAG));
  if (!tags.length) return undefined;
  if (tags.length > 1) return { refused: 'multiple exception callback tags for main subprog' };
  const name = tags[0]!.name.slice(TAG.length);
  const fn = btf.types.find((t) => t?.kind === BtfKind.FUNC && t.name === name);
  if (!fn) return { refused: `exception callback '${name}' could not be found in BTF` };
  if (fn.vlen !== LINKAGE_GLOBAL) return { refused: `exception callback '${name}' must have global linkage` };
  const id = btf.types.indexOf(fn);
  const rec = funcInfo.filter((f) => f.typeId === id).pop();
  if (!rec) return { refused: 'exception callback type id not found in func_info' };
  if (rec.pc === 0) return { refused: 'invalid exception callback insn_off in func_info: 0' };
  return rec.pc;
}

/**
 * do_check_common for the exception callback, before its walk: a global function (btf_prepare_func_args'
 * refusals first) of exactly one scalar argument. Throws the kernel's refusal.
 */
export function exceptionCallbackEntry(g: GlobalFunc): void {
  if (g.bad) throw new Rejection(g.pc, g.bad);
  const bad = g.args.find((a) => a.kind === 'bad');
  if (bad?.kind === 'bad') throw new Rejection(g.pc, bad.message);
  if (g.args.length !== 1 || g.args[0]!.kind !== 'scalar')
    throw new Rejection(g.pc, 'exception cb only supports single integer argument');
}
