/**
 * ALU instructions: scalar transfer functions (64- and 32-bit) and pointer arithmetic as a privileged
 * loader may do it (the kernel's adjust_ptr_min_max_vals): constants move a pointer's fixed offset,
 * unknown scalars its variable part; packet pointers with a variable part get a fresh id and lose their
 * proven range; other operations on pointers are refused, or (32-bit moves) leave an unknown scalar.
 */
import type { Instruction } from '../isa/instruction.js';
import {
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_ARSH,
  BPF_DIV,
  BPF_END,
  BPF_LSH,
  BPF_MOD,
  BPF_MOV,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RSH,
  BPF_SUB,
  BPF_X,
  BPF_XOR,
  REG_FP,
  classOf,
  opOf,
  sourceOf,
} from '../isa/opcodes.js';
import { type Env, newId } from './env.js';
import { immReg } from './imm.js';
import { Rejection } from './reject.js';
import * as S from './scalar.js';
import { tbswap, ttrunc } from './tnum.js';
import * as O from './scalar-ops.js';
import { signExtend32, signExtend64 } from './sign-extend.js';
import { isSockKind } from './sock-ptr.js';
import { type Reg, type State, UNKNOWN_SCALAR, cur, isPointer, kindText, ptrReg, scalarReg } from './state.js';

const OP_NAMES: Record<number, string> = {
  [BPF_ADD]: '+=',
  [BPF_SUB]: '-=',
  [BPF_MUL]: '*=',
  [BPF_DIV]: '/=',
  [BPF_OR]: '|=',
  [BPF_AND]: '&=',
  [BPF_LSH]: '<<=',
  [BPF_RSH]: '>>=',
  [BPF_NEG]: 'neg',
  [BPF_MOD]: '%=',
  [BPF_XOR]: '^=',
  [BPF_MOV]: '=',
  [BPF_ARSH]: 's>>=',
  [BPF_END]: 'endian',
};

const MAX_VAR_OFF = 1 << 29;
const MAX_PACKET_OFF = 0xffff;

/** Execute one ALU instruction on the innermost frame. */
export function checkAlu(env: Env, st: State, insn: Instruction): void {
  const f = cur(st);
  const op = opOf(insn.code);
  const is32 = classOf(insn.code) === BPF_ALU;
  const pc = insn.pc;
  const dst = insn.dst;
  const useSrc = sourceOf(insn.code) === BPF_X && op !== BPF_NEG && op !== BPF_END;
  let srcReg: Reg;
  if (useSrc) {
    srcReg = f.regs[insn.src]!;
    if (srcReg.kind === 'not_init') throw new Rejection(pc, `R${insn.src} !read_ok`);
  } else {
    srcReg = immReg(insn.imm, is32);
  }
  // The kernel's order (check_alu_op): operands read, then div by zero and shift widths, then the
  // destination written — so `r10 += r11`-style faults name the unread operand first.
  if (op !== BPF_MOV && f.regs[dst]!.kind === 'not_init') throw new Rejection(pc, `R${dst} !read_ok`);
  if ((op === BPF_DIV || op === BPF_MOD) && !useSrc && insn.imm === 0) throw new Rejection(pc, 'div by zero');
  if (
    (op === BPF_LSH || op === BPF_RSH || op === BPF_ARSH) &&
    !useSrc &&
    (insn.imm < 0 || insn.imm >= (is32 ? 32 : 64))
  )
    throw new Rejection(pc, `invalid shift ${insn.imm}`);
  if (dst === REG_FP) throw new Rejection(pc, 'frame pointer is read only');

  if (op === BPF_MOV) {
    // assign_scalar_id_before_mov: a source linked K apart (`rY += K`) leaves its group first (a copy
    // cannot add a second K); then a copy of a non-constant links both under one id.
    if (useSrc && srcReg.kind === 'scalar' && srcReg.addConst && (is32 ? srcReg.s.umax <= 0xffffffffn : true)) {
      srcReg = { ...srcReg, id: 0, addConst: 0 as const, off: 0 };
      f.regs[insn.src] = srcReg;
    }
    if (!is32 && insn.off === 0) {
      // A 64-bit copy: scalars get linked by id so a later compare refines both.
      if (srcReg.kind === 'scalar' && useSrc && !S.isConst(srcReg.s)) {
        const id = srcReg.id || newId(env);
        f.regs[insn.src] = { ...srcReg, id };
        f.regs[dst] = { ...srcReg, id };
      } else {
        f.regs[dst] =
          srcReg.kind === 'scalar' && srcReg.id !== 0 ? { ...srcReg, id: 0, addConst: 0 as const, off: 0 } : srcReg;
      }
      return;
    }
    if (isPointer(srcReg)) {
      // Privileged: a partial copy of a pointer is just an unknown scalar.
      f.regs[dst] = is32 ? scalarReg(S.unsignedBits(32)) : UNKNOWN_SCALAR;
      return;
    }
    const v = srcReg.s;
    if (is32 && !insn.off && useSrc && v.umax <= 0xffffffffn && v.smin >= 0n && !S.isConst(v)) {
      // `w3 = w2` of a value whose high half is zero copies it whole: linked like a 64-bit copy.
      const id = srcReg.id || newId(env);
      f.regs[insn.src] = { ...srcReg, id };
      f.regs[dst] = { ...srcReg, id };
      return;
    }
    if (insn.off) {
      const ext = scalarReg(is32 ? signExtend32(v, insn.off) : signExtend64(v, insn.off));
      // A source below 2^(bits-1) is what its extension gives back: the copy stays linked to it, as a
      // plain copy would (Linux 6.18's no_sext, checked).
      if (useSrc && !S.isConst(v) && v.umax < 1n << BigInt(insn.off - 1)) {
        const id = srcReg.id || newId(env);
        f.regs[insn.src] = { ...srcReg, id };
        f.regs[dst] = { ...ext, id };
        return;
      }
      f.regs[dst] = ext;
    } else f.regs[dst] = scalarReg(is32 ? S.low32(v) : v);
    return;
  }

  const dstReg = f.regs[dst]!;

  // A byte-order conversion of a scalar (Linux 6.18 tracks it through the tnum): `le64` (on this
  // little-endian target) changes nothing; `le16`/`le32` keep the low bytes; `be*` and the ALU64
  // `bswap*` reverse them. The bounds come from the new tnum.
  if (op === BPF_END && !isPointer(dstReg)) {
    const bits = insn.imm;
    const swap = !is32 || sourceOf(insn.code) === BPF_X;
    if (!swap && bits === 64) return;
    const t = swap ? tbswap(dstReg.s.t, bits) : ttrunc(dstReg.s.t, bits);
    f.regs[dst] = scalarReg(S.must(S.sync(S.withFacts(S.UNKNOWN, { t }))));
    return;
  }

  // check_alu_op: a negated or byte-swapped pointer is an unknown scalar (privileged: no leak to refuse).
  if ((op === BPF_NEG || op === BPF_END) && isPointer(dstReg)) {
    f.regs[dst] = UNKNOWN_SCALAR;
    return;
  }
  if (isPointer(dstReg) || isPointer(srcReg)) {
    // pointer += scalar (or scalar += pointer): the scalar's exact range becomes part of the pointer.
    if (useSrc && isPointer(dstReg) !== isPointer(srcReg)) env.precision?.mark(isPointer(dstReg) ? insn.src : dst);
    f.regs[dst] = pointerAlu(env, pc, insn, op, is32, dstReg, srcReg);
    return;
  }
  const result = scalarAlu(op, is32, dstReg.s, srcReg.s, insn.off);
  const k = (op === BPF_ADD || op === BPF_SUB) && dstReg.id ? linkDelta(insn, is32, dstReg, srcReg) : undefined;
  f.regs[dst] =
    k === undefined ? scalarReg(result) : { ...scalarReg(result), id: dstReg.id, addConst: is32 ? 32 : 64, off: k };
}

/**
 * adjust_reg_min_max_vals (Linux 6.18, with its stable fixes): `rX += K` or `rX -= K` of a linked scalar
 * by a constant keeps rX in its group, linked K (or -K) apart; the delta, or undefined when the
 * operation unlinks it. It unlinks when rX is already K apart (one delta only), when it adds itself,
 * when a 64-bit K does not fit an s32 (or -K does not), and when a 32-bit addition's register may hold
 * more than 32 bits before it (the wrapped sum would no longer be the group's value plus K).
 */
function linkDelta(insn: Instruction, is32: boolean, dstReg: Reg, srcReg: Reg): number | undefined {
  if (sourceOf(insn.code) === BPF_X && insn.src === insn.dst) return undefined;
  const t = srcReg.s.t;
  if (is32 ? (t.mask & 0xffffffffn) !== 0n : t.mask !== 0n) return undefined;
  let k: bigint;
  if (is32) {
    if (dstReg.s.umax > 0xffffffffn) return undefined;
    k = BigInt.asIntN(32, t.value);
  } else {
    k = BigInt.asIntN(64, t.value);
    if (k < -0x80000000n || k > 0x7fffffffn) return undefined;
  }
  if (opOf(insn.code) === BPF_SUB) {
    if (k === -0x80000000n) return undefined;
    k = -k;
  }
  return dstReg.addConst ? undefined : Number(k);
}

/**
 * The scalar result of `a op b` (32-bit ops on the low halves, zero-extended; a negation is `0 - a`).
 * Operations whose result the kernel does not bound (division, modulo, byte swaps, shifts by a register or by the
 * width or more) give an unknown scalar, in 32 bits too: the kernel marks the register unknown before
 * it would zero-extend (is_safe_to_compute_dst_reg_range).
 */
export function scalarAlu(op: number, is32: boolean, a: S.Scalar, b: S.Scalar, off = 0): S.Scalar {
  if (a.t.mask === 0n && b.t.mask === 0n) {
    const k = constAlu(op, is32, a.t.value, b.t.value);
    if (k !== undefined) return S.known(k);
  }
  void off;
  switch (op) {
    case BPF_ADD:
      return O.add(a, b, is32);
    case BPF_SUB:
      return O.sub(a, b, is32);
    // Linux 6.18 bounds a negation as 0 - x (scalar_min_max_sub from a known zero, tnum_neg).
    case BPF_NEG:
      return O.sub(S.known(0n), a, is32);
    case BPF_MUL:
      return O.mul(a, b, is32);
    case BPF_AND:
      return O.and(a, b, is32);
    case BPF_OR:
      return O.or(a, b, is32);
    case BPF_XOR:
      return O.xor(a, b, is32);
    case BPF_LSH:
    case BPF_RSH:
    case BPF_ARSH: {
      // A constant shift below the width: in 32 bits the low half is the constant, the whole value too.
      const width = is32 ? 32 : 64;
      if (!(is32 ? (b.t.mask & 0xffffffffn) === 0n : S.isConst(b)) || b.umax >= BigInt(width)) return S.UNKNOWN;
      const k = Number(b.umax);
      if (op === BPF_LSH) return O.lsh(a, k, is32);
      if (op === BPF_RSH) return O.rsh(a, k, is32);
      return O.arsh(a, k, is32);
    }
    default:
      return S.UNKNOWN;
  }
}

const U32 = 0xffffffffn;

/**
 * `a op b` on two constants, for the operations whose transfer functions give back exactly the constant
 * result (tnums of constants are constants, and the bounds then agree with them), computed without them:
 * a million `r0 += 1` would otherwise each run the tnum arithmetic and reg_bounds_sync. Undefined for the
 * others (they take the general path). 32-bit operations work on the low halves and zero-extend.
 */
function constAlu(op: number, is32: boolean, a: bigint, b: bigint): bigint | undefined {
  if (is32) {
    a &= U32;
    b &= U32;
  }
  let r: bigint;
  switch (op) {
    case BPF_ADD:
      r = a + b;
      break;
    case BPF_SUB:
      r = a - b;
      break;
    case BPF_AND:
      r = a & b;
      break;
    case BPF_OR:
      r = a | b;
      break;
    case BPF_XOR:
      r = a ^ b;
      break;
    case BPF_LSH:
      if (b >= (is32 ? 32n : 64n)) return undefined;
      r = a << b;
      break;
    case BPF_RSH:
      if (b >= (is32 ? 32n : 64n)) return undefined;
      r = a >> b;
      break;
    default:
      return undefined;
  }
  return is32 ? r & U32 : BigInt.asUintN(64, r);
}

function pointerAlu(env: Env, pc: number, insn: Instruction, op: number, is32: boolean, dst: Reg, src: Reg): Reg {
  const dstPtr = isPointer(dst);
  const srcPtr = isPointer(src);
  if (dstPtr && srcPtr) {
    // Privileged: the difference of two pointers is a scalar, in 32 bits too (allow_ptr_leaks).
    if (op === BPF_SUB) return UNKNOWN_SCALAR;
    if (op === BPF_ADD) throw new Rejection(pc, `R${insn.dst} pointer += pointer prohibited`);
    throw new Rejection(pc, `R${insn.dst} pointer ${OP_NAMES[op]} pointer prohibited`);
  }
  if (is32) {
    // Privileged: a 32-bit subtraction leaves a meaningless scalar; any other 32-bit pointer arithmetic is refused.
    if (op === BPF_SUB) return UNKNOWN_SCALAR;
    throw new Rejection(pc, `R${insn.dst} 32-bit pointer arithmetic prohibited`);
  }
  // Linux 6.18: untrusted memory (a BTF pointer to a non-struct) takes any 64-bit operation with a scalar,
  // on either side, and stays untrusted memory with nothing tracked (its loads are probe loads).
  if (dst.kind === 'untrusted_mem' || src.kind === 'untrusted_mem') return ptrReg('untrusted_mem');
  // adjust_ptr_min_max_vals, in its order: a pointer that may be NULL, the pointer's type, both
  // operands' sanity, then the operator; every refusal names the destination register.
  const ptr = dstPtr ? dst : src;
  const off = dstPtr ? src : dst;
  const v = off.s;
  if (ptr.nullable)
    throw new Rejection(pc, `R${insn.dst} pointer arithmetic on ${kindText(ptr)} prohibited, null-check it first`);
  // CONST_PTR_TO_MAP: adding a known zero is the one arithmetic allowed (the pointer stays as it is);
  // PTR_TO_FLOW_KEYS moves by constants only.
  if (ptr.kind === 'map_ptr' && op === BPF_ADD && S.isConst(v) && v.t.value === 0n) return ptr;
  if (
    ptr.kind === 'map_ptr' ||
    ptr.kind === 'pkt_end' ||
    ptr.kind === 'func' ||
    isSockKind(ptr.kind) ||
    (ptr.kind === 'flow_keys' && !S.isConst(v))
  )
    throw new Rejection(pc, `R${insn.dst} pointer arithmetic on ${kindText(ptr)} prohibited`);
  // check_reg_sane_offset of the scalar operand.
  if (S.isConst(v)) {
    const k = BigInt.asIntN(64, v.t.value);
    if (k >= BigInt(MAX_VAR_OFF) || k <= -BigInt(MAX_VAR_OFF))
      throw new Rejection(pc, `math between ${kindText(ptr)} pointer and ${k} is not allowed`);
  } else {
    if (v.smin === -(1n << 63n))
      throw new Rejection(
        pc,
        `math between ${kindText(ptr)} pointer and register with unbounded min value is not allowed`,
      );
    if (v.smin <= -BigInt(MAX_VAR_OFF) || v.smin >= BigInt(MAX_VAR_OFF))
      throw new Rejection(pc, `value ${v.smin} makes ${kindText(ptr)} pointer be out of bounds`);
  }
  if (op !== BPF_ADD && op !== BPF_SUB) {
    if (op === BPF_AND || op === BPF_OR || op === BPF_XOR)
      throw new Rejection(pc, `R${insn.dst} bitwise operator ${OP_NAMES[op]} on pointer prohibited`);
    throw new Rejection(pc, `R${insn.dst} pointer arithmetic with ${OP_NAMES[op]} operator prohibited`);
  }
  if (op === BPF_SUB && srcPtr) throw new Rejection(pc, `R${insn.dst} tried to subtract pointer from scalar`);
  // adjust_ptr_min_max_vals refuses any subtraction from a stack pointer, constants included (JITs may
  // not handle it); `r1 += -8` is the way to move it down.
  if (op === BPF_SUB && dst.kind === 'fp')
    throw new Rejection(pc, `R${insn.dst} subtraction from stack pointer prohibited`);
  // A BTF pointer moves by constants (its loads walk the struct at the new offset) and by variables too
  // (adjust_ptr_min_max_vals has no case for it): its loads then fail in check_ptr_to_btf_access
  // (btfAccess), and calls that take it are not modelled (varOffBtfArgFault in calls.ts).
  // A ctx pointer may move by a variable; any use of it is refused then (ctxOffFault).
  if (S.isConst(v)) {
    const k = BigInt.asIntN(64, v.t.value);
    const fixed = op === BPF_ADD ? ptr.off + Number(k) : ptr.off - Number(k);
    // check_reg_sane_offset on the result: its fixed offset must stay within ±2^29.
    if (Math.abs(fixed) >= MAX_VAR_OFF)
      throw new Rejection(pc, `${kindText(ptr)} pointer offset ${fixed} is not allowed`);
    // A packet pointer known at or past the end (jumps.ts) forgets it once moved, even by 0 (Linux 6.18).
    if (ptr.range < 0) return { ...ptr, off: fixed, range: 0 };
    return { ...ptr, off: fixed };
  }
  const s = op === BPF_ADD ? O.add(ptr.s, v) : O.sub(ptr.s, v);
  // check_reg_sane_offset on the result too: its variable part's minimum must stay within ±2^29
  // (Linux 6.18's words; `p -= u32` is refused here, though each operand alone passed).
  if (s.smin <= -BigInt(MAX_VAR_OFF) || s.smin >= BigInt(MAX_VAR_OFF))
    throw new Rejection(pc, `${kindText(ptr)} pointer offset ${s.smin} is not allowed`);
  const out: Reg = { ...ptr, s };
  if (ptr.kind === 'pkt' || ptr.kind === 'pkt_meta') {
    if (s.umax > BigInt(MAX_PACKET_OFF) && s.smin >= 0n) {
      // The kernel keeps such a pointer but no range proof will ever cover it; bpfkit does the same.
    }
    return { ...out, id: newId(env), range: 0 };
  }
  return out;
}
