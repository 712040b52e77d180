/**
 * Calls: helpers (argument types and sizes checked against their prototypes, return types, references
 * taken and released, packet pointers invalidated), bpf-to-bpf calls (a new frame, at most 8 deep), and
 * callbacks (bpf_loop, bpf_for_each_map_elem), which the walk enters as the kernel does: each call of the
 * callback returns to the helper's call, which may call it again (a loop that may run zero times).
 */
import type { Instruction } from '../isa/instruction.js';
import { BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD, MAX_CALL_FRAMES, REG_FP } from '../isa/opcodes.js';
import type { GlobalFunc } from './btf-funcs.js';
import { currentTaskBtf } from './btf-ptr.js';
import { trustedArgFault, trustedEntryReg } from './trusted-args.js';
import { kfuncPlaceholder } from './kfunc-zero.js';
import { btfMemArg, btfMemSize, btfObjArg, btfObjReturn, btfSockArg, percpuArg } from './btf-args.js';
import { iterHelperProto, seqFileArg } from './iter.js';
import { constStrArg } from './const-str.js';
import { checkCallUnderLock, nonNullValueId, spinLockCall } from './spin-lock.js';
import { type Env, newId } from './env.js';
import { ctxOffFault, pktHelperAccess } from './ctx-access.js';
import { globalDynptrArg } from './dynptr-kfunc.js';
import { kfuncCall } from './kfunc.js';
import { KPTR_XCHG, kptrXchgCall } from './kptr-xchg.js';
import { isTimerHelper, timerCall } from './timer.js';
import { sectionUnmodelled } from './kfunc-sections.js';
import { structOpsHelper, structOpsHelperType, structOpsProto } from './struct-ops.js';
import {
  HELPER_PROTOS,
  MAP_ONLY_WITH,
  helperAllowed,
  helperAttachAllowed,
  helperProto,
  type HelperProto,
  tracingProgProto,
} from './helpers.js';
import { unmodelledHelper } from './unmodelled-helpers.js';
import { FIND_VMA, findVmaCallbackArgs } from './find-vma.js';
import { helperNameInBtf } from './ksyms.js';
import { TP_BTF_MORE, TP_BTF_REFUSED, iterSockoptProto, mightSleepFault } from './hook-helpers.js';
import { TP_NULL_SERIES, onTableSeries } from './tp-null.js';
import { snprintfFormat } from './bprintf.js';
import { clearPacketPointers } from './jumps.js';
import { helperMem, noteDepth } from './memory.js';
import { type DynptrUse, dynptrArg, releaseDynptrSlots } from './dynptr.js';
import { isSockMap, sockArg, sockMapLookup, sockReturn } from './sock-ptr.js';
import { Rejection } from './reject.js';
import { isConst, sync, UNKNOWN, withFacts } from './scalar.js';
import { tadd, tconst, tstr } from './tnum.js';
import { MapType, ProgType } from '../uapi/types.js';
import {
  ByteType,
  type Frame,
  NOT_INIT,
  type Reg,
  type State,
  UNKNOWN_SCALAR,
  type VerifierMap,
  cloneState,
  cur,
  forEachReg,
  kindText,
  ptrReg,
  scalarReg,
} from './state.js';

const MAX_VAR_SIZE = 1 << 29;

/** One way the walk continues: a state at an instruction. */
export interface Next {
  pc: number;
  st: State;
}

/** A fresh frame running `subprog`, called from `callsite`, with r1-r5 given. */
function newFrame(st: State, callsite: number, subprog: number, args: Reg[]): Frame {
  const regs = new Array<Reg>(11).fill(NOT_INIT);
  args.forEach((r, i) => (regs[i + 1] = r));
  regs[REG_FP] = ptrReg('fp', { frame: st.frames.length });
  return { regs, stack: new Map(), callsite, subprog };
}

/** Execute a call instruction. */
export function checkCall(env: Env, st: State, insn: Instruction): Next[] {
  const pc = insn.pc;
  if (insn.src === BPF_PSEUDO_CALL) {
    const target = pc + insn.imm + 1;
    // setup_func_entry's words (no "!", unlike check_max_stack_depth's after the walk).
    if (st.frames.length >= MAX_CALL_FRAMES)
      throw new Rejection(pc, `the call stack of ${st.frames.length + 1} frames is too deep`);
    const caller = cur(st);
    const global = env.globals.get(target);
    if (global) {
      varOffBtfArgFault(pc, caller.regs);
      return globalCall(env, st, pc, global);
    }
    const args = [1, 2, 3, 4, 5].map((r) => caller.regs[r]!);
    st.frames.push(newFrame(st, pc, target, args));
    return [{ pc: target, st }];
  }
  // A kfunc call with id 0 is stepped over (kfunc-zero.ts) before any argument is looked at.
  if (insn.src === BPF_PSEUDO_KFUNC_CALL && kfuncPlaceholder(env, insn)) return [{ pc: pc + 1, st }];
  varOffBtfArgFault(pc, cur(st).regs);
  if (insn.src === BPF_PSEUDO_KFUNC_CALL) return kfuncCall(env, st, insn);
  return helperCall(env, st, insn);
}

/**
 * A BTF pointer moved by a variable (alu.ts lets it) in an argument register of a helper, kfunc or
 * global function: the kernel checks its offset (__check_ptr_off_reg) at a point of its argument checks
 * that depends on the callee; bpfkit's argument checks assume a fixed offset, so it says it does not model it.
 */
function varOffBtfArgFault(pc: number, regs: readonly Reg[]): void {
  for (let r = 1; r <= 5; r++) {
    const reg = regs[r];
    if (reg?.kind === 'btf_id' && !(isConst(reg.s) && reg.s.t.value === 0n))
      throw new Rejection(pc, `R${r} a BTF pointer at a variable offset passed to a call: bpfkit does not model it`);
  }
}

/**
 * A call of a global function (btf_check_subprog_call): the arguments must match its prototype; the
 * function itself is verified once on its own, and the caller goes on with an unknown scalar in r0.
 */
function globalCall(env: Env, st: State, pc: number, g: GlobalFunc): Next[] {
  const f = cur(st);
  const refuse = (why: string) =>
    new Rejection(pc, `${why}\nCaller passes invalid args into func#${env.cfg.subprogs.indexOf(g.pc)} ('${g.name}')`);
  // check_func_call: only static functions may be called with a spin lock held.
  if (st.lock)
    throw new Rejection(pc, 'global function calls are not allowed while holding a lock,\nuse static function instead');
  const inSection = sectionUnmodelled(st, 'a global function call');
  if (inSection) throw new Rejection(pc, inSection);
  if (g.bad) throw refuse(g.bad);
  // The caller's packet pointers die if the function (or one it calls) may move packet data (Linux ≥ 6.13).
  const movesPacket = subprogChangesPacket(env, g.pc);
  g.args.forEach((arg, i) => {
    const regno = i + 1;
    const reg = f.regs[regno]!;
    switch (arg.kind) {
      case 'bad':
        // Something bpfkit does not model is said in one line, never dressed as the kernel's refusal.
        if (/\bbpfkit\b/.test(arg.message)) throw new Rejection(pc, arg.message);
        throw refuse(arg.message);
      case 'scalar':
        if (reg.kind !== 'scalar') throw refuse(`R${regno} is not a scalar`);
        break;
      case 'ctx':
        if (reg.kind !== 'ctx' || reg.off !== 0 || !isConst(reg.s)) throw refuse(`arg#${i} expects pointer to ctx`);
        break;
      case 'dynptr':
        globalDynptrArg(env, st, pc, regno, reg, refuse);
        break;
      case 'trusted': {
        const fault = trustedArgFault(env, pc, regno, reg, arg);
        if (fault) throw refuse(fault);
        break;
      }
      case 'mem':
        if (reg.kind === 'scalar' && isConst(reg.s) && reg.s.t.value === 0n) {
          // Linux 6.18 refuses NULL itself for an `arg:nonnull` argument, in the same words.
          if (arg.nonnull) throw refuse(`arg#${i} is expected to be non-NULL`);
          break;
        }
        // The argument may be NULL: a pointer not yet null-checked passes, checked as if it were not NULL.
        if (reg.kind === 'not_init' || reg.kind === 'scalar' || !isMemPtr({ ...reg, nullable: false }))
          throw refuse(`R${regno} type=${kindText(reg)} expected=fp, pkt, pkt_meta, map_key, map_value, mem`);
        try {
          helperMem(env, st, pc, regno, { ...reg, nullable: false }, arg.size, false);
          // check_mem_reg checks a write too: a global function may store through any pointer it gets.
          if (reg.kind === 'map_value') helperMem(env, st, pc, regno, { ...reg, nullable: false }, arg.size, true);
        } catch (err) {
          if (err instanceof Rejection) throw refuse(err.message);
          throw err;
        }
        // btf_check_func_arg_match: after the memory, a maybe-NULL pointer for an `arg:nonnull` argument.
        if (arg.nonnull && reg.nullable) throw refuse(`arg#${i} is expected to be non-NULL`);
        break;
    }
  });
  env.called.add(g.pc);
  if (movesPacket) clearPacketPointers(st);
  for (let r = 1; r <= 5; r++) f.regs[r] = NOT_INIT;
  f.regs[0] = UNKNOWN_SCALAR;
  return [{ pc: pc + 1, st }];
}

/**
 * check_cfg's changes_pkt_data: a subprogram calls a helper that may move packet data (tail calls too), or
 * calls (bpf-to-bpf) a subprogram that does. Callbacks do not count: they are not called from the code.
 */
export function subprogChangesPacket(env: Env, start: number): boolean {
  const memo = (env.changesPacket ??= new Map());
  const known = memo.get(start);
  if (known !== undefined) return known;
  memo.set(start, false); // a recursive call adds nothing new (recursion is refused elsewhere anyway)
  const subs = env.cfg.subprogs;
  const k = subs.indexOf(start);
  const end = k >= 0 && k + 1 < subs.length ? subs[k + 1]! : Infinity;
  let moves = false;
  for (const insn of env.insns) {
    if (insn.pc < start || insn.pc >= end || insn.code !== 0x85) continue;
    if (insn.src === BPF_PSEUDO_CALL) moves = subprogChangesPacket(env, insn.pc + insn.imm + 1);
    else if (insn.src === 0) {
      const proto = HELPER_PROTOS.get(insn.imm);
      moves = proto?.changesPacket === true || proto?.changesPacketInSubprog === true;
    }
    if (moves) break;
  }
  memo.set(start, moves);
  return moves;
}

/** The registers a global function starts with, from its prototype (btf_prepare_func_args). */
export function globalEntryRegs(env: Env, g: GlobalFunc): Reg[] {
  const regs = new Array<Reg>(11).fill(NOT_INIT);
  g.args.forEach((arg, i) => {
    if (arg.kind === 'scalar') regs[i + 1] = UNKNOWN_SCALAR;
    else if (arg.kind === 'ctx') regs[i + 1] = ptrReg('ctx');
    // The function's own walk: a const dynptr of its own (a local one, as the kernel assumes).
    else if (arg.kind === 'dynptr') regs[i + 1] = ptrReg('dynptr_ptr', { id: newId(env) });
    else if (arg.kind === 'trusted') regs[i + 1] = trustedEntryReg(env, arg, i, () => newId(env));
    else if (arg.kind === 'mem')
      regs[i + 1] = arg.nonnull
        ? ptrReg('mem', { size: arg.size })
        : ptrReg('mem', { size: arg.size, nullable: true, id: newId(env) });
  });
  regs[REG_FP] = ptrReg('fp', { frame: 0 });
  return regs;
}

/**
 * Helpers a tp_btf program may call with the prototypes raw_tp programs get (bpf_base_func_proto and
 * bpf_tracing_func_proto's plain ones; perf_event_output, get_stackid and get_stack in raw_tp's form).
 */
const TP_BTF_HELPERS: ReadonlySet<number> = new Set([
  1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16, 25, 27, 35, 45, 67, 80, 112, 113, 114, 115, 125, 130, 131, 132, 133, 134, 158,
  164, 174, 181, 182, 141, 153, 154, 156, 157, 175, 210, 211,
]);

/** Helpers the kernel gives only to programs with a trampoline (tracing_prog_func_proto), by number. */
const TRAMPOLINE_ONLY: ReadonlyMap<number, string> = new Map([
  [183, 'get_func_arg'],
  [184, 'get_func_ret'],
  [185, 'get_func_arg_cnt'],
]);

/** Argument types a BTF pointer may be given to (btf-args.ts); any other is not modelled. */
const BTF_ARG_TYPES: ReadonlySet<string> = new Set([
  'anything',
  'sock_btf',
  'sk_release',
  'mem',
  'mem_or_null',
  'mem_rw',
  'mem_rw_or_null',
  'uninit_mem',
  'btf_task_or_null',
  'btf_task',
  'percpu_btf',
  'sock_or_null',
  'btf_cgroup_or_null',
  'btf_sock_or_null',
  'btf_path',
  'btf_file',
  'btf_skb',
  'btf_xdp',
]);

/** The kernel struct each ARG_PTR_TO_BTF_ID argument type names. */
const BTF_ARG_STRUCT: Readonly<Record<string, string>> = {
  btf_task_or_null: 'task_struct',
  btf_task: 'task_struct',
  btf_cgroup_or_null: 'cgroup',
  btf_sock_or_null: 'sock_common',
  btf_path: 'path',
  btf_file: 'file',
  btf_skb: 'sk_buff',
  btf_xdp: 'xdp_buff',
};

/** The register types a helper's memory argument takes (mem_types), as Linux 6.18 lists them. */
const MEM_TYPES = 'fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_';

/** Linux 6.18's __BPF_FUNC_MAX_ID: a helper id at or past it is `invalid func unknown#N`. */
const HELPER_ID_END = 212;

function helperCall(env: Env, st: State, insn: Instruction): Next[] {
  const pc = insn.pc;
  checkCallUnderLock(st, pc, insn.imm);
  // struct_ops programs: their struct_ops type's get_func_proto (struct-ops.ts), then the table it stands for.
  if (env.structOps && structOpsHelper(env, st, pc, insn.imm, env.structOps)) return [{ pc: pc + 1, st }];
  // tp_btf: tracing_prog_func_proto overrides a number of helpers, then falls back to raw_tp's table; the
  // plain tracing helpers bpfkit lists are the same in both, the others are not modelled.
  // Iterators also get the seq_file helpers (iter.ts), their first argument checked there.
  const seqProto = env.tpBtf?.iter ? iterHelperProto(insn.imm) : undefined;
  if (seqProto) seqFileArg(pc, seqProto.name, cur(st).regs[1]!);
  // The tcp and unix iterators also get the socket option helpers (hook-helpers.ts).
  const iterProto = seqProto ?? (env.tpBtf?.iter ? iterSockoptProto(env.tpBtf.name, insn.imm) : undefined);
  // tracing_prog_func_proto's own prototypes (the socket casts and storage by BTF socket), before raw_tp's.
  const ownProto =
    iterProto ??
    (env.tpBtf ? tracingProgProto(insn.imm) : env.structOps ? structOpsProto(env.structOps, insn.imm) : undefined);
  // tracing_prog_func_proto gives get_attach_cookie to tp_btf programs and those with a trampoline only.
  if (env.tpBtf?.iter && insn.imm === 174)
    throw new Rejection(pc, 'program of this type cannot use helper bpf_get_attach_cookie#174');
  // ... and the seq_file helpers to iterators only (checked on Linux 6.18 from tp_btf).
  const seqOnly = env.tpBtf && !env.tpBtf.iter ? iterHelperProto(insn.imm) : undefined;
  if (seqOnly) throw new Rejection(pc, `program of this type cannot use helper bpf_${seqOnly.name}#${insn.imm}`);
  // The function-argument helpers exist for programs with a trampoline only (fentry, fexit, fmod_ret,
  // LSM: bpf_prog_has_trampoline), none of which bpfkit models: every type it does is refused them, first.
  const trampolineOnly = TRAMPOLINE_ONLY.get(insn.imm);
  if (trampolineOnly)
    throw new Rejection(pc, `program of this type cannot use helper bpf_${trampolineOnly}#${insn.imm}`);
  // The bpf_timer helpers (timer.ts), from bpf_base_func_proto like kptr_xchg.
  if (isTimerHelper(insn.imm))
    return timerCall(env, st, pc, insn.imm, env.tpBtf ? ProgType.RAW_TRACEPOINT : env.progType);
  // bpf_kptr_xchg (kptr-xchg.ts): from bpf_base_func_proto, in tp_btf's table as in the others.
  if (insn.imm === KPTR_XCHG) {
    kptrXchgCall(env, st, pc, env.tpBtf ? ProgType.RAW_TRACEPOINT : env.progType);
    return [{ pc: pc + 1, st }];
  }
  // (TP_BTF_MORE: more of raw_tp's table, each checked on Linux 6.18 in test/verifier/helper-tables-cases.ts
  // and tp-helpers-cases.ts.) One Linux 6.18 refuses these programs is refused in its words, on 6.18 only
  // (the tables move between releases); any other is not modelled.
  if (
    env.tpBtf &&
    insn.imm > 0 &&
    insn.imm < HELPER_ID_END &&
    !ownProto &&
    !TP_BTF_HELPERS.has(insn.imm) &&
    !TP_BTF_MORE.includes(insn.imm)
  ) {
    const name = helperNameInBtf(env.tpBtf.btf, insn.imm);
    const known = onTableSeries(env.tpBtf.release);
    if (name && TP_BTF_REFUSED.has(insn.imm) && known)
      throw new Rejection(pc, `program of this type cannot use helper bpf_${name}#${insn.imm}`);
    const what = `helper ${name ? `bpf_${name}#${insn.imm}` : `#${insn.imm}`} in ${env.tpBtf.iter ? 'an iter' : 'a tp_btf'} program`;
    throw new Rejection(
      pc,
      known
        ? `${what}: bpfkit does not model its prototype there (tracing_prog_func_proto's or raw_tp's)`
        : `${what}: bpfkit does not model tracing's helper table of this release (it knows Linux ${TP_NULL_SERIES}'s)`,
    );
  }
  // bpf_get_current_task_btf (GPL only, no arguments): a trusted, never NULL task_struct pointer. Outside
  // tp_btf, given the kernel's BTF, wherever bpf_get_current_task is: bpf_base_func_proto hands both out
  // together to privileged programs, and the tracing types' tables have both (checked on Linux 6.18 for
  // socket_filter, tc, kprobe, tracepoint, perf_event, raw_tracepoint).
  const taskBtf = env.tpBtf?.btf ?? env.kernelBtf;
  const getTask = HELPER_PROTOS.get(35)!;
  if (
    insn.imm === 158 &&
    taskBtf &&
    (env.tpBtf ||
      (helperAllowed(getTask, env.progType) &&
        helperAttachAllowed(35, env.progType, env.attachType) &&
        env.helperAvailable?.(env.progType, 35) !== false))
  ) {
    if (!env.gplCompatible)
      throw new Rejection(pc, 'cannot call GPL-restricted function from non-GPL compatible program');
    const task = currentTaskBtf(taskBtf);
    if (!task)
      throw new Rejection(pc, `bpf_get_current_task_btf: bpfkit finds no struct task_struct in the kernel's BTF`);
    const fr = cur(st);
    for (let r = 1; r <= 5; r++) fr.regs[r] = NOT_INIT;
    fr.regs[0] = task;
    return [{ pc: pc + 1, st }];
  }
  const ptype = env.tpBtf ? ProgType.RAW_TRACEPOINT : env.structOps ? structOpsHelperType(insn.imm) : env.progType;
  const proto = ownProto ?? helperProto(insn.imm, ptype);
  if (!proto) {
    if (insn.imm <= 0 || insn.imm >= HELPER_ID_END) throw new Rejection(pc, `invalid func unknown#${insn.imm}`);
    // The kernel looks the helper up for the program type before anything else: one the target kernel
    // refuses this type is refused in its words (the name from its BTF's enum bpf_func_id), prototype or not.
    const refused = !env.tpBtf && !env.structOps && env.helperAvailable?.(ptype, insn.imm) === false;
    const name = refused ? helperNameInBtf(env.kernelBtf, insn.imm) : undefined;
    if (name) throw new Rejection(pc, `program of this type cannot use helper bpf_${name}#${insn.imm}`);
    throw new Rejection(pc, unmodelledHelper(insn.imm));
  }
  if (
    (!ownProto && !helperAllowed(proto, ptype)) ||
    !helperAttachAllowed(proto.id, ptype, env.attachType) ||
    (!ownProto && env.helperAvailable?.(ptype, proto.id) === false)
  )
    throw new Rejection(pc, `program of this type cannot use helper bpf_${proto.name}#${proto.id}`);
  if (proto.gpl && !env.gplCompatible)
    throw new Rejection(pc, 'cannot call GPL-restricted function from non-GPL compatible program');
  // bpf_func_proto.allowed: bpf_d_path only in iterators (and LSM or allow-listed fentry targets, not modelled).
  if (proto.id === 147 && ownProto && !env.tpBtf?.iter) throw new Rejection(pc, 'helper call is not allowed in probe');
  // A timer's callback is never sleepable, whatever its program is (the kernel's in_sleepable per state).
  const sleepFault = mightSleepFault(proto, env.sleepable && !st.frames.some((x) => x.async), st);
  if (sleepFault) throw new Rejection(pc, sleepFault);
  const f = cur(st);
  let map: VerifierMap | undefined;
  let allocSize = 0;
  let release = 0;
  let callback: Reg | undefined;
  let constKey: bigint | undefined;
  let callbackCtx: Reg | undefined;
  /** meta->ref_obj_id: the reference a socket argument carries (a cast's result carries it too). */
  let argRef = 0;
  /** meta->msize_max_value: the size argument's maximum (what get_stack and the *_str helpers return at most). */
  let sizeMax = 0n;
  /** The dynptr a dynptr argument named (dynptr.ts): bpf_dynptr_data's slice belongs to it. */
  let dynptr: DynptrUse | undefined;
  const argNames = proto.args;
  for (let i = 0; i < argNames.length; i++) {
    const regno = i + 1;
    const reg = f.regs[regno]!;
    const type = argNames[i]!;
    if (reg.kind === 'not_init') throw new Rejection(pc, `R${regno} !read_ok`);
    if (reg.kind === 'btf_id' && !BTF_ARG_TYPES.has(type))
      throw new Rejection(
        pc,
        `R${regno} ${kindText(reg)}${reg.btf?.name ?? ''} passed to bpf_${proto.name}: bpfkit does not model BTF pointer arguments`,
      );
    // MEM_RDONLY (an iterator's element) matches only the argument types that read (check_reg_type).
    // (A percpu argument refuses every register bpfkit has, read-only memory too: btf-args.ts.)
    if (reg.rdonly && type !== 'anything' && type !== 'percpu_btf')
      throw new Rejection(pc, `R${regno} ${kindText(reg)} passed to bpf_${proto.name}: bpfkit does not model it`);
    const expect = (want: string) => new Rejection(pc, `R${regno} type=${kindText(reg)} expected=${want}`);
    // check_func_arg: a packet pointer goes only to a helper declared to take one (may_access_direct_pkt_data).
    if (
      type !== 'anything' &&
      (reg.kind === 'pkt' || reg.kind === 'pkt_meta') &&
      !(pktHelperAccess(ptype) ?? proto.pktAccess)
    )
      throw new Rejection(pc, 'helper access to the packet is not allowed');
    switch (type) {
      case 'anything':
        break;
      case 'ctx_or_null':
      case 'ctx':
        // register_is_null: a known zero passes an argument that may be NULL.
        if (type === 'ctx_or_null' && reg.kind === 'scalar' && isConst(reg.s) && reg.s.t.value === 0n) break;
        if (reg.kind !== 'ctx') throw expect('ctx');
        {
          const fault = ctxOffFault(reg, regno);
          if (fault) throw new Rejection(pc, fault);
        }
        break;
      case 'map_ptr':
        // A map of maps' lookup result must be null-checked before it is used as a map.
        if (reg.kind !== 'map_ptr' || reg.nullable) throw expect('map_ptr');
        map = reg.map!;
        break;
      case 'map_key':
      case 'map_value':
      case 'map_value_or_null':
      case 'uninit_map_value': {
        if (!map) throw new Rejection(pc, 'invalid map_ptr to access map->key');
        const size = type === 'map_key' ? map.keySize : map.valueSize;
        if (type === 'map_value_or_null' && reg.kind === 'scalar' && isConst(reg.s) && reg.s.t.value === 0n) break;
        // resolve_map_arg_type: a socket map's value is a socket (ARG_PTR_TO_BTF_ID_SOCK_COMMON).
        if (type === 'map_value' && isSockMap(map)) {
          sockArg(st, pc, regno, reg, 'sock_btf');
          break;
        }
        // Linux 6.18 checks keys and values against mem_types, and says so when it refuses one.
        if (!isMemPtr(reg)) throw expect(MEM_TYPES);
        // A map's key and value are never zero-sized accesses (a queue's key of size 0 is refused).
        helperMem(env, st, pc, regno, reg, size, type === 'uninit_map_value', false);
        if (type === 'map_key') {
          constKey = stackConstant(st, reg, size);
          // get_constant_map_key: a lookup proven non-NULL by a spilled constant keeps that constant exact.
          const k = Math.floor((-reg.off - 1) / 8);
          if (constKey !== undefined && st.frames[reg.frame]?.stack.get(k)?.spill)
            env.precision?.markSlot(reg.frame, k);
        }
        break;
      }
      case 'mem':
      case 'mem_or_null':
      case 'mem_rw':
      case 'mem_rw_or_null':
      case 'uninit_mem': {
        const orNull = type === 'mem_or_null' || type === 'mem_rw_or_null';
        if (orNull && reg.kind === 'scalar' && isConst(reg.s) && reg.s.t.value === 0n) break;
        if (reg.kind === 'btf_id') {
          btfMemArg(
            env,
            pc,
            regno,
            reg,
            MEM_TYPES,
            proto.name,
            type === 'mem_rw' || type === 'mem_rw_or_null' || type === 'uninit_mem',
            orNull,
          );
          break;
        }
        // ARG_PTR_TO_MEM | PTR_MAYBE_NULL takes a pointer that may be NULL (map_value_or_null) too,
        // its memory checked as if it were not (check_reg_type).
        if (!isMemPtr(orNull ? { ...reg, nullable: false } : reg)) throw expect(MEM_TYPES);
        break;
      }
      case 'const_size':
      case 'const_size_or_zero': {
        if (reg.kind !== 'scalar') throw expect('scalar');
        if (reg.s.smin < 0n)
          throw new Rejection(pc, `R${regno} min value is negative, either use unsigned or 'var &= const'`);
        const prev = f.regs[regno - 1]!;
        const prevType = argNames[i - 1]!;
        const nullMem = prev.kind === 'scalar';
        if (reg.s.umin === 0n && type === 'const_size' && !nullMem)
          throw new Rejection(pc, `R${regno} invalid zero-sized read: u64=[${reg.s.umin},${reg.s.umax}]`);
        if (reg.s.umax >= BigInt(MAX_VAR_SIZE))
          throw new Rejection(pc, `R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
        if (nullMem) {
          env.precision?.mark(regno);
          if (reg.s.umax !== 0n)
            // check_helper_mem_access on a NULL pointer with a size: only a stack pointer would do.
            throw new Rejection(pc, `R${regno - 1} type=scalar expected=fp`);
          break;
        }
        // MEM_WRITE: the helper writes the memory (uninit_mem, mem_rw), so a read-only map value is refused.
        const write = prevType === 'uninit_mem' || prevType === 'mem_rw' || prevType === 'mem_rw_or_null';
        if (prev.kind === 'btf_id') btfMemSize(env, pc, regno - 1, prev, reg.s.umax, proto.name);
        else
          helperMem(
            env,
            st,
            pc,
            regno - 1,
            prevType === 'mem_or_null' || prevType === 'mem_rw_or_null' ? { ...prev, nullable: false } : prev,
            Number(reg.s.umax),
            write,
          );
        // check_mem_size_reg: the access was proven with this range, so it must stay exact.
        env.precision?.mark(regno);
        sizeMax = reg.s.umax;
        break;
      }
      case 'aligned_u32_out':
      case 'aligned_u64_out': {
        const size = type === 'aligned_u32_out' ? 4 : 8;
        if (!isMemPtr(reg)) throw expect(MEM_TYPES);
        helperMem(env, st, pc, regno, reg, size, true);
        // check_ptr_alignment, strict (MEM_ALIGNED): the whole offset must be a multiple of the size.
        const desc =
          reg.kind === 'fp' ? 'stack ' : reg.kind === 'map_value' ? 'value ' : reg.kind === 'map_key' ? 'key ' : '';
        const t = tadd(reg.s.t, tconst(BigInt.asUintN(64, BigInt(reg.off))));
        if (((t.value | t.mask) & BigInt(size - 1)) !== 0n) {
          const varOff = reg.s.t.mask === 0n ? String(reg.s.t.value) : tstr(reg.s.t);
          throw new Rejection(pc, `misaligned ${desc}access off ${varOff}+${reg.off}+0 size ${size}`);
        }
        break;
      }
      case 'alloc_size':
        // check_reg_type first (a pointer is the wrong type), then the constant (the kernel's stray quote kept).
        if (reg.kind !== 'scalar') throw expect('scalar');
        if (!isConst(reg.s)) throw new Rejection(pc, `R${regno} is not a known constant'`);
        allocSize = Number(reg.s.t.value);
        env.precision?.mark(regno);
        break;
      case 'ringbuf_mem':
        // A dynptr's slice carries the ring buffer's reference too, but is PTR_TO_MEM, not MEM_RINGBUF.
        if (reg.kind !== 'mem' || !reg.ref || reg.nullable || reg.dynptr || reg.slice) throw expect('ringbuf_mem');
        if (reg.off !== 0 || !isConst(reg.s))
          throw new Rejection(
            pc,
            `R${regno} must have zero offset when passed to release func or trusted arg to kfunc`,
          );
        if (!st.refs.has(reg.ref))
          throw new Rejection(pc, `R${regno} must be referenced when passed to release function`);
        release = reg.ref;
        break;
      case 'func':
        if (reg.kind !== 'func') throw expect('func');
        callback = reg;
        break;
      case 'sock_common':
      case 'sock_btf':
        argRef =
          reg.kind === 'btf_id' && type === 'sock_btf'
            ? btfSockArg(env, st, pc, regno, reg, false, proto.name)
            : sockArg(st, pc, regno, reg, type);
        break;
      case 'sk_release':
        argRef = release =
          reg.kind === 'btf_id'
            ? btfSockArg(env, st, pc, regno, reg, true, proto.name)
            : sockArg(st, pc, regno, reg, type);
        break;
      case 'percpu_btf':
        percpuArg(pc, regno, reg);
        break;
      case 'btf_task_or_null':
      case 'btf_task':
      case 'btf_cgroup_or_null':
      case 'btf_sock_or_null':
      case 'btf_path':
      case 'btf_file':
      case 'btf_skb':
      case 'btf_xdp': {
        const want = BTF_ARG_STRUCT[type]!;
        btfObjArg(env, pc, regno, reg, want, type.endsWith('_or_null'), proto.name);
        break;
      }
      case 'sock_or_null':
      case 'fullsock_or_null':
        if (reg.kind === 'btf_id' && type === 'sock_or_null')
          btfSockArg(env, st, pc, regno, reg, false, proto.name, true);
        else sockArg(st, pc, regno, reg, type);
        break;
      case 'const_str':
        constStrArg(env, st, pc, regno, reg);
        break;
      case 'spin_lock':
        spinLockCall(st, pc, proto.id, reg);
        break;
      case 'dynptr_local_out':
      case 'dynptr_ringbuf_out':
      case 'dynptr_ro':
        dynptr = dynptrArg(env, st, pc, regno, reg, type, (sp, n) => noteDepth(env, sp, n, pc));
        break;
      case 'dynptr_ringbuf_release':
        dynptr = dynptrArg(env, st, pc, regno, reg, type, (sp, n) => noteDepth(env, sp, n, pc));
        // Which references a callback may give back is a rule of its own (as for sockets): not modelled.
        if (st.frames.some((fr) => fr.callback))
          throw new Rejection(pc, 'a dynptr reference released inside a callback: bpfkit does not model it');
        release = dynptr.ref;
        break;
      case 'stack_or_null':
        if (!(reg.kind === 'fp' || (reg.kind === 'scalar' && isConst(reg.s) && reg.s.t.value === 0n)))
          throw expect('fp');
        callbackCtx = reg;
        break;
    }
  }
  // check_map_func_compatibility comes after every argument is checked: a bad argument is what the kernel
  // names when both are wrong.
  if (map) checkMapCompat(pc, proto, map, ptype, !!env.tpBtf?.iter);

  // check_get_func_ip, after the arguments: the helper is looked up for every tracing type, kprobes alone may call it
  // (and BPF_PROG_TYPE_TRACING programs with a trampoline, which bpfkit does not model: not tp_btf nor iterators).
  if (env.tpBtf && proto.id === 173)
    throw new Rejection(pc, `func bpf_${proto.name}#${proto.id} supported only for fentry/fexit/fmod_ret programs`);
  if (proto.refusedAfterArgs?.includes(ptype))
    throw new Rejection(pc, `func bpf_${proto.name}#${proto.id} not supported for program type ${ptype}`);

  if (proto.id === 81) localStorageCall(env, pc, f.regs[2]!);
  // check_bpf_snprintf_call: the format's conversions against the data's length, after the arguments.
  if (proto.id === 165) snprintfFormat(pc, f.regs[3]!, f.regs[5]!);

  // record_func_key: a tail call's constant index in range is kept exact.
  const index = f.regs[3]!;
  if (proto.id === 12 && map && index.kind === 'scalar' && isConst(index.s) && index.s.t.value < BigInt(map.maxEntries))
    env.precision?.mark(3);

  // check_reference_leak before a tail call: the program it jumps to cannot give the references back.
  if (proto.id === 12 && st.refs.size) throw new Rejection(pc, leakText(st, 'tail_call would lead to reference leak'));
  const tailInSection = proto.id === 12 ? sectionUnmodelled(st, 'a tail call') : undefined;
  if (tailInSection) throw new Rejection(pc, tailInSection);

  if (release) {
    st.refs.delete(release);
    forEachReg(st, (r) => (r.ref === release ? UNKNOWN_SCALAR : r));
    // unmark_stack_slots_dynptr: a released ring buffer dynptr is gone from the stack.
    if (dynptr) releaseDynptrSlots(st, release);
  }
  // check_helper_call: bpf_dynptr_from_mem makes dynptrs of map values only.
  if (proto.id === 197 && f.regs[1]!.kind !== 'map_value')
    throw new Rejection(pc, `Unsupported reg type ${kindText(f.regs[1]!)} for bpf_dynptr_from_mem data`);
  if (proto.changesPacket) clearPacketPointers(st);
  // check_helper_call: bpf_dynptr_write to an skb (or skb metadata) dynptr may move packet data
  // (checked on Linux 6.18).
  if (proto.id === 202 && (dynptr?.type === 'skb' || dynptr?.type === 'skb_meta')) clearPacketPointers(st);

  // The caller after the call: r0 is the return value, r1-r5 are clobbered.
  const after = (s: State): State => {
    const fr = cur(s);
    for (let r = 1; r <= 5; r++) fr.regs[r] = NOT_INIT;
    fr.regs[0] = returnReg(env, s, proto, map, allocSize, pc, sizeMax, argRef);
    // A slice of the dynptr (is_dynptr_ref_function): its reference (a ring buffer's) and its id.
    if (proto.ret === 'dynptr_mem_or_null' && dynptr)
      fr.regs[0] = { ...fr.regs[0], ref: dynptr.ref, dynptr: dynptr.id };
    // Linux 6.14+: an array lookup with a constant key in range cannot fail (can_elide_value_nullness).
    const arrays: number[] = [MapType.ARRAY, MapType.PERCPU_ARRAY];
    if (
      proto.id === 1 &&
      map &&
      arrays.includes(map.type) &&
      constKey !== undefined &&
      constKey >= 0n &&
      constKey < BigInt(map.maxEntries)
    )
      fr.regs[0] = { ...fr.regs[0], nullable: false, id: nonNullValueId(env, map) };
    return s;
  };

  if (callback) {
    // check_helper_call: bpf_loop calls its callback at most R1's maximum times; the verifier relies on
    // that bound, so R1 is precise, and once this path has walked that many calls it goes on without.
    const loop = proto.id === 181;
    if (loop) {
      // R1 is ARG_ANYTHING, so a pointer gets here; marking a pointer precise is refused by the kernel's
      // own sanity check (Linux 6.18 says it so, at the call).
      if (f.regs[1]!.kind !== 'scalar') throw new Rejection(pc, 'verifier bug: backtracking misuse');
      env.precision?.mark(1);
      if ((f.callbackDepth ?? 0) >= f.regs[1]!.s.umax) {
        f.callbackDepth = 0;
        return [{ pc: pc + 1, st: after(st) }];
      }
    }
    // push_callback_call: the path goes on after the call (no call, or the last one) and, queued, into the
    // callback with the caller as it is at the call; the callback's exit comes back to this instruction
    // (step.ts), which calls it again, until the walk converges (walk.ts) or bpf_loop's bound is reached.
    if (st.frames.length >= MAX_CALL_FRAMES)
      throw new Rejection(pc, `the call stack of ${st.frames.length + 1} frames is too deep`);
    // set_user_ringbuf_callback_state: a const dynptr (local, a fresh id) to each sample, then the context.
    const args =
      proto.id === 209
        ? [ptrReg('dynptr_ptr', { id: newId(env) }), callbackCtx ?? NOT_INIT]
        : proto.id === FIND_VMA
          ? findVmaCallbackArgs(env, pc, f.regs[1]!, callbackCtx)
          : callbackArgs(proto, map, callbackCtx);
    const inside = cloneState(st);
    const caller = cur(inside);
    caller.callbackDepth = (f.callbackDepth ?? 0) + 1;
    // mark_chain_precision marks the current state's R1 too, which the callback's states inherit.
    const r1 = caller.regs[1]!;
    if (loop && r1.kind === 'scalar' && !r1.precise) caller.regs[1] = { ...r1, precise: true };
    inside.callbackUnroll = (st.callbackUnroll ?? 0) + 1;
    const fr = newFrame(inside, pc, callback.target, args);
    fr.callback = { helper: proto.id, retMin: 0n, retMax: 1n };
    (env.callbacks ??= new Set()).add(callback.target);
    inside.frames.push(fr);
    f.callbackDepth = 0;
    return [
      { pc: pc + 1, st: after(st) },
      { pc: callback.target, st: inside },
    ];
  }
  // A tail call from a subprogram that succeeds returns to the subprogram's caller with the tail-called
  // program's return value, and that program may have moved the packet: the walk also goes on from the
  // caller, r0 unknown and every packet pointer invalid (Linux 6.18, checked; a failed tail call goes on
  // after the call with the packet pointers intact).
  if (proto.id === 12 && st.frames.length > 1) {
    if (st.frames.some((fr) => fr.callback))
      throw new Rejection(pc, 'a tail call inside a callback: bpfkit does not model its early return');
    const early = cloneState(st);
    const callee = early.frames.pop()!;
    clearPacketPointers(early);
    const caller = cur(early);
    for (let r = 1; r <= 5; r++) caller.regs[r] = NOT_INIT;
    caller.regs[0] = UNKNOWN_SCALAR;
    // The kernel walks the early return first.
    return [
      { pc: callee.callsite + 1, st: early },
      { pc: pc + 1, st: after(st) },
    ];
  }
  return [{ pc: pc + 1, st: after(st) }];
}

/**
 * bpf_get_local_storage, after its arguments: the flags must be a known zero, and (bpf_cgroup_storage_assign,
 * when the program's maps are resolved) a program may use one cgroup storage map of each kind. The latter
 * the kernel checks over every map the program names, which this call cannot see whole: two maps of one
 * kind are said to be not modelled rather than judged.
 */
function localStorageCall(env: Env, pc: number, flags: Reg): void {
  if (!(flags.kind === 'scalar' && isConst(flags.s) && flags.s.t.value === 0n))
    throw new Rejection(pc, "get_local_storage() doesn't support non-zero flags");
  const named = new Set<number>();
  for (const insn of env.insns) if (insn.code === 0x18 && insn.src === BPF_PSEUDO_MAP_FD) named.add(insn.imm);
  for (const type of [MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE]) {
    const n = [...named].filter((imm) => env.maps.get(imm)?.type === type).length;
    if (n > 1)
      throw new Rejection(
        pc,
        `${n} cgroup storage maps of type ${type}: bpfkit does not model which one the kernel assigns`,
      );
  }
}

/** The constant a helper reads as a map key from the stack (a spilled constant or zeros), if it is one. */
function stackConstant(st: State, reg: Reg, size: number): bigint | undefined {
  if (reg.kind !== 'fp' || !isConst(reg.s) || size !== 4) return undefined;
  const k = Math.floor((-reg.off - 1) / 8);
  const first = reg.off + (k + 1) * 8;
  const slot = st.frames[reg.frame]!.stack.get(k);
  if (!slot || first + size > 8) return undefined;
  let zeros = true;
  for (let i = first; i < first + size; i++) if (slot.bytes[i] !== ByteType.Zero) zeros = false;
  if (zeros) return 0n;
  // Else a spilled constant whose spilled bytes from the key's first on are exactly the key's size. The
  // kernel then takes the whole spilled value as the key (not the key's own bytes): a value that does not
  // fit, or a key in the upper half of an 8-byte spill, is compared as that value.
  if (slot.spill?.kind !== 'scalar' || !isConst(slot.spill.s)) return undefined;
  const spillSize = slot.spillSize ?? 8;
  if (first >= spillSize || spillSize - first !== size) return undefined;
  return BigInt.asIntN(64, slot.spill.s.t.value);
}

/** What a callback receives in r1-r5. */
export function callbackArgs(proto: HelperProto, map: VerifierMap | undefined, ctx: Reg | undefined): Reg[] {
  const c = ctx ?? NOT_INIT;
  if (proto.id === 181) return [UNKNOWN_SCALAR, c];
  // bpf_for_each_map_elem: (map, key, value, ctx)
  return [ptrReg('map_ptr', { map }), ptrReg('map_key', { map }), ptrReg('map_value', { map }), c];
}

const isMemPtr = (r: Reg) =>
  !r.nullable &&
  (r.kind === 'fp' ||
    r.kind === 'pkt' ||
    r.kind === 'pkt_meta' ||
    r.kind === 'map_key' ||
    r.kind === 'map_value' ||
    r.kind === 'mem');

/** Helpers a socket map may be passed to besides the map helpers (check_map_func_compatibility), by map type. */
const SOCKMAP_HELPERS: ReadonlyMap<number, readonly number[]> = new Map([
  // lookup, sk_redirect_map, sock_map_update, msg_redirect_map, sk_select_reuseport
  [MapType.SOCKMAP, [1, 52, 53, 60, 82]],
  // lookup, sk_redirect_hash, sock_hash_update, msg_redirect_hash, sk_select_reuseport
  [MapType.SOCKHASH, [1, 72, 70, 71, 82]],
]);

/**
 * may_update_sockmap: where a program cannot hold a locked socket, it may update and delete socket map
 * entries with the map helpers; sock_ops may only delete (it updates through its own helpers, which check
 * the callback); iterators (BPF_TRACE_ITER) may do both.
 */
function mayUpdateSockmap(progType: number, iter: boolean, helper: number): boolean {
  if (helper !== 2 && helper !== 3) return false;
  if (progType === ProgType.SOCK_OPS) return helper === 3;
  return (
    iter ||
    [
      ProgType.SOCKET_FILTER,
      ProgType.SCHED_CLS,
      ProgType.SCHED_ACT,
      ProgType.XDP,
      ProgType.SK_REUSEPORT,
      22, // flow_dissector
      30, // sk_lookup
    ].includes(progType)
  );
}

function checkMapCompat(pc: number, proto: HelperProto, map: VerifierMap, progType: number, iter: boolean): void {
  const refuse = () => new Rejection(pc, `cannot pass map_type ${map.type} into func bpf_${proto.name}#${proto.id}`);
  // Socket maps go only to their own helpers, and to the map helpers where the program type may update
  // them; a lookup finds a referenced socket (sock-ptr.ts), an update's value is a socket.
  const sockHelpers = SOCKMAP_HELPERS.get(map.type);
  if (sockHelpers) {
    if (sockHelpers.includes(proto.id) || mayUpdateSockmap(progType, iter, proto.id)) return;
    if (proto.id === 2 || proto.id === 3)
      throw new Rejection(pc, `cannot update sockmap in this context\n${refuse().message}`);
    throw refuse();
  }
  // A devmap's values are struct bpf_devmap_val, which the kernel makes read-only to programs: not modelled.
  if (proto.id === 1 && (map.type === MapType.DEVMAP || map.type === MapType.DEVMAP_HASH))
    throw new Rejection(
      pc,
      `bpf_map_lookup_elem on map_type ${map.type}: bpfkit does not model the device map values it returns`,
    );
  const onlyWith = MAP_ONLY_WITH.get(map.type);
  const ok = (proto.mapTypes ? proto.mapTypes.includes(map.type) : true) && (!onlyWith || onlyWith.includes(proto.id));
  if (!ok) throw refuse();
}

function returnReg(
  env: Env,
  st: State,
  proto: HelperProto,
  map: VerifierMap | undefined,
  allocSize: number,
  pc: number,
  sizeMax: bigint,
  argRef: number,
): Reg {
  switch (proto.ret) {
    case 'sock_or_null':
    case 'sock_common_or_null':
    case 'tcp_sock_or_null':
      return sockReturn(env, st, pc, proto.ret, proto.sockRef ?? 'plain', argRef);
    case 'integer':
      return UNKNOWN_SCALAR;
    case 'btf_obj_or_null':
    case 'btf_obj':
      return btfObjReturn(env, pc, proto, proto.sockRef === 'cast' ? argRef : 0);
    case 'size_or_error': {
      // do_refine_retval_range: a length of at most the size argument's maximum, or -errno (>= -4095),
      // in the 64-bit and the 32-bit signed bounds alike.
      const s32max = sizeMax < 0x7fffffffn ? Number(sizeMax) : 0x7fffffff;
      const s = sync(withFacts(UNKNOWN, { smin: -4095n, smax: sizeMax, s32min: -4095, s32max }));
      return s ? scalarReg(s) : UNKNOWN_SCALAR;
    }
    case 'void':
      return NOT_INIT;
    case 'map_value':
      return ptrReg('map_value', { map, id: nonNullValueId(env, map) });
    case 'map_value_or_null':
      // A map of maps holds maps: the lookup finds one (or NULL).
      if (map?.inner) return ptrReg('map_ptr', { map: map.inner, nullable: true, id: newId(env) });
      if (map && (map.type === MapType.ARRAY_OF_MAPS || map.type === MapType.HASH_OF_MAPS))
        throw new Rejection(pc, `map ${map.name}: a map of maps without its inner map's template`);
      if (map && isSockMap(map)) return sockMapLookup(env, st, pc, map);
      // An XSKMAP's lookup finds an AF_XDP socket (PTR_TO_XDP_SOCK), maybe NULL, with no reference. It keeps
      // its map, as the kernel's register does (pruning compares it).
      if (map?.type === MapType.XSKMAP) return ptrReg('xdp_sock', { map, nullable: true, id: newId(env) });
      return ptrReg('map_value', { map, nullable: true, id: newId(env) });
    case 'dynptr_mem_or_null':
      // PTR_TO_MEM of the constant size asked for, maybe NULL (its dynptr is added by the caller).
      return ptrReg('mem', { nullable: true, id: newId(env), size: allocSize });
    case 'ringbuf_mem_or_null': {
      // The kernel numbers the maybe-NULL result first, then acquire_reference numbers the reference and
      // gives the register that number for both: the reference is the second id taken.
      newId(env);
      const ref = newId(env);
      st.refs.set(ref, pc);
      return ptrReg('mem', { nullable: true, id: ref, ref, size: allocSize });
    }
  }
}

/** check_reference_leak's words: one line per reference still held, then what would leak it. */
export function leakText(st: State, what: string): string {
  return [...st.refs]
    .map(([id, at]) => `Unreleased reference id=${id} alloc_insn=${at}`)
    .concat(what)
    .join('\n');
}
