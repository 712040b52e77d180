/**
 * Translation of one instruction into JavaScript source for the compiled engine (interpreter-jit.ts).
 * Control transfers are left to the layout that places the blocks (a `switch` in a loop, or structured
 * labeled blocks, see jit-layout.ts): `insn` asks it how to jump and how to exit.
 *
 * Only numbers computed from instruction fields and fixed identifiers ever appear in the output.
 */
import { MAX_CALL_FRAMES, STACK_SIZE } from '../isa/index.js';
import { FRAME_INTS } from './interpreter-state.js';
import type { LoadedProgram } from './interpreter-program.js';

/** How the surrounding layout transfers control. */
export interface JumpLayout {
  /**
   * Source that continues at `target` (a block start). `conditional`: it runs inside the `if` of a
   * conditional jump, and control falls through to the next slot when the condition fails.
   */
  jump(target: number, conditional: boolean): string;
  /**
   * true: the program runs as one straight function: no local calls, r10 is frame 0's stack top for the
   * whole run (checked at entry), so r10-relative accesses inside the frame go straight to the stack's
   * DataView `SV`, and `exit` returns.
   */
  readonly flat: boolean;
}

export const lo = (r: number) => `r${r}l`;
export const hi = (r: number) => (r === 10 ? '0' : `r${r}h`);

export function spillAll(): string {
  let s = '';
  for (let r = 0; r <= 9; r++) s += `L[${r}]=r${r}l;H[${r}]=r${r}h;`;
  return `${s}L[10]=r10l;H[10]=0;`;
}
export function spill(regs: number[]): string {
  return regs.map((r) => (r === 10 ? 'L[10]=r10l;H[10]=0;' : `L[${r}]=r${r}l;H[${r}]=r${r}h;`)).join('');
}
export function reload(regs: number[]): string {
  return regs.map((r) => (r === 10 ? 'r10l=L[10];' : `r${r}l=L[${r}];r${r}h=H[${r}];`)).join('');
}

/**
 * LD_ABS / LD_IND read the packet inline: the packet's bytes, data offset and readable end (the lesser of
 * its end and the buffer's length, -1 when the run has no packet) are locals, taken at entry and again
 * after every helper call (helpers are what resize or replace the packet). In-bounds loads with a
 * non-negative offset are a compare and a few byte reads; everything else (SKF_NET_OFF / SKF_LL_OFF,
 * out of bounds, no packet) takes X.loadPacket, which ends the program or faults exactly as before.
 */
export const PACKET_SYNC =
  'if (st.packet !== undefined) { PB = st.packet.bytes; PD = st.packet.data; PE = st.packet.end < PB.length ? st.packet.end : PB.length; } else PE = -1;';

export function isPacketLoad(op: number): boolean {
  return op === 0x30 || op === 0x28 || op === 0x20 || op === 0x50 || op === 0x48 || op === 0x40;
}

export function hasPacketLoads(p: LoadedProgram): boolean {
  for (let pc = 0; pc < p.slots; pc++) {
    const op = p.code[pc] as number;
    if (op === 0x18) pc++;
    else if (isPacketLoad(op)) return true;
  }
  return false;
}

/** Access size of the plain loads/stores (LDX MEM/MEMSX, ST, STX MEM). */
export const MEM_SIZE: Record<number, number> = {
  0x71: 1, 0x69: 2, 0x61: 4, 0x79: 8, 0x91: 1, 0x89: 2, 0x81: 4,
  0x72: 1, 0x6a: 2, 0x62: 4, 0x7a: 8, 0x73: 1, 0x6b: 2, 0x63: 4, 0x7b: 8,
};

/**
 * Flat layout only: an access at a constant offset from r10 that lies inside the frame's 512 bytes needs
 * no check at all (r10 cannot change, and the frame is always mapped): read or write the stack's DataView
 * `SV` directly. Anything else (other bases, offsets outside the frame, which must fault) is undefined.
 */
function stackAccess(op: number, base: number, off: number, size: number, dl: string, dh: string, sl: string, sh: string, imm: number): string | undefined {
  if (base !== 10 || off < -STACK_SIZE || off + size > 0) return undefined;
  const o = STACK_SIZE + off;
  const cls = op & 7;
  if (cls === 1) {
    if (size === 8) return `${dl} = SV.getInt32(${o}, true); ${dh} = SV.getInt32(${o + 4}, true);`;
    const signed = (op & 0xe0) === 0x80;
    const get = size === 1 ? (signed ? `SV.getInt8(${o})` : `SV.getUint8(${o})`) : size === 2 ? (signed ? `SV.getInt16(${o}, true)` : `SV.getUint16(${o}, true)`) : `SV.getInt32(${o}, true)`;
    return `${dl} = ${get}; ${signed ? `${dh} = ${dl} >> 31;` : `${dh} = 0;`}`;
  }
  const vl = cls === 2 ? lit(imm) : sl;
  const vh = cls === 2 ? lit(imm >> 31) : sh;
  if (size === 8) return `SV.setInt32(${o}, ${vl}, true); SV.setInt32(${o + 4}, ${vh}, true);`;
  return size === 1 ? `SV.setUint8(${o}, ${vl});` : size === 2 ? `SV.setUint16(${o}, ${vl}, true);` : `SV.setInt32(${o}, ${vl}, true);`;
}

/**
 * A load or store with an inline cache: when the address falls in the region this instruction touched
 * last (a stride-free region; for stores a writable one), access its DataView directly; otherwise take
 * the checked Memory path, which faults or tells us the region to cache.
 */
function memOp(i: number, baseLo: string, baseHi: string, off: number, fast: string, slow: string): string {
  return (
    `o = (${baseLo} >>> 0) + ${off} - CB[${i}]; ` +
    `if (${baseHi === '0' ? '' : `${baseHi} === 0 && `}o >= 0 && o <= CE[${i}]) { ${fast} } ` +
    `else { ${slow} }`
  );
}

/** 64-bit condition source for JMP op on (ah:al) vs (bh:bl) (operands are JS expressions). */
function cond64(op: number, al: string, ah: string, bl: string, bh: string): string {
  const u = (x: string) => `(${x} >>> 0)`;
  switch (op) {
    case 0x10: return `${al} === ${bl} && ${ah} === ${bh}`;
    case 0x50: return `${al} !== ${bl} || ${ah} !== ${bh}`;
    case 0x40: return `(${al} & ${bl}) !== 0 || (${ah} & ${bh}) !== 0`;
    case 0x20: return `${u(ah)} > ${u(bh)} || (${ah} === ${bh} && ${u(al)} > ${u(bl)})`;
    case 0x30: return `${u(ah)} > ${u(bh)} || (${ah} === ${bh} && ${u(al)} >= ${u(bl)})`;
    case 0xa0: return `${u(ah)} < ${u(bh)} || (${ah} === ${bh} && ${u(al)} < ${u(bl)})`;
    case 0xb0: return `${u(ah)} < ${u(bh)} || (${ah} === ${bh} && ${u(al)} <= ${u(bl)})`;
    case 0x60: return `${ah} > ${bh} || (${ah} === ${bh} && ${u(al)} > ${u(bl)})`;
    case 0x70: return `${ah} > ${bh} || (${ah} === ${bh} && ${u(al)} >= ${u(bl)})`;
    case 0xc0: return `${ah} < ${bh} || (${ah} === ${bh} && ${u(al)} < ${u(bl)})`;
    case 0xd0: return `${ah} < ${bh} || (${ah} === ${bh} && ${u(al)} <= ${u(bl)})`;
  }
  throw new Error(`bad jump op ${op}`);
}

/** 32-bit condition on int32 expressions a, b. */
function cond32(op: number, a: string, b: string): string {
  const u = (x: string) => `(${x} >>> 0)`;
  switch (op) {
    case 0x10: return `${a} === ${b}`;
    case 0x50: return `${a} !== ${b}`;
    case 0x40: return `(${a} & ${b}) !== 0`;
    case 0x20: return `${u(a)} > ${u(b)}`;
    case 0x30: return `${u(a)} >= ${u(b)}`;
    case 0xa0: return `${u(a)} < ${u(b)}`;
    case 0xb0: return `${u(a)} <= ${u(b)}`;
    case 0x60: return `${a} > ${b}`;
    case 0x70: return `${a} >= ${b}`;
    case 0xc0: return `${a} < ${b}`;
    case 0xd0: return `${a} <= ${b}`;
  }
  throw new Error(`bad jump op ${op}`);
}

/** Literal source for an int32. */
export const lit = (v: number) => (v < 0 ? `(${v | 0})` : String(v | 0));

export function insn(p: LoadedProgram, pc: number, mi: number, packetLoads: boolean, layout: JumpLayout): string {
  const op = p.code[pc] as number;
  const d = p.dst[pc] as number;
  const s = p.src[pc] as number;
  const off = p.off[pc] as number;
  const imm = p.imm[pc] as number;
  const cls = op & 7;
  const x = (op & 8) !== 0;
  const dl = lo(d);
  const dh = hi(d);

  if (cls === 4 || cls === 7) {
    const bl = x ? lo(s) : lit(imm);
    const bh = x ? hi(s) : lit(imm >> 31);
    const aop = op & 0xf0;
    if (cls === 4) {
      let e: string;
      switch (aop) {
        case 0x00: e = `(${dl} + ${bl}) | 0`; break;
        case 0x10: e = `(${dl} - ${bl}) | 0`; break;
        case 0x20: e = `Math.imul(${dl}, ${bl})`; break;
        case 0x30: e = off === 1 ? `X.div32s(${dl}, ${bl})` : `X.div32u(${dl}, ${bl})`; break;
        case 0x40: e = `${dl} | ${bl}`; break;
        case 0x50: e = `${dl} & ${bl}`; break;
        case 0x60: e = x ? `${dl} << (${bl} & 31)` : `${dl} << ${imm & 31}`; break;
        case 0x70: e = x ? `(${dl} >>> (${bl} & 31)) | 0` : `(${dl} >>> ${imm & 31}) | 0`; break;
        case 0x80: e = `-${dl} | 0`; break;
        case 0x90: e = off === 1 ? `X.mod32s(${dl}, ${bl})` : `X.mod32u(${dl}, ${bl})`; break;
        case 0xa0: e = `${dl} ^ ${bl}`; break;
        case 0xb0: e = off === 8 ? `(${bl} << 24) >> 24` : off === 16 ? `(${bl} << 16) >> 16` : `${bl}`; break;
        case 0xc0: e = x ? `${dl} >> (${bl} & 31)` : `${dl} >> ${imm & 31}`; break;
        default:
          if (x) {
            if (imm === 16) e = `X.bswap16(${dl})`;
            else if (imm === 32) e = `X.bswap32(${dl})`;
            else return `t = X.bswap32(${dh}); ${dh} = X.bswap32(${dl}); ${dl} = t | 0;`;
          } else if (imm === 16) e = `${dl} & 65535`;
          else if (imm === 32) e = dl;
          else return '';
      }
      return `${dl} = ${e}; ${dh} = 0;`;
    }
    switch (aop) {
      case 0x00:
        // all-int32 carry (no doubles, so V8 never deoptimizes on overflow): carry iff the sum wrapped
        // (a zero high half of an immediate is left out: the function must stay small, see budgetOut)
        return `t = (${dl} + ${bl}) | 0; ${dh} = (${dh}${bh === '0' ? '' : ` + ${bh}`} + ((t >>> 0) < (${dl} >>> 0) ? 1 : 0)) | 0; ${dl} = t;`;
      case 0x10:
        return `t = (${dl} - ${bl}) | 0; ${dh} = (${dh}${bh === '0' ? '' : ` - ${bh}`} - ((${dl} >>> 0) < (${bl} >>> 0) ? 1 : 0)) | 0; ${dl} = t;`;
      case 0x20:
        return `X.mul64(${dl}, ${dh}, ${bl}, ${bh}); ${dl} = O[0]; ${dh} = O[1];`;
      case 0x30:
        return `X.${off === 1 ? 'div64s' : 'div64u'}(${dl}, ${dh}, ${bl}, ${bh}); ${dl} = O[0]; ${dh} = O[1];`;
      case 0x90:
        return `X.${off === 1 ? 'mod64s' : 'mod64u'}(${dl}, ${dh}, ${bl}, ${bh}); ${dl} = O[0]; ${dh} = O[1];`;
      case 0x40: return `${dl} |= ${bl};${bh === '0' ? '' : ` ${dh} |= ${bh};`}`;
      case 0x50: return `${dl} &= ${bl}; ${bh === '0' ? `${dh} = 0;` : bh === '(-1)' ? '' : `${dh} &= ${bh};`}`;
      case 0xa0: return `${dl} ^= ${bl};${bh === '0' ? '' : ` ${dh} ^= ${bh};`}`;
      case 0x80: return `${dh} = (~${dh} + (${dl} === 0 ? 1 : 0)) | 0; ${dl} = -${dl} | 0;`;
      case 0xb0:
        if (off === 0) return `${dl} = ${bl}; ${dh} = ${bh};`;
        if (off === 8) return `${dl} = (${bl} << 24) >> 24; ${dh} = ${dl} >> 31;`;
        if (off === 16) return `${dl} = (${bl} << 16) >> 16; ${dh} = ${dl} >> 31;`;
        return `${dl} = ${bl}; ${dh} = ${dl} >> 31;`;
      case 0x60:
      case 0x70:
      case 0xc0: {
        if (x) {
          const f = aop === 0x60 ? 'lsh64' : aop === 0x70 ? 'rsh64' : 'arsh64';
          return `X.${f}(${dl}, ${dh}, ${bl}); ${dl} = O[0]; ${dh} = O[1];`;
        }
        const k = imm & 63;
        if (k === 0) return '';
        if (aop === 0x60) {
          if (k < 32) return `${dh} = (${dh} << ${k}) | (${dl} >>> ${32 - k}); ${dl} = ${dl} << ${k};`;
          return `${dh} = ${dl} << ${k - 32}; ${dl} = 0;`;
        }
        if (aop === 0x70) {
          if (k < 32) return `${dl} = (${dl} >>> ${k}) | (${dh} << ${32 - k}); ${dh} = (${dh} >>> ${k}) | 0;`;
          return `${dl} = (${dh} >>> ${k - 32}) | 0; ${dh} = 0;`;
        }
        if (k < 32) return `${dl} = (${dl} >>> ${k}) | (${dh} << ${32 - k}); ${dh} = ${dh} >> ${k};`;
        return `${dl} = ${dh} >> ${k - 32}; ${dh} = ${dh} >> 31;`;
      }
      default:
        // 0xd7: bswap
        if (imm === 16) return `${dl} = X.bswap16(${dl}); ${dh} = 0;`;
        if (imm === 32) return `${dl} = X.bswap32(${dl}); ${dh} = 0;`;
        return `t = X.bswap32(${dh}); ${dh} = X.bswap32(${dl}); ${dl} = t | 0;`;
    }
  }

  if (cls === 5 || cls === 6) {
    const jop = op & 0xf0;
    if (jop === 0x00) {
      const target = cls === 5 ? pc + off + 1 : pc + imm + 1;
      return layout.jump(target, false);
    }
    if (jop === 0x80) {
      if (!x && s === 1) {
        if (layout.flat) throw new Error('internal: a flat layout has no local calls');
        const save = [6, 7, 8, 9].map((r, i) => `F[q + ${2 + 2 * i}] = r${r}l; F[q + ${3 + 2 * i}] = r${r}h;`).join(' ');
        return (
          `if (depth >= ${MAX_CALL_FRAMES - 1}) throw X.callDepthError(${pc}); ` +
          `q = depth * ${FRAME_INTS}; F[q] = ${pc + 1}; F[q + 1] = PID; ${save} F[q + 10] = r10l; ` +
          `depth++; if (depth > st.maxDepth) st.maxDepth = depth; r10l = T[depth]; pc = ${pc + imm + 1}; continue;`
        );
      }
      const id = x ? lo(d) : String(imm);
      return (
        (x ? `if (${hi(d)} !== 0) throw X.callxError(${pc}, ${d}); ` : '') +
        `${spill([1, 2, 3, 4, 5])} st.budget = budget; st.depth = depth; q = X.callHelper(st, P, ${pc}, ${id}); r0l = L[0]; r0h = H[0]; ` +
        `if (q !== -1) { if (q === 1) { ${spill([6, 7, 8, 9, 10])} } return q; } budget = st.budget; ` +
        'if (C.epoch !== M.epoch || C.resizes !== M.resizes) X.syncCache(M, C);' +
        (packetLoads ? ` ${PACKET_SYNC}` : '')
      );
    }
    if (jop === 0x90) {
      if (layout.flat) return 'L[0] = r0l; H[0] = r0h; st.budget = budget; return 0;';
      const restore = [6, 7, 8, 9].map((r, i) => `r${r}l = F[q + ${2 + 2 * i}]; r${r}h = F[q + ${3 + 2 * i}];`).join(' ');
      return (
        `if (depth === 0) { L[0] = r0l; H[0] = r0h; st.depth = 0; st.budget = budget; return 0; } ` +
        `depth--; q = depth * ${FRAME_INTS}; ${restore} r10l = F[q + 10]; ` +
        // a callback's frame: back to the helper that invoked it
        `if (F[q] < 0) { st.depth = depth; st.hostReturn = true; L[0] = r0l; H[0] = r0h; st.budget = budget; return 0; } ` +
        // the frame belongs to another program (a tail call happened in the callee): let the driver switch
        `if (F[q + 1] !== PID) { st.depth = depth; st.next = st.programs[F[q + 1]]; st.pc = F[q]; ${spillAll()} st.budget = budget; return 1; } ` +
        `pc = F[q]; continue;`
      );
    }
    const target = pc + off + 1;
    let c: string;
    if (cls === 6) c = cond32(jop, dl, x ? lo(s) : lit(imm));
    else c = cond64(jop, dl, dh, x ? lo(s) : lit(imm), x ? hi(s) : lit(imm >> 31));
    return `if (${c}) { ${layout.jump(target, true)} }`;
  }

  const sl = lo(s);
  const sh = hi(s);
  const accessSize = MEM_SIZE[op];
  if (layout.flat && accessSize !== undefined) {
    const direct = stackAccess(op, (op & 7) === 1 ? s : d, off, accessSize, dl, dh, sl, sh, imm);
    if (direct !== undefined) return direct;
  }
  switch (op) {
    case 0x71:
    case 0x69:
    case 0x61:
    case 0x91:
    case 0x89:
    case 0x81: {
      const size = MEM_SIZE[op] as number;
      const get = size === 1 ? `CV[${mi}].getUint8(o)` : size === 2 ? `CV[${mi}].getUint16(o, true)` : `CV[${mi}].getInt32(o, true)`;
      const signed = op >= 0x81;
      const ext = (v: string) => (!signed || size === 4 ? v : size === 1 ? `(${v} << 24) >> 24` : `(${v} << 16) >> 16`);
      const setHi = signed ? `${dh} = ${dl} >> 31;` : `${dh} = 0;`;
      return memOp(mi, sl, sh, off, `${dl} = ${ext(get)}; ${setHi}`, `${dl} = ${ext(`X.ldc(M, C, ${mi}, ${size}, ${sl}, ${sh}, ${off}, ${pc})`)}; ${setHi}`);
    }
    case 0x79:
      return memOp(mi, sl, sh, off, `${dl} = CV[${mi}].getInt32(o, true); ${dh} = CV[${mi}].getInt32(o + 4, true);`, `X.ld64c(M, C, ${mi}, ${sl}, ${sh}, ${off}, ${pc}); ${dl} = M.lo; ${dh} = M.hi;`);
    case 0x72:
    case 0x6a:
    case 0x62:
    case 0x73:
    case 0x6b:
    case 0x63: {
      const size = MEM_SIZE[op] as number;
      const v = (op & 0x07) === 0x02 ? lit(imm) : sl;
      const set = size === 1 ? `CV[${mi}].setUint8(o, ${v});` : size === 2 ? `CV[${mi}].setUint16(o, ${v}, true);` : `CV[${mi}].setInt32(o, ${v}, true);`;
      return memOp(mi, dl, dh, off, set, `X.stc(M, C, ${mi}, ${size}, ${dl}, ${dh}, ${off}, ${v}, ${pc});`);
    }
    case 0x7a:
    case 0x7b: {
      const vl = op === 0x7a ? lit(imm) : sl;
      const vh = op === 0x7a ? lit(imm >> 31) : sh;
      return memOp(mi, dl, dh, off, `CV[${mi}].setInt32(o, ${vl}, true); CV[${mi}].setInt32(o + 4, ${vh}, true);`, `X.st64c(M, C, ${mi}, ${dl}, ${dh}, ${off}, ${vl}, ${vh}, ${pc});`);
    }
    case 0xc3:
    case 0xdb: {
      const regs = [...new Set([0, d, s])];
      return `${spill(regs)} X.atomic(st, ${pc}, ${imm}, ${op === 0xc3 ? 4 : 8}, ${d}, ${s}, ${off}); ${reload([0, s].filter((r, i, a) => a.indexOf(r) === i))}`;
    }
    case 0x18:
      return `${dl} = ${lit(imm)}; ${dh} = ${lit(p.imm2[pc] as number)};`;
    case 0x30: case 0x28: case 0x20: case 0x50: case 0x48: case 0x40: {
      const size = op === 0x30 || op === 0x50 ? 1 : op === 0x28 || op === 0x48 ? 2 : 4;
      const ind = op >= 0x40;
      const at = ind ? `(${lit(imm)} + ${sl}) | 0` : lit(imm);
      const slow = `t = X.loadPacket(st, ${pc}, ${size}, ${ind ? 'o' : at}); if (t < 0) return X.ldAbsMiss(st, budget); r0l = ${size === 4 ? 't | 0' : 't'};`;
      // negative offsets (SKF_NET_OFF / SKF_LL_OFF) are rare: always the out-of-line path
      if (!ind && imm < 0) return `${slow} r0h = 0;`;
      const get =
        size === 1 ? 'PB[a]' : size === 2 ? '(PB[a] << 8) | PB[a + 1]' : '(PB[a] << 24) | (PB[a + 1] << 16) | (PB[a + 2] << 8) | PB[a + 3]';
      const inBounds = ind ? `o >= 0 && (a = PD + o) + ${size} <= PE` : `(a = PD + ${imm}) + ${size} <= PE`;
      return `${ind ? `o = ${at}; ` : ''}if (${inBounds}) r0l = ${get}; else { ${slow} } r0h = 0;`;
    }
  }
  return `throw new X.VmError('load', 'invalid opcode 0x${op.toString(16)}', { pc: ${pc} });`;
}

