/**
 * One instruction of stage 2 (the kernel's do_check body): dispatch on the class, update the state, and
 * say where the walk goes next. Loads, stores and atomics go through memory.ts, arithmetic through alu.ts,
 * branches through jumps.ts, calls through calls.ts; exits return to the caller or end the path.
 */
import type { Instruction } from '../isa/instruction.js';
import {
  BPF_ABS,
  BPF_ALU,
  BPF_ALU64,
  BPF_ATOMIC,
  BPF_CALL,
  BPF_CMPXCHG,
  BPF_DW,
  BPF_EXIT,
  BPF_FETCH,
  BPF_IND,
  BPF_JA,
  BPF_JMP,
  BPF_JMP32,
  BPF_LD,
  BPF_LDX,
  BPF_MEMSX,
  BPF_PSEUDO_BTF_ID,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_IDX,
  BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_PSEUDO_MAP_VALUE,
  BPF_ST,
  BPF_STX,
  BPF_W,
  OP_LDDW,
  REG_FP,
  classOf,
  lddwValue,
  modeOf,
  opOf,
  sizeBytes,
  sizeOf,
  sourceOf,
  BPF_X,
} from '../isa/index.js';
import { MapType, ProgType } from '../uapi/types.js';
import { checkAlu } from './alu.js';
import { type Next, checkCall, leakText } from './calls.js';
import { type Env, newId } from './env.js';
import { ctxOffFault } from './ctx-access.js';
import { condJump } from './jumps.js';
import { access, fitsIn } from './memory.js';
import { BPF_LOAD_ACQ, BPF_STORE_REL, OP_MAY_GOTO, fieldFault } from './fields.js';
import { widenImprecise } from './prune.js';
import { ksymReg } from './ksyms.js';
import { Rejection } from './reject.js';
import { isSockKind } from './sock-ptr.js';
import { sectionLeak } from './kfunc-sections.js';
import { RBTREE_LESS_CB } from './graph.js';
import { checkReturnCode, invalidScalarText } from './return-code.js';
import { isConst } from './scalar.js';
import {
  cloneState,
  constReg,
  cur,
  kindText,
  NOT_INIT,
  ptrReg,
  type Reg,
  type State,
  UNKNOWN_SCALAR,
} from './state.js';
import { tadd, tconst, tstr } from './tnum.js';

/** Execute `insn` on `st` (which it may change); the ways the walk continues (none: the path ended well). */
export function step(env: Env, st: State, insn: Instruction): Next[] {
  const cls = classOf(insn.code);
  const pc = insn.pc;
  const f = cur(st);
  const fault = env.fieldsChecked[pc] ? undefined : fieldFault(insn);
  if (fault === undefined) env.fieldsChecked[pc] = 1;
  else {
    // check_cond_jmp_op reads its destination operand before it looks at the other fields.
    const op = opOf(insn.code);
    const cond = (cls === BPF_JMP || cls === BPF_JMP32) && op !== BPF_CALL && op !== BPF_EXIT && op !== BPF_JA;
    if (cond && insn.dst <= REG_FP && f.regs[insn.dst]!.kind === 'not_init')
      throw new Rejection(pc, `R${insn.dst} !read_ok`);
    // check_ld_abs asks whether the program type may use it before it looks at the fields.
    if (cls === BPF_LD && insn.code !== OP_LDDW && !mayAccessSkb(env)) throw new Rejection(pc, LD_ABS_NOT_ALLOWED);
    throw new Rejection(pc, fault);
  }
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64:
      checkAlu(env, st, insn);
      return [{ pc: pc + 1, st }];
    case BPF_LDX: {
      const src = f.regs[insn.src]!;
      if (src.kind === 'not_init') throw new Rejection(pc, `R${insn.src} !read_ok`);
      if (insn.dst === REG_FP) throw new Rejection(pc, 'frame pointer is read only');
      const size = sizeBytes(sizeOf(insn.code));
      const signed = modeOf(insn.code) === BPF_MEMSX;
      f.regs[insn.dst] = access(env, st, pc, insn.src, src, insn.off, size, false, undefined, signed);
      samePointerKind(env, pc, src);
      return [{ pc: pc + 1, st }];
    }
    case BPF_ST:
    case BPF_STX: {
      const dst = f.regs[insn.dst]!;
      const size = sizeBytes(sizeOf(insn.code));
      if (cls === BPF_STX && modeOf(insn.code) === BPF_ATOMIC) return atomic(env, st, insn, size);
      // check_store_reg reads the value (src) before the address (dst); BPF_ST has only the address.
      if (cls === BPF_STX && f.regs[insn.src]!.kind === 'not_init') throw new Rejection(pc, `R${insn.src} !read_ok`);
      if (dst.kind === 'not_init') throw new Rejection(pc, `R${insn.dst} !read_ok`);
      // Linux ≥ 6.3 takes BPF_ST into the context like any store: the field table decides.
      let value = cls === BPF_ST ? constReg(BigInt(insn.imm)) : f.regs[insn.src]!;
      // check_stack_write_fixed_off: a scalar spilled at a slot's start (whole, or narrow but fitting) gets
      // an id first, so the register and its spilled copy stay linked: a compare on one refines the other.
      // As for a copy (assign_scalar_id_before_mov), a register linked K apart (`rX += K`) leaves its group
      // first: the register and the slot start a group of their own (a constant, none).
      if (
        cls === BPF_STX &&
        dst.kind === 'fp' &&
        isConst(dst.s) &&
        (dst.off + insn.off) % 8 === 0 &&
        value.kind === 'scalar' &&
        (!value.id || value.addConst) &&
        fitsIn(value, size)
      ) {
        if (value.addConst) value = { ...value, id: 0, addConst: 0 as const, off: 0 };
        if (!isConst(value.s)) value = { ...value, id: newId(env) };
        f.regs[insn.src] = value;
      }
      const mode = cls === BPF_ST ? 'st' : undefined;
      access(env, st, pc, insn.dst, dst, insn.off, size, true, value, false, mode, insn.src);
      samePointerKind(env, pc, dst);
      // A zero stored off a slot's start, or at a variable offset, is remembered as zero bytes
      // (STACK_ZERO), which no backtracking follows: the register's value must stay exact, as the kernel
      // marks it. At a slot's start it is a spilled register, followed like any other.
      if (
        cls === BPF_STX &&
        dst.kind === 'fp' &&
        (!isConst(dst.s) || (dst.off + insn.off) % 8 !== 0) &&
        value.kind === 'scalar' &&
        isConst(value.s) &&
        value.s.t.value === 0n
      )
        env.precision?.mark(insn.src);
      return [{ pc: pc + 1, st }];
    }
    case BPF_LD:
      if (insn.code === OP_LDDW) {
        // check_ld_imm, when the walk reaches it: the offset is reserved, the destination a writable register.
        if (insn.off !== 0) throw new Rejection(pc, 'BPF_LD_IMM64 uses reserved fields');
        if (insn.dst > REG_FP) throw new Rejection(pc, `R${insn.dst} is invalid`);
        if (insn.dst === REG_FP) throw new Rejection(pc, 'frame pointer is read only');
        f.regs[insn.dst] = lddw(env, insn);
        return [{ pc: pc + 2, st }];
      }
      return ldAbs(env, st, insn);
    case BPF_JMP:
    case BPF_JMP32: {
      const op = opOf(insn.code);
      if (op === BPF_JA) {
        const target = pc + 1 + (cls === BPF_JMP32 ? insn.imm : insn.off);
        return [{ pc: target, st }];
      }
      if (op === BPF_CALL) return checkCall(env, st, insn);
      if (op === BPF_EXIT) return exit(env, st, pc);
      if (insn.code === OP_MAY_GOTO) return mayGoto(env, st, insn);
      const [taken, fall, linked] = condJump(st, insn, env.cfg.liveIn);
      // The registers the jump linked, for backtracking through it (both sides share the entry).
      if (linked) env.precision?.linkedRegs(linked);
      // A side skipped because of the operands' values: those values must stay exact (precision.ts).
      if (!taken || !fall) {
        if (sourceOf(insn.code) === BPF_X) env.precision?.mark(insn.dst, insn.src);
        else env.precision?.mark(insn.dst);
      }
      const out: Next[] = [];
      if (fall) out.push({ pc: pc + 1, st: fall });
      if (taken) out.push({ pc: pc + 1 + insn.off, st: taken });
      return out;
    }
  }
  throw new Rejection(pc, `unknown insn class ${cls}`);
}

function lddw(env: Env, insn: Instruction) {
  const pc = insn.pc;
  switch (insn.src) {
    case 0:
      return constReg(lddwValue(insn));
    case BPF_PSEUDO_MAP_FD:
    case BPF_PSEUDO_MAP_IDX:
    case BPF_PSEUDO_MAP_VALUE:
    case BPF_PSEUDO_MAP_IDX_VALUE: {
      const map = env.maps.get(insn.imm);
      if (!map) throw new Rejection(pc, `fd ${insn.imm} is not pointing to valid bpf_map`);
      if (insn.src === BPF_PSEUDO_MAP_FD || insn.src === BPF_PSEUDO_MAP_IDX) return ptrReg('map_ptr', { map });
      if (map.type !== MapType.ARRAY || map.maxEntries !== 1)
        throw new Rejection(
          pc,
          `map ${map.name}: direct value access on this map type (bpfkit models single-entry arrays only)`,
        );
      if (insn.imm2 < 0 || insn.imm2 >= map.valueSize)
        throw new Rejection(pc, `invalid access to map value pointer, value_size=${map.valueSize} off=${insn.imm2}`);
      return ptrReg('map_value', { map, off: insn.imm2 });
    }
    case BPF_PSEUDO_FUNC:
      if (!env.funcInfo) throw new Rejection(pc, 'missing btf func_info');
      return ptrReg('func', { target: pc + insn.imm + 1 });
    case BPF_PSEUDO_BTF_ID:
      // verify.ts's ksymResolve let through only what ksymReg types.
      return ksymReg();
  }
  throw new Rejection(pc, 'invalid bpf_ld_imm64 insn');
}

const LD_ABS_NOT_ALLOWED = 'BPF_LD_[ABS|IND] instructions not allowed for this program type';

/** may_access_skb: the program types that may use BPF_LD_[ABS|IND]. */
function mayAccessSkb(env: Env): boolean {
  const t = env.progType;
  return t === ProgType.SOCKET_FILTER || t === ProgType.SCHED_CLS || t === ProgType.SCHED_ACT;
}

function ldAbs(env: Env, st: State, insn: Instruction): Next[] {
  const pc = insn.pc;
  const f = cur(st);
  if (!mayAccessSkb(env)) throw new Rejection(pc, LD_ABS_NOT_ALLOWED);
  const mode = modeOf(insn.code);
  if (mode !== BPF_ABS && mode !== BPF_IND) throw new Rejection(pc, `unknown opcode ${insn.code.toString(16)}`);
  if (sizeOf(insn.code) === BPF_DW) throw new Rejection(pc, 'BPF_LD_[ABS|IND] uses reserved fields');
  // check_resource_leak: a failed load exits the program, leaking what it holds.
  if (st.lock) throw new Rejection(pc, 'BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region');
  if (st.refs.size) throw new Rejection(pc, leakText(st, 'BPF_LD_[ABS|IND] would lead to reference leak'));
  sectionLeak(st, pc, 'BPF_LD_[ABS|IND]');
  const inSub = st.frames.length > 1 || env.entry !== 0;
  if (inSub && st.frames.some((x) => x.callback || x.async))
    throw new Rejection(pc, 'BPF_LD_[ABS|IND] inside a callback: bpfkit does not model its early return');
  if (f.regs[6]!.kind !== 'ctx') throw new Rejection(pc, 'at the time of BPF_LD_ABS|IND R6 != pointer to skb');
  if (mode === BPF_IND && f.regs[insn.src]!.kind === 'not_init') throw new Rejection(pc, `R${insn.src} !read_ok`);
  // check_ptr_off_reg: R6 must be the context itself, not a pointer moved from it.
  const fault = ctxOffFault(f.regs[6]!, 6);
  if (fault) throw new Rejection(pc, fault);
  // In a subprogram (BTF given: verify.ts refuses it without) a failed load returns from the subprogram
  // with 0 (the exit bpf_gen_ld_abs hides there): that path leaves here through the subprogram's exit,
  // before the one where the load succeeded (ldAbsEarlyExit).
  const early = inSub ? ldAbsEarlyExit(env, st, pc) : [];
  for (let r = 1; r <= 5; r++) f.regs[r] = NOT_INIT;
  f.regs[0] = UNKNOWN_SCALAR;
  void BPF_W;
  return [...early, { pc: pc + 1, st }];
}

/**
 * A failed BPF_LD_[ABS|IND] inside a subprogram (Linux 6.18, checked): the subprogram returns 0 to its
 * caller right there, as an exit with r0 = 0 would (a global function's exit, verified alone, ends the
 * path). The kernel walks that exit first and comes back to the load's success (Linux 6.18, checked).
 */
function ldAbsEarlyExit(env: Env, st: State, pc: number): Next[] {
  const early = cloneState(st);
  cur(early).regs[0] = constReg(0n);
  return exit(env, early, pc);
}

function atomic(env: Env, st: State, insn: Instruction, size: number): Next[] {
  const pc = insn.pc;
  const f = cur(st);
  const dst = f.regs[insn.dst]!;
  const src = f.regs[insn.src]!;
  if (insn.imm === BPF_LOAD_ACQ || insn.imm === BPF_STORE_REL)
    throw new Rejection(pc, 'load-acquire and store-release (BPF_ATOMIC) are not modelled by bpfkit');
  if (size !== 4 && size !== 8) throw new Rejection(pc, 'invalid atomic operand size');
  // check_atomic_rmw: the size, then the operands in the order src, dst, r0 (cmpxchg's comparand).
  if (src.kind === 'not_init') throw new Rejection(pc, `R${insn.src} !read_ok`);
  if (dst.kind === 'not_init') throw new Rejection(pc, `R${insn.dst} !read_ok`);
  if (insn.imm === BPF_CMPXCHG && f.regs[0]!.kind === 'not_init') throw new Rejection(pc, 'R0 !read_ok');
  // is_flow_key_reg and is_sk_reg: a non-NULL socket pointer too (a maybe-NULL one fails as a memory access below).
  if (
    dst.kind === 'ctx' ||
    dst.kind === 'pkt' ||
    dst.kind === 'pkt_meta' ||
    dst.kind === 'flow_keys' ||
    (isSockKind(dst.kind) && !dst.nullable)
  )
    throw new Rejection(pc, `BPF_ATOMIC stores into R${insn.dst} ${dst.kind} is not allowed`);
  // A pointer as the operand "leaks addr into mem" only for an unprivileged loader (is_pointer_value).
  // check_atomic_rmw: a fetch writes the old value into src (r0 for cmpxchg), which may not be r10.
  if (insn.imm & BPF_FETCH && insn.imm !== BPF_CMPXCHG && insn.src === REG_FP)
    throw new Rejection(pc, 'frame pointer is read only');
  atomicAlignment(pc, insn.dst, dst, insn.off, size);
  const old = access(env, st, pc, insn.dst, dst, insn.off, size, false, undefined, false, 'atomic');
  access(env, st, pc, insn.dst, dst, insn.off, size, true, UNKNOWN_SCALAR, false, 'atomic');
  // check_atomic loads the old value into the register as a load would: a known zero or a spilled
  // constant on the stack comes back exact (Linux 6.18, checked).
  const loaded = old;
  if (insn.imm === BPF_CMPXCHG) f.regs[0] = loaded;
  else if (insn.imm & BPF_FETCH) f.regs[insn.src] = loaded;
  return [{ pc: pc + 1, st }];
}

/**
 * check_atomic asks check_ptr_alignment for a strict check (strict_alignment_once) even where the machine
 * allows unaligned loads: the whole offset, fixed and variable parts, must be a multiple of the size. The
 * stack is always strict (memory.ts); packets and ctx refuse atomics before this.
 */
function atomicAlignment(pc: number, regno: number, reg: Reg, off: number, size: number): void {
  // check_generic_ptr_alignment with no name for a BTF pointer (maybe NULL or not), untrusted memory and
  // a scalar, whose unknown bits are misaligned (Linux 6.18, checked by the tp_btf grammar fuzz).
  const generic = reg.kind === 'scalar' || reg.kind === 'btf_id' || reg.kind === 'untrusted_mem';
  const desc = generic
    ? ''
    : reg.kind === 'map_value'
      ? 'value '
      : reg.kind === 'map_key'
        ? 'key '
        : reg.kind === 'mem'
          ? ''
          : undefined;
  if (desc === undefined || (reg.nullable && !generic)) return;
  const t = tadd(reg.s.t, tconst(BigInt.asUintN(64, BigInt(reg.off + off))));
  if (((t.value | t.mask) & BigInt(size - 1)) === 0n) return;
  const varOff = reg.s.t.mask === 0n ? String(reg.s.t.value) : tstr(reg.s.t);
  throw new Rejection(pc, `misaligned ${desc}access off ${varOff}+${reg.off}+${off} size ${size}`);
}

/**
 * save_aux_ptr_type: a load or store instruction rewritten for the context (or a socket) must meet that
 * pointer kind on every path; one path's ctx and another's stack at the same instruction is refused.
 */
function samePointerKind(env: Env, pc: number, reg: Reg): void {
  const kind = reg.kind;
  const prev = (env.ptrKindAt ??= new Map()).get(pc);
  if (prev === undefined) {
    env.ptrKindAt.set(pc, kind);
    return;
  }
  // reg_type_mismatch_ok; BTF pointers of other trust at one load merge (save_aux_ptr_type), so kinds compare.
  const special = (k: string) =>
    k === 'ctx' || k === 'sock_common' || k === 'sock' || k === 'tcp_sock' || k === 'btf_id';
  if (prev !== kind && (special(prev) || special(kind)))
    throw new Rejection(pc, 'same insn cannot be used with different pointers');
}

/**
 * may_goto (check_cond_jmp_op): the jump (the loop's exit) is walked first; the fall-through (another
 * iteration) is queued one may_goto deeper, its imprecise scalars widened against the same loop's state
 * one iteration up (widen_imprecise_scalars), so the walk converges (walk.ts prunes it by ranges).
 */
function mayGoto(env: Env, st: State, insn: Instruction): Next[] {
  const pc = insn.pc;
  if (insn.src !== 0 || insn.dst !== 0 || insn.imm !== 0) throw new Rejection(pc, `invalid may_goto imm ${insn.imm}`);
  let again = cloneState(st);
  again.mayGotoDepth = (st.mayGotoDepth ?? 0) + 1;
  if (env.loopEntry) again = widenImprecise(env.loopEntry, again);
  return [
    { pc: pc + 1 + insn.off, st },
    { pc: pc + 1, st: again },
  ];
}

function exit(env: Env, st: State, pc: number): Next[] {
  const f = cur(st);
  const r0 = f.regs[0]!;
  // prepare_func_exit hands a static subprogram's r0 back as it is, even unset: only the caller's use of
  // it is checked. The program's (or a global function's) exit and a callback's return read it.
  // check_return_code: a struct_ops program serving a void member returns before reading r0 (struct-ops.ts).
  const voidExit = st.frames.length === 1 && env.entry === 0 && !f.async && env.structOps?.voidReturn === true;
  const r0Unset = r0.kind === 'not_init' && (st.frames.length === 1 || f.callback) && !voidExit;
  if (r0Unset && (st.frames.length !== 1 || f.async)) throw new Rejection(pc, 'R0 !read_ok');
  if (st.frames.length === 1) {
    // check_resource_leak: the lock first, then one line per reference still held and what would leak it.
    if (st.lock)
      throw new Rejection(pc, 'BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region');
    if (st.refs.size)
      throw new Rejection(pc, leakText(st, 'BPF_EXIT instruction in main prog would lead to reference leak'));
    sectionLeak(st, pc, 'BPF_EXIT instruction in main prog');
    // check_return_code, where an unset r0 is found, comes after check_resource_leak (Linux 6.18: a
    // reference, RCU section or disabled preemption held at the exit is named before an unset r0).
    if (r0Unset) throw new Rejection(pc, 'R0 !read_ok');
    // check_return_code: a timer's callback (timer.ts) returns 0, whatever the program type.
    if (f.async) {
      if (r0.kind !== 'scalar')
        throw new Rejection(pc, `At async callback return the register R0 is not a known value (${kindText(r0)})`);
      env.precision?.mark(0);
      if (r0.s.smin < 0n || r0.s.smax > 0n)
        throw new Rejection(pc, invalidScalarText('At async callback return', r0.s, [0n, 0n]));
      return [];
    }
    checkReturnCode(pc, r0, env);
    return [];
  }
  // prepare_func_exit: a pointer into a stack (whichever frame's) goes back to no caller, a callback's
  // included (said before a callback's R0 is checked).
  if (r0.kind === 'fp') throw new Rejection(pc, 'cannot return stack pointer to the caller');
  if (f.callback) {
    const cb = f.callback;
    // prepare_func_exit says it in its own words (check_return_code's are for programs and async callbacks).
    if (r0.kind !== 'scalar') throw new Rejection(pc, 'R0 not a scalar value');
    env.precision?.mark(0);
    if (r0.s.smin < cb.retMin || r0.s.smax > cb.retMax)
      // verbose_invalid_scalar: bounds at the type's limits are left out, as for a program's return.
      throw new Rejection(pc, invalidScalarText('At callback return', r0.s, [cb.retMin, cb.retMax]));
    // bpf_rbtree_add's `less` is walked once as a path of its own (graph.ts).
    if (cb.helper === RBTREE_LESS_CB) return [];
    // prepare_func_exit: back to the helper's call with the caller as it was there (r1-r5 still its
    // arguments), which may call the callback again. Scalars the caller's state at that call one
    // iteration up holds imprecise and different are widened (find_prev_entry, set by the walk), so
    // that iterations converge.
    st.frames.pop();
    const back = env.loopEntry ? widenImprecise(env.loopEntry, st) : st;
    return [{ pc: f.callsite, st: back }];
  }
  // A static subprogram may return any other pointer; a global function (verified alone, one frame)
  // returns a scalar, checked above.
  st.frames.pop();
  const caller = cur(st);
  for (let r = 1; r <= 5; r++) caller.regs[r] = NOT_INIT;
  caller.regs[0] = r0;
  return [{ pc: f.callsite + 1, st }];
}
