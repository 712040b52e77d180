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

/**
 * The interpreter loop. The most frequent opcodes (64-bit and 32-bit add/sub/mov/logic, constant shifts,
 * 64-bit conditional jumps, `ja`, loads and stores, `exit` from the entry function) are handled inline
 * in one dense switch on the opcode byte; everything else goes through step().
 */
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
    switch (op) {
      case 0x07: {
        const k = IMM[pc] as number;
        const a = L[d] as number;
        const t = (a + k) | 0; // carry iff the low word wrapped (int32 only, no doubles)
        H[d] = ((H[d] as number) + (k >> 31) + ((t >>> 0) < (a >>> 0) ? 1 : 0)) | 0;
        L[d] = t;
        pc++;
        continue;
      }
      case 0x0f: {
        const s = SRC[pc] as number;
        const a = L[d] as number;
        const t = (a + (L[s] as number)) | 0;
        H[d] = ((H[d] as number) + (H[s] as number) + ((t >>> 0) < (a >>> 0) ? 1 : 0)) | 0;
        L[d] = t;
        pc++;
        continue;
      }
      case 0x17: {
        const k = IMM[pc] as number;
        const a = L[d] as number;
        H[d] = ((H[d] as number) - (k >> 31) - ((a >>> 0) < (k >>> 0) ? 1 : 0)) | 0;
        L[d] = (a - k) | 0;
        pc++;
        continue;
      }
      case 0x1f: {
        const s = SRC[pc] as number;
        const a = L[d] as number;
        const b = L[s] as number;
        H[d] = ((H[d] as number) - (H[s] as number) - ((a >>> 0) < (b >>> 0) ? 1 : 0)) | 0;
        L[d] = (a - b) | 0;
        pc++;
        continue;
      }
      case 0x47: { const k = IMM[pc] as number; L[d] = (L[d] as number) | k; H[d] = (H[d] as number) | (k >> 31); pc++; continue; }
      case 0x4f: { const s = SRC[pc] as number; L[d] = (L[d] as number) | (L[s] as number); H[d] = (H[d] as number) | (H[s] as number); pc++; continue; }
      case 0x57: { const k = IMM[pc] as number; L[d] = (L[d] as number) & k; H[d] = (H[d] as number) & (k >> 31); pc++; continue; }
      case 0x5f: { const s = SRC[pc] as number; L[d] = (L[d] as number) & (L[s] as number); H[d] = (H[d] as number) & (H[s] as number); pc++; continue; }
      case 0xa7: { const k = IMM[pc] as number; L[d] = (L[d] as number) ^ k; H[d] = (H[d] as number) ^ (k >> 31); pc++; continue; }
      case 0xaf: { const s = SRC[pc] as number; L[d] = (L[d] as number) ^ (L[s] as number); H[d] = (H[d] as number) ^ (H[s] as number); pc++; continue; }
      case 0xb7: { const k = IMM[pc] as number; L[d] = k; H[d] = k >> 31; pc++; continue; }
      case 0xbf:
        if (OFF[pc] !== 0) break;
        L[d] = L[SRC[pc] as number] as number;
        H[d] = H[SRC[pc] as number] as number;
        pc++;
        continue;
      case 0x67: case 0x77: case 0xc7: {
        const k = (IMM[pc] as number) & 63;
        if (op === 0x67) lsh64(L[d] as number, H[d] as number, k);
        else if (op === 0x77) rsh64(L[d] as number, H[d] as number, k);
        else arsh64(L[d] as number, H[d] as number, k);
        L[d] = out[0] as number;
        H[d] = out[1] as number;
        pc++;
        continue;
      }
      case 0x04: L[d] = ((L[d] as number) + (IMM[pc] as number)) | 0; H[d] = 0; pc++; continue;
      case 0x0c: L[d] = ((L[d] as number) + (L[SRC[pc] as number] as number)) | 0; H[d] = 0; pc++; continue;
      case 0x14: L[d] = ((L[d] as number) - (IMM[pc] as number)) | 0; H[d] = 0; pc++; continue;
      case 0x1c: L[d] = ((L[d] as number) - (L[SRC[pc] as number] as number)) | 0; H[d] = 0; pc++; continue;
      case 0x54: L[d] = (L[d] as number) & (IMM[pc] as number); H[d] = 0; pc++; continue;
      case 0x5c: L[d] = (L[d] as number) & (L[SRC[pc] as number] as number); H[d] = 0; pc++; continue;
      case 0x44: L[d] = (L[d] as number) | (IMM[pc] as number); H[d] = 0; pc++; continue;
      case 0x4c: L[d] = (L[d] as number) | (L[SRC[pc] as number] as number); H[d] = 0; pc++; continue;
      case 0xb4: L[d] = IMM[pc] as number; H[d] = 0; pc++; continue;
      case 0xbc:
        if (OFF[pc] !== 0) break;
        L[d] = L[SRC[pc] as number] as number;
        H[d] = 0;
        pc++;
        continue;
      case 0x05: pc += (OFF[pc] as number) + 1; continue;
      case 0x15: case 0x1d: case 0x55: case 0x5d: case 0x25: case 0x2d: case 0x35: case 0x3d:
      case 0xa5: case 0xad: case 0xb5: case 0xbd: case 0x65: case 0x6d: case 0x75: case 0x7d:
      case 0xc5: case 0xcd: case 0xd5: case 0xdd: case 0x45: case 0x4d: {
        let bl: number;
        let bh: number;
        if ((op & 8) !== 0) {
          const s = SRC[pc] as number;
          bl = L[s] as number;
          bh = H[s] as number;
        } else {
          bl = IMM[pc] as number;
          bh = bl >> 31;
        }
        pc += cond(op & 0xf0, L[d] as number, H[d] as number, bl, bh) ? (OFF[pc] as number) + 1 : 1;
        continue;
      }
      case 0x71: { const s = SRC[pc] as number; L[d] = mem.ld8(L[s] as number, H[s] as number, OFF[pc] as number, pc); H[d] = 0; pc++; continue; }
      case 0x69: { const s = SRC[pc] as number; L[d] = mem.ld16(L[s] as number, H[s] as number, OFF[pc] as number, pc); H[d] = 0; pc++; continue; }
      case 0x61: { const s = SRC[pc] as number; L[d] = mem.ld32(L[s] as number, H[s] as number, OFF[pc] as number, pc); H[d] = 0; pc++; continue; }
      case 0x79: {
        const s = SRC[pc] as number;
        mem.ld64(L[s] as number, H[s] as number, OFF[pc] as number, pc);
        L[d] = mem.lo;
        H[d] = mem.hi;
        pc++;
        continue;
      }
      case 0x73: mem.st8(L[d] as number, H[d] as number, OFF[pc] as number, L[SRC[pc] as number] as number, pc); pc++; continue;
      case 0x6b: mem.st16(L[d] as number, H[d] as number, OFF[pc] as number, L[SRC[pc] as number] as number, pc); pc++; continue;
      case 0x63: mem.st32(L[d] as number, H[d] as number, OFF[pc] as number, L[SRC[pc] as number] as number, pc); pc++; continue;
      case 0x7b: {
        const s = SRC[pc] as number;
        mem.st64(L[d] as number, H[d] as number, OFF[pc] as number, L[s] as number, H[s] as number, pc);
        pc++;
        continue;
      }
      case 0x85:
        if (SRC[pc] !== 1) break; // helper calls go through step()
        pushFrame(st, p, pc, pc + 1);
        pc += (IMM[pc] as number) + 1;
        continue;
      case 0x95: {
        if (st.depth === 0) {
          st.budget = budget;
          return DONE;
        }
        const ret = popFrame(st, p);
        if (ret >= 0) {
          pc = ret;
          continue;
        }
        st.budget = budget;
        return ret === -1 ? SWITCH : DONE; // another program's frame, or a callback's end
      }
    }
    // everything else (and the rare forms of the cases above that break out)
    st.budget = budget;
    const next = step(st, p, pc);
    if (next < 0) return next === STEP_DONE ? DONE : SWITCH;
    budget = st.budget; // a helper may have run callbacks, which spend the same budget
    pc = next;
  }
}

const STEP_DONE = -1;
const STEP_SWITCH = -2;

/**
 * Execute the instruction at `pc` (any opcode): returns the next pc, STEP_DONE or STEP_SWITCH. The hot
 * opcodes are also inlined in interpret(); everything else comes here.
 */
function step(st: EngineState, p: LoadedProgram, pc: number): number {
  const L = st.lo;
  const H = st.hi;
  const mem = st.mem;
  const CODE = p.code;
  const DST = p.dst;
  const SRC = p.src;
  const OFF = p.off;
  const IMM = p.imm;
  {
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
                return pc + 1;
              }
            } else if (imm === 16) r = al & 0xffff;
            else if (imm === 32) r = al;
            else {
              return pc + 1;
            }
          }
        }
        L[d] = r;
        H[d] = 0;
        return pc + 1;
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
      return pc + 1;
    }
    if (cls === 5 || cls === 6) {
      // ---- JMP and JMP32 ----
      const jop = op & 0xf0;
      if (jop === 0x00) {
        return pc + (cls === 5 ? (OFF[pc] as number) + 1 : (IMM[pc] as number) + 1);
      }
      if (jop === 0x80) {
        const s = SRC[pc] as number;
        if (s === 1 && (op & 8) === 0) {
          pushFrame(st, p, pc, pc + 1);
          return pc + (IMM[pc] as number) + 1;
        }
        let id: number;
        if ((op & 8) !== 0) {
          // callx: the helper number is in register dst
          if (H[d] !== 0) throw callxError(pc, d);
          id = L[d] as number;
        } else id = IMM[pc] as number;
        const r = callHelper(st, p, pc, id);
        if (r !== CONTINUE) return r === DONE ? STEP_DONE : STEP_SWITCH;
        return pc + 1;
      }
      if (jop === 0x90) {
        if (st.depth === 0) return STEP_DONE;
        const ret = popFrame(st, p);
        return ret === -1 ? STEP_SWITCH : ret === -2 ? STEP_DONE : ret;
      }
      const s = SRC[pc] as number;
      const x = (op & 8) !== 0;
      const al = L[d] as number;
      let ah = H[d] as number;
      const bl = x ? (L[s] as number) : (IMM[pc] as number);
      let bh = x ? (H[s] as number) : bl >> 31;
      if (cls === 6) {
        ah = al >> 31;
        bh = bl >> 31;
      }
      return pc + (cond(jop, al, ah, bl, bh) ? (OFF[pc] as number) + 1 : 1);
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
        return pc + 2;
      // ---- legacy packet loads ----
      case 0x30: case 0x28: case 0x20: case 0x50: case 0x48: case 0x40: {
        const size = op === 0x30 || op === 0x50 ? 1 : op === 0x28 || op === 0x48 ? 2 : 4;
        const at = op >= 0x40 ? ((IMM[pc] as number) + (L[SRC[pc] as number] as number)) | 0 : (IMM[pc] as number);
        const v = loadPacket(st, pc, size, at);
        if (v < 0) {
          L[0] = 0;
          H[0] = 0;
          st.depth = 0;
          return STEP_DONE;
        }
        L[0] = v | 0;
        H[0] = 0;
        break;
      }
      default:
        throw new VmError('load', `invalid opcode 0x${op.toString(16)}`, { pc });
    }
    return pc + 1;
  }
}
