/**
 * Conditional jumps: scalar compares refine both sides (and every register linked to them by id), null
 * checks turn `*_or_null` pointers into pointers or zeros, and `pkt + N > pkt_end` compares give packet
 * pointers their proven range. Anything else walks both sides unchanged, as the kernel does for a
 * privileged loader. A side is skipped only when the kernel would skip it too.
 */
import type { Instruction } from '../isa/instruction.js';
import {
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JLE,
  BPF_JLT,
  BPF_JMP32,
  BPF_JNE,
  BPF_X,
  classOf,
  opOf,
  sourceOf,
} from '../isa/opcodes.js';
import { decide, refineUndecided } from './branch.js';
import { immReg } from './imm.js';
import { Rejection } from './reject.js';
import { type Scalar, isConst, known } from './scalar.js';
import { collectLinked, linkKey, syncLinked } from './linked-regs.js';
import { keepsIdAfterNullCheck } from './spin-lock.js';
import { type Reg, type State, UNKNOWN_SCALAR, cloneState, cur, forEachReg, isPointer, scalarReg } from './state.js';

const MAX_PACKET_OFF = 0xffff;

/**
 * The states after a conditional jump: [taken, fall-through], either undefined when that side cannot happen,
 * and the registers the jump linked (linked-regs.ts) when more than one. `liveIn`: the registers live
 * before each instruction (stage 1's), which decides the registers linked.
 */
export function condJump(
  st: State,
  insn: Instruction,
  liveIn: Uint16Array,
): [State | undefined, State | undefined, readonly number[] | undefined] {
  const f = cur(st);
  const op = opOf(insn.code);
  const is32 = classOf(insn.code) === BPF_JMP32;
  const pc = insn.pc;
  const a = f.regs[insn.dst]!;
  if (a.kind === 'not_init') throw new Rejection(pc, `R${insn.dst} !read_ok`);
  const useSrc = sourceOf(insn.code) === BPF_X;
  let b: Reg;
  if (useSrc) {
    b = f.regs[insn.src]!;
    if (b.kind === 'not_init') throw new Rejection(pc, `R${insn.src} !read_ok`);
  } else b = immReg(insn.imm, is32);

  if (a.kind === 'scalar' && b.kind === 'scalar') {
    const d = decide(op, a.s, b.s, is32);
    if (d === true) return [st, undefined, undefined];
    if (d === false) return [undefined, st, undefined];
    // Collected before the copy, so both sides lose the ids that did not fit.
    const linked = collectOperands(st, insn, useSrc, liveIn);
    const a1 = f.regs[insn.dst]!;
    const b1 = useSrc ? f.regs[insn.src]! : b;
    const taken = cloneState(st);
    const fall = st;
    const sameReg = useSrc && insn.src === insn.dst;
    applyRefinement(taken, insn, a1, b1, refineUndecided(op, a.s, b.s, true, is32, sameReg), useSrc, linked);
    applyRefinement(fall, insn, a1, b1, refineUndecided(op, a.s, b.s, false, is32, sameReg), useSrc, linked);
    return [taken, fall, linked];
  }

  // Two packet pointers (pkt_end among them): decided only by one known at or past the end.
  if (!is32 && useSrc) {
    const d = pktEndDecided(op, a, b);
    if (d === true) return [st, undefined, undefined];
    if (d === false) return [undefined, st, undefined];
  }

  const isZero0 = (r: Reg) =>
    r.kind === 'scalar' && isConst(r.s) && (is32 ? r.s.t.value & 0xffffffffn : r.s.t.value) === 0n;
  // reg_not_null: the pointer kinds that are never NULL once checked (sockets too; Linux 6.18 counts a
  // map pointer among them, checked: `if r1 != 0` on a map pointer follows one side only).
  const notNull = (r: Reg) =>
    !r.nullable &&
    (r.kind === 'map_value' ||
      r.kind === 'map_ptr' ||
      r.kind === 'map_key' ||
      r.kind === 'mem' ||
      r.kind === 'sock' ||
      r.kind === 'sock_common' ||
      r.kind === 'tcp_sock' ||
      r.kind === 'xdp_sock' ||
      // a BTF pointer only when trusted (is_trusted_reg: PTR_TRUSTED, or referenced): a walked one may be
      // NULL at run time
      (r.kind === 'btf_id' && (r.btf?.trust === 'trusted' || r.ref !== 0)) ||
      // an allocated object is trusted (MEM_ALLOC, owning or not: BPF_REG_TRUSTED_MODIFIERS), but not with
      // MEM_RCU (a loaded local kptr, a non-owning refcounted node: refcount.ts), an unsafe modifier
      (r.kind === 'alloc' && !r.alloc?.rcu));
  if ((op === BPF_JEQ || op === BPF_JNE) && ((notNull(a) && isZero0(b)) || (notNull(b) && isZero0(a)))) {
    // A valid pointer of these types is never NULL: the kernel follows one side only.
    return op === BPF_JNE ? [st, undefined, undefined] : [undefined, st, undefined];
  }
  // A scalar compared with a pointer learns nothing, but its group is collected all the same: the copies
  // that do not fit lose their ids.
  const linked = collectOperands(st, insn, useSrc, liveIn);
  const taken = cloneState(st);
  const fall = st;
  if (!is32 && (op === BPF_JEQ || op === BPF_JNE)) {
    // The null check proper: `if rX == 0` with the immediate 0 and the maybe-NULL pointer as the
    // destination; a register holding 0 teaches nothing (check_cond_jmp_op).
    if (!useSrc && insn.imm === 0 && a.nullable && a.id) {
      markNull(op === BPF_JEQ ? taken : fall, a.id, true);
      markNull(op === BPF_JEQ ? fall : taken, a.id, false);
      return [taken, fall, linked];
    }
    // Two pointers, one never NULL: where they are equal, the other is not NULL either; that register
    // alone, keeping its id (mark_ptr_not_null_reg).
    if (useSrc && isPointer(a) && isPointer(b)) {
      const eq = cur(op === BPF_JEQ ? taken : fall);
      if (notNull(a) && b.nullable) eq.regs[insn.src] = { ...b, nullable: false };
      if (notNull(b) && a.nullable) eq.regs[insn.dst] = { ...a, nullable: false };
    }
  }
  if (!is32) packetRange(insn, op, a, b, taken, fall);
  return [taken, fall, linked];
}

/**
 * check_cond_jmp_op's collect_linked_regs calls: the source's group, then the destination's, into one
 * list (linked-regs.ts); undefined when it holds fewer than two entries (nothing recorded for
 * backtracking).
 */
function collectOperands(
  st: State,
  insn: Instruction,
  useSrc: boolean,
  liveIn: Uint16Array,
): readonly number[] | undefined {
  const f = cur(st);
  const src = useSrc ? f.regs[insn.src]! : undefined;
  const dst = f.regs[insn.dst]!;
  if (!(src?.kind === 'scalar' && src.id) && !(dst.kind === 'scalar' && dst.id)) return undefined;
  // A caller's registers count when live before its call (the kernel's frame_insn_idx), but r0-r5 of a
  // static function's caller, which the kernel scratches at the call (clear_caller_saved_regs; bpfkit
  // keeps them until the return). A callback's caller has them still: its state was copied before the
  // helper's call cleared them (push_callback_call).
  const last = st.frames.length - 1;
  const live = (fr: number) => {
    if (fr === last) return liveIn[insn.pc]!;
    const callee = st.frames[fr + 1]!;
    return liveIn[callee.callsite]! & (callee.callback ? 0x3ff : 0x3c0);
  };
  const out: number[] = [];
  if (src?.kind === 'scalar' && src.id) collectLinked(st, src.id, live, out);
  // The destination's id as it is now: the source's collection may have cleared it.
  const d = f.regs[insn.dst]!;
  if (d.kind === 'scalar' && d.id) collectLinked(st, d.id, live, out);
  return out.length > 1 ? out : undefined;
}

function applyRefinement(
  st: State,
  insn: Instruction,
  a: Reg,
  b: Reg,
  r: [Scalar, Scalar] | undefined,
  useSrc: boolean,
  linked: readonly number[] | undefined,
): void {
  if (!r) return;
  const f = cur(st);
  const [na, nb] = r;
  if (useSrc && insn.src === insn.dst) {
    f.regs[insn.dst] = { ...b, s: nb };
  } else {
    // A scalar the compare taught nothing comes back as the same object: the register stays as it is.
    if (na !== a.s) f.regs[insn.dst] = { ...a, s: na };
    if (useSrc && nb !== b.s) f.regs[insn.src] = { ...b, s: nb };
  }
  if (!linked) return;
  // The source's group learns first, then the destination's, as it stands after that (sync_linked_regs).
  const frame = st.frames.length - 1;
  if (useSrc) syncLinked(st, f.regs[insn.src]!, linkKey(frame, insn.src), linked);
  syncLinked(st, f.regs[insn.dst]!, linkKey(frame, insn.dst), linked);
}

/** After a null check: every register with the pointer's id becomes 0 (null side) or the pointer (other side). */
function markNull(st: State, id: number, isNull: boolean): void {
  let ref = 0;
  forEachReg(st, (r) => {
    if (r.id !== id || !r.nullable) return r;
    if (isNull) {
      // Only the acquired pointer itself (id == ref) gives its reference back: a cast of it (bpf_tcp_sock)
      // being NULL says nothing of the socket it was cast from.
      if (r.ref && r.ref === id) ref = r.ref;
      return scalarReg(known(0n));
    }
    // mark_ptr_or_null_reg: a pointer proven non-NULL has nothing left to check, so it drops the id, but
    // for a map value that may hold a spin lock, whose id names the lock (spin-lock.ts).
    return { ...r, nullable: false, id: keepsIdAfterNullCheck(r) ? r.id : 0 };
  });
  // A reference that turned out NULL was never taken.
  if (isNull && ref) st.refs.delete(ref);
}

/** Reg.range of a packet pointer compared at the packet's end (pkt' >= pkt_end: the kernel's AT_PKT_END)... */
const AT_PKT_END = -1;
/** ...or past it (pkt' > pkt_end: BEYOND_PKT_END). Any access through either is refused (memory.ts). */
const BEYOND_PKT_END = -2;

/**
 * `pkt' op pkt_end` (try_match_pkt_pointers): the side where pkt' <= pkt_end proves [pkt, pkt + off) inside
 * the packet for every packet pointer of pkt's id (a strict `<` one byte more); on the other side the
 * compared register itself is at the end (pkt' >= pkt_end) or past it (pkt' > pkt_end), which refuses
 * any access through it and decides later compares with pkt_end (mark_pkt_end, pktEndDecided).
 */
function packetRange(insn: Instruction, op: number, a: Reg, b: Reg, taken: State, fall: State): void {
  let pkt: Reg;
  let regno: number;
  let safe: State;
  let open: boolean;
  let unsafe: State;
  let beyond: boolean;
  const initPkt = (r: Reg) => r.kind === 'pkt' && r.off === 0 && isConst(r.s) && r.s.t.value === 0n;
  const lower = (x: Reg, y: Reg) => (x.kind === 'pkt' && y.kind === 'pkt_end') || (x.kind === 'pkt_meta' && initPkt(y));
  if (lower(a, b)) {
    [pkt, regno] = [a, insn.dst];
    if (op === BPF_JGT) [safe, open, unsafe, beyond] = [fall, false, taken, true];
    else if (op === BPF_JGE) [safe, open, unsafe, beyond] = [fall, true, taken, false];
    else if (op === BPF_JLT) [safe, open, unsafe, beyond] = [taken, true, fall, false];
    else if (op === BPF_JLE) [safe, open, unsafe, beyond] = [taken, false, fall, true];
    else return;
  } else if (lower(b, a)) {
    [pkt, regno] = [b, insn.src];
    if (op === BPF_JGT) [safe, open, unsafe, beyond] = [taken, true, fall, false];
    else if (op === BPF_JGE) [safe, open, unsafe, beyond] = [taken, false, fall, true];
    else if (op === BPF_JLT) [safe, open, unsafe, beyond] = [fall, false, taken, true];
    else if (op === BPF_JLE) [safe, open, unsafe, beyond] = [fall, true, taken, false];
    else return;
  } else return;
  // mark_pkt_end: the register itself only (not its copies), and never a pkt_meta one.
  const marked = cur(unsafe).regs[regno]!;
  if (marked.kind === 'pkt') cur(unsafe).regs[regno] = { ...marked, range: beyond ? BEYOND_PKT_END : AT_PKT_END };
  if (pkt.off < 0 || (pkt.off === 0 && open)) return;
  if (pkt.s.umax > BigInt(MAX_PACKET_OFF) || pkt.s.umax + BigInt(pkt.off) > BigInt(MAX_PACKET_OFF)) return;
  // pkt' < end proves one byte more than pkt' <= end (Linux 6.18 credits it; older kernels credited less).
  const range = open ? pkt.off + 1 : pkt.off;
  forEachReg(safe, (r) => (r.kind === pkt.kind && r.id === pkt.id && r.range < range ? { ...r, range } : r));
}

/**
 * is_pkt_ptr_branch_taken: a packet pointer known at the end decides `>=` (and `<`), one known past it
 * `>` (and `<=`) too, against pkt_end; undefined when the compare is open.
 */
function pktEndDecided(op: number, a: Reg, b: Reg): boolean | undefined {
  let pkt: Reg;
  if (b.kind === 'pkt_end' && (a.kind === 'pkt' || a.kind === 'pkt_meta')) pkt = a;
  else if (a.kind === 'pkt_end' && (b.kind === 'pkt' || b.kind === 'pkt_meta')) {
    pkt = b;
    op = op === BPF_JGT ? BPF_JLT : op === BPF_JLT ? BPF_JGT : op === BPF_JGE ? BPF_JLE : op === BPF_JLE ? BPF_JGE : op;
  } else return undefined;
  if (pkt.range >= 0) return undefined;
  if ((op === BPF_JLE || op === BPF_JGT) && pkt.range === BEYOND_PKT_END) return op === BPF_JGT;
  if (op === BPF_JLT || op === BPF_JGE) return op === BPF_JGE;
  return undefined;
}

/**
 * Registers that packet-changing helpers invalidate become unknown scalars (privileged rule): packet
 * pointers, and slices of skb or xdp dynptrs (clear_all_pkt_pointers' reg_is_dynptr_slice_pkt).
 */
export function clearPacketPointers(st: State): void {
  forEachReg(st, (r) =>
    r.kind === 'pkt' || r.kind === 'pkt_meta' || r.kind === 'pkt_end' || (r.kind === 'mem' && r.slice?.pkt)
      ? UNKNOWN_SCALAR
      : r,
  );
}
