/**
 * The plain interpreter: one dense `switch` on the opcode byte over pre-decoded columns, registers as
 * int32 halves in two Int32Arrays. Simple enough to trust; the compiled engine (interpreter-jit.ts) is
 * checked against it, and the conformance suite runs on both.
 */
import { DONE, SWITCH, type EngineState } from './interpreter-state.js';
import type { LoadedProgram } from './interpreter-program.js';
import {
  out, mul64, div64u, mod64u, div64s, mod64s, lsh64, rsh64, arsh64, bswap16, bswap32, div32u, mod32u, div32s, mod32s,
} from './interpreter-int64.js';
import { CONTINUE, atomic, budgetError, callHelper, callxError, fallThroughError, loadPacket, popFrame, pushFrame } from './interpreter-ops.js';
import { VmError } from './vm-error.js';

/** Does the JMP/JMP32 condition `op` hold for (ah:al) vs (bh:bl)? 32-bit forms pass sign-extended halves. */
function cond(op: number, al: number, ah: number, bl: number, bh: number): boolean {
  switch (op) {
    case 0x10: return al === bl && ah === bh;
    case 0x50: return al !== bl || ah !== bh;
    case 0x40: return (al & bl) !== 0 || (ah & bh) !== 0;
    case 0x20: return (ah >>> 0) > (bh >>> 0) || (ah === bh && (al >>> 0) > (bl >>> 0));
    case 0x30: return (ah >>> 0) > (bh >>> 0) || (ah === bh && (al >>> 0) >= (bl >>> 0));
    case 0xa0: return (ah >>> 0) < (bh >>> 0) || (ah === bh && (al >>> 0) < (bl >>> 0));
    case 0xb0: return (ah >>> 0) < (bh >>> 0) || (ah === bh && (al >>> 0) <= (bl >>> 0));
    case 0x60: return ah > bh || (ah === bh && (al >>> 0) > (bl >>> 0));
    case 0x70: return ah > bh || (ah === bh && (al >>> 0) >= (bl >>> 0));
    case 0xc0: return ah < bh || (ah === bh && (al >>> 0) < (bl >>> 0));
    case 0xd0: return ah < bh || (ah === bh && (al >>> 0) <= (bl >>> 0));
  }
  return false;
}

export function interpret(st: EngineState, p: LoadedProgram, startPc: number): number {
  const L = st.lo;
  const H = st.hi;
  const mem = st.mem;
  const CODE = p.code;
  const DST = p.dst;
  const SRC = p.src;
  const OFF = p.off;
  const IMM = p.imm;
  const n = p.slots;
  let pc = startPc;
  let budget = st.budget;
  for (;;) {
    if (pc >= n) throw fallThroughError(pc);
    if (--budget < 0) {
      st.budget = 0;
      throw budgetError(pc, st.limit);
    }
    const op = CODE[pc] as number;
    const d = DST[pc] as number;
    const cls = op & 7;
    if (cls === 4 || cls === 7) {
      // ---- ALU (32-bit) and ALU64 ----
      const s = SRC[pc] as number;
      const imm = IMM[pc] as number;
      const x = (op & 8) !== 0;
      const bl = x ? (L[s] as number) : imm;
      const bh = x ? (H[s] as number) : imm >> 31;
      const al = L[d] as number;
      const ah = H[d] as number;
      const aop = op & 0xf0;
      if (cls === 4) {
        let r: number;
        switch (aop) {
          case 0x00: r = (al + bl) | 0; break;
          case 0x10: r = (al - bl) | 0; break;
          case 0x20: r = Math.imul(al, bl); break;
          case 0x30: r = OFF[pc] === 1 ? div32s(al, bl) : div32u(al, bl); break;
          case 0x40: r = al | bl; break;
          case 0x50: r = al & bl; break;
          case 0x60: r = al << (bl & 31); break;
          case 0x70: r = al >>> (bl & 31) | 0; break;
          case 0x80: r = -al | 0; break;
          case 0x90: r = OFF[pc] === 1 ? mod32s(al, bl) : mod32u(al, bl); break;
          case 0xa0: r = al ^ bl; break;
          case 0xb0: {
            const o = OFF[pc] as number;
            r = o === 8 ? (bl << 24) >> 24 : o === 16 ? (bl << 16) >> 16 : bl;
            break;
          }
          case 0xc0: r = al >> (bl & 31); break;
          default: {
            // 0xd0 END: le (source bit 0) truncates, be (source bit 1) swaps, to imm bits
            if (x) {
              if (imm === 16) r = bswap16(al);
              else if (imm === 32) r = bswap32(al);
              else {
                L[d] = bswap32(ah);
                H[d] = bswap32(al);
                pc++;
                continue;
              }
            } else if (imm === 16) r = al & 0xffff;
            else if (imm === 32) r = al;
            else {
              pc++;
              continue;
            }
          }
        }
        L[d] = r;
        H[d] = 0;
        pc++;
        continue;
      }
      switch (aop) {
        case 0x00: {
          const t = (al >>> 0) + (bl >>> 0);
          L[d] = t | 0;
          H[d] = (ah + bh + (t > 0xffffffff ? 1 : 0)) | 0;
          break;
        }
        case 0x10: {
          const t = (al >>> 0) - (bl >>> 0);
          L[d] = t | 0;
          H[d] = (ah - bh - (t < 0 ? 1 : 0)) | 0;
          break;
        }
        case 0x20: mul64(al, ah, bl, bh); L[d] = out[0] as number; H[d] = out[1] as number; break;
        case 0x30:
          if (OFF[pc] === 1) div64s(al, ah, bl, bh);
          else div64u(al, ah, bl, bh);
          L[d] = out[0] as number;
          H[d] = out[1] as number;
          break;
        case 0x40: L[d] = al | bl; H[d] = ah | bh; break;
        case 0x50: L[d] = al & bl; H[d] = ah & bh; break;
        case 0x60: lsh64(al, ah, bl); L[d] = out[0] as number; H[d] = out[1] as number; break;
        case 0x70: rsh64(al, ah, bl); L[d] = out[0] as number; H[d] = out[1] as number; break;
        case 0x80: {
          const nl = -al | 0;
          L[d] = nl;
          H[d] = (~ah + (al === 0 ? 1 : 0)) | 0;
          break;
        }
        case 0x90:
          if (OFF[pc] === 1) mod64s(al, ah, bl, bh);
          else mod64u(al, ah, bl, bh);
          L[d] = out[0] as number;
          H[d] = out[1] as number;
          break;
        case 0xa0: L[d] = al ^ bl; H[d] = ah ^ bh; break;
        case 0xb0: {
          const o = OFF[pc] as number;
          if (o === 0) {
            L[d] = bl;
            H[d] = bh;
          } else {
            const v = o === 8 ? (bl << 24) >> 24 : o === 16 ? (bl << 16) >> 16 : bl;
            L[d] = v;
            H[d] = v >> 31;
          }
          break;
        }
        case 0xc0: arsh64(al, ah, bl); L[d] = out[0] as number; H[d] = out[1] as number; break;
        default: {
          // 0xd7 bswap16/32/64 (unconditional)
          if (imm === 16) {
            L[d] = bswap16(al);
            H[d] = 0;
          } else if (imm === 32) {
            L[d] = bswap32(al);
            H[d] = 0;
          } else {
            L[d] = bswap32(ah);
            H[d] = bswap32(al);
          }
        }
      }
      pc++;
      continue;
    }
    if (cls === 5 || cls === 6) {
      // ---- JMP and JMP32 ----
      const jop = op & 0xf0;
      if (jop === 0x00) {
        pc += cls === 5 ? (OFF[pc] as number) + 1 : (IMM[pc] as number) + 1;
        continue;
      }
      if (jop === 0x80) {
        const s = SRC[pc] as number;
        if (s === 1 && (op & 8) === 0) {
          pushFrame(st, p, pc, pc + 1);
          pc += (IMM[pc] as number) + 1;
          continue;
        }
        let id: number;
        if ((op & 8) !== 0) {
          // callx: the helper number is in register dst
          if (H[d] !== 0) throw callxError(pc, d);
          id = L[d] as number;
        } else id = IMM[pc] as number;
        st.budget = budget;
        const r = callHelper(st, p, pc, id);
        if (r !== CONTINUE) return r;
        pc++;
        continue;
      }
      if (jop === 0x90) {
        if (st.depth === 0) {
          st.budget = budget;
          return DONE;
        }
        const ret = popFrame(st, p);
        if (ret < 0) {
          st.budget = budget;
          return SWITCH;
        }
        pc = ret;
        continue;
      }
      const s = SRC[pc] as number;
      const x = (op & 8) !== 0;
      let al = L[d] as number;
      let ah = H[d] as number;
      let bl = x ? (L[s] as number) : (IMM[pc] as number);
      let bh = x ? (H[s] as number) : bl >> 31;
      if (cls === 6) {
        ah = al >> 31;
        bh = bl >> 31;
      }
      pc += cond(jop, al, ah, bl, bh) ? (OFF[pc] as number) + 1 : 1;
      continue;
    }
    const off = OFF[pc] as number;
    switch (op) {
      // ---- loads ----
      case 0x71: L[d] = mem.ld8(L[SRC[pc] as number] as number, H[SRC[pc] as number] as number, off, pc); H[d] = 0; break;
      case 0x69: L[d] = mem.ld16(L[SRC[pc] as number] as number, H[SRC[pc] as number] as number, off, pc); H[d] = 0; break;
      case 0x61: L[d] = mem.ld32(L[SRC[pc] as number] as number, H[SRC[pc] as number] as number, off, pc); H[d] = 0; break;
      case 0x79: {
        const s = SRC[pc] as number;
        mem.ld64(L[s] as number, H[s] as number, off, pc);
        L[d] = mem.lo;
        H[d] = mem.hi;
        break;
      }
      case 0x91: {
        const s = SRC[pc] as number;
        const v = (mem.ld8(L[s] as number, H[s] as number, off, pc) << 24) >> 24;
        L[d] = v;
        H[d] = v >> 31;
        break;
      }
      case 0x89: {
        const s = SRC[pc] as number;
        const v = (mem.ld16(L[s] as number, H[s] as number, off, pc) << 16) >> 16;
        L[d] = v;
        H[d] = v >> 31;
        break;
      }
      case 0x81: {
        const s = SRC[pc] as number;
        const v = mem.ld32(L[s] as number, H[s] as number, off, pc);
        L[d] = v;
        H[d] = v >> 31;
        break;
      }
      // ---- stores of an immediate ----
      case 0x72: mem.st8(L[d] as number, H[d] as number, off, IMM[pc] as number, pc); break;
      case 0x6a: mem.st16(L[d] as number, H[d] as number, off, IMM[pc] as number, pc); break;
      case 0x62: mem.st32(L[d] as number, H[d] as number, off, IMM[pc] as number, pc); break;
      case 0x7a: {
        const imm = IMM[pc] as number;
        mem.st64(L[d] as number, H[d] as number, off, imm, imm >> 31, pc);
        break;
      }
      // ---- stores of a register ----
      case 0x73: mem.st8(L[d] as number, H[d] as number, off, L[SRC[pc] as number] as number, pc); break;
      case 0x6b: mem.st16(L[d] as number, H[d] as number, off, L[SRC[pc] as number] as number, pc); break;
      case 0x63: mem.st32(L[d] as number, H[d] as number, off, L[SRC[pc] as number] as number, pc); break;
      case 0x7b: {
        const s = SRC[pc] as number;
        mem.st64(L[d] as number, H[d] as number, off, L[s] as number, H[s] as number, pc);
        break;
      }
      // ---- atomics ----
      case 0xc3: atomic(st, pc, IMM[pc] as number, 4, d, SRC[pc] as number, off); break;
      case 0xdb: atomic(st, pc, IMM[pc] as number, 8, d, SRC[pc] as number, off); break;
      // ---- lddw ----
      case 0x18:
        L[d] = IMM[pc] as number;
        H[d] = p.imm2[pc] as number;
        pc += 2;
        continue;
      // ---- legacy packet loads ----
      case 0x30: case 0x28: case 0x20: case 0x50: case 0x48: case 0x40: {
        const size = op === 0x30 || op === 0x50 ? 1 : op === 0x28 || op === 0x48 ? 2 : 4;
        const at = op >= 0x40 ? ((IMM[pc] as number) + (L[SRC[pc] as number] as number)) | 0 : (IMM[pc] as number);
        const v = loadPacket(st, pc, size, at);
        if (v < 0) {
          L[0] = 0;
          H[0] = 0;
          st.budget = budget;
          st.depth = 0;
          return DONE;
        }
        L[0] = v | 0;
        H[0] = 0;
        break;
      }
      default:
        throw new VmError('load', `invalid opcode 0x${op.toString(16)}`, { pc });
    }
    pc++;
  }
}
