/**
 * Translation of one instruction into JavaScript source for the compiled engine (interpreter-jit.ts):
 * the instruction's definition in insn-semantics.ts, filled in with register locals (r3l, r3h) and the
 * instruction's fields as literals. Control transfers are left to the layout that places the blocks (a
 * `switch` in a loop, or structured labeled blocks, see jit-layout.ts): `insn` asks it how to jump and
 * how to exit.
 *
 * Only numbers computed from instruction fields and fixed identifiers ever appear in the output.
 */
import { BPF_PSEUDO_CALL, MAX_CALL_FRAMES, OP_LDDW, STACK_SIZE } from '../isa/index.js';
import { SEMANTICS, loadInto, memoryAccessSize, usesSrcReg, type InsnSemantics } from './insn-semantics.js';
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
  /** Source to run after a helper call returned to slot `pc + 1` (the flat layout's budget re-check). */
  afterHelper?(pc: number): string;
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
  return SEMANTICS[op]?.kind === 'packet';
}

export function hasPacketLoads(p: LoadedProgram): boolean {
  for (let pc = 0; pc < p.slots; pc++) {
    const op = p.code[pc] as number;
    if (op === OP_LDDW) pc++;
    else if (isPacketLoad(op)) return true;
  }
  return false;
}

/** Access size of the plain loads/stores (LDX MEM/MEMSX, ST, STX MEM), undefined for other opcodes. */
export const MEM_SIZE = memoryAccessSize;

/**
 * Flat layout only: an access at a constant offset from r10 that lies inside the frame's 512 bytes needs
 * no check at all (r10 cannot change, and the frame is always mapped): read or write the stack's DataView
 * `SV` directly. Anything else (other bases, offsets outside the frame, which must fault) is undefined.
 */
function stackAccess(
  sem: MemorySemantics,
  base: number,
  off: number,
  dl: string,
  dh: string,
  sl: string,
  sh: string,
  imm: number,
): string | undefined {
  const size = sem.size;
  if (base !== 10 || off < -STACK_SIZE || off + size > 0) return undefined;
  const o = STACK_SIZE + off;
  if (sem.kind === 'load') {
    if (size === 8) return `${dl} = SV.getInt32(${o}, true); ${dh} = SV.getInt32(${o + 4}, true);`;
    const signed = sem.signed;
    const get =
      size === 1
        ? signed
          ? `SV.getInt8(${o})`
          : `SV.getUint8(${o})`
        : size === 2
          ? signed
            ? `SV.getInt16(${o}, true)`
            : `SV.getUint16(${o}, true)`
          : `SV.getInt32(${o}, true)`;
    return `${dl} = ${get}; ${signed ? `${dh} = ${dl} >> 31;` : `${dh} = 0;`}`;
  }
  const vl = sem.fromImm ? lit(imm) : sl;
  const vh = sem.fromImm ? lit(imm >> 31) : sh;
  if (size === 8) return `SV.setInt32(${o}, ${vl}, true); SV.setInt32(${o + 4}, ${vh}, true);`;
  return size === 1
    ? `SV.setUint8(${o}, ${vl});`
    : size === 2
      ? `SV.setUint16(${o}, ${vl}, true);`
      : `SV.setInt32(${o}, ${vl}, true);`;
}

type MemorySemantics = Extract<InsnSemantics, { kind: 'load' | 'store' }>;

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

/** Literal source for an int32. */
export const lit = (v: number) => (v < 0 ? `(${v | 0})` : String(v | 0));

export function insn(p: LoadedProgram, pc: number, mi: number, packetLoads: boolean, layout: JumpLayout): string {
  const op = p.code[pc] as number;
  const d = p.dst[pc] as number;
  const s = p.src[pc] as number;
  const off = p.off[pc] as number;
  const imm = p.imm[pc] as number;
  const sem = SEMANTICS[op];
  const dl = lo(d);
  const dh = hi(d);
  const sl = lo(s);
  const sh = hi(s);
  if (sem === undefined) return `throw new X.VmError('load', 'invalid opcode 0x${op.toString(16)}', { pc: ${pc} });`;

  switch (sem.kind) {
    case 'alu': {
      const x = usesSrcReg(op);
      return sem.emit({ dl, dh, bl: x ? sl : lit(imm), bh: x ? sh : lit(imm >> 31), k: x ? undefined : imm, imm, off });
    }
    case 'jump': {
      const x = usesSrcReg(op);
      const c = sem.cond({ al: dl, ah: dh, bl: x ? sl : lit(imm), bh: x ? sh : lit(imm >> 31) });
      return `if (${c}) { ${layout.jump(pc + off + 1, true)} }`;
    }
    case 'ja':
      return layout.jump(sem.wide ? pc + imm + 1 : pc + off + 1, false);
    case 'call':
      if (s === BPF_PSEUDO_CALL) {
        if (layout.flat) throw new Error('internal: a flat layout has no local calls');
        const save = [6, 7, 8, 9]
          .map((r, i) => `F[q + ${2 + 2 * i}] = r${r}l; F[q + ${3 + 2 * i}] = r${r}h;`)
          .join(' ');
        return (
          `if (depth >= ${MAX_CALL_FRAMES - 1}) throw X.callDepthError(${pc}); ` +
          `q = depth * ${FRAME_INTS}; F[q] = ${pc + 1}; F[q + 1] = PID; ${save} F[q + 10] = r10l; ` +
          `depth++; if (depth > st.maxDepth) st.maxDepth = depth; r10l = T[depth]; pc = ${pc + imm + 1}; continue;`
        );
      }
      return helperCall(pc, String(imm), packetLoads) + (layout.afterHelper?.(pc) ?? '');
    case 'callx':
      return `if (!P.mayCallx(${dl}, ${dh})) throw X.callxError(P, ${pc}, ${d}, ${dl}, ${dh}); ${helperCall(pc, dl, packetLoads)}${layout.afterHelper?.(pc) ?? ''}`;
    case 'exit': {
      if (layout.flat) return 'L[0] = r0l; H[0] = r0h; st.budget = budget; return 0;';
      const restore = [6, 7, 8, 9]
        .map((r, i) => `r${r}l = F[q + ${2 + 2 * i}]; r${r}h = F[q + ${3 + 2 * i}];`)
        .join(' ');
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
    case 'lddw':
      return `${dl} = ${lit(imm)}; ${dh} = ${lit(p.imm2[pc] as number)};`;
    case 'load':
    case 'store': {
      if (layout.flat) {
        const direct = stackAccess(sem, sem.kind === 'load' ? s : d, off, dl, dh, sl, sh, imm);
        if (direct !== undefined) return direct;
      }
      const size = sem.size;
      if (sem.kind === 'load') {
        if (size === 8) {
          return memOp(
            mi,
            sl,
            sh,
            off,
            `${dl} = CV[${mi}].getInt32(o, true); ${dh} = CV[${mi}].getInt32(o + 4, true);`,
            `X.ld64c(M, C, ${mi}, ${sl}, ${sh}, ${off}, ${pc}); ${dl} = M.lo; ${dh} = M.hi;`,
          );
        }
        const get =
          size === 1
            ? `CV[${mi}].getUint8(o)`
            : size === 2
              ? `CV[${mi}].getUint16(o, true)`
              : `CV[${mi}].getInt32(o, true)`;
        const slow = `X.ldc(M, C, ${mi}, ${size}, ${sl}, ${sh}, ${off}, ${pc})`;
        return memOp(
          mi,
          sl,
          sh,
          off,
          loadInto(dl, dh, get, size, sem.signed),
          loadInto(dl, dh, slow, size, sem.signed),
        );
      }
      if (size === 8) {
        const vl = sem.fromImm ? lit(imm) : sl;
        const vh = sem.fromImm ? lit(imm >> 31) : sh;
        return memOp(
          mi,
          dl,
          dh,
          off,
          `CV[${mi}].setInt32(o, ${vl}, true); CV[${mi}].setInt32(o + 4, ${vh}, true);`,
          `X.st64c(M, C, ${mi}, ${dl}, ${dh}, ${off}, ${vl}, ${vh}, ${pc});`,
        );
      }
      const v = sem.fromImm ? lit(imm) : sl;
      const set =
        size === 1
          ? `CV[${mi}].setUint8(o, ${v});`
          : size === 2
            ? `CV[${mi}].setUint16(o, ${v}, true);`
            : `CV[${mi}].setInt32(o, ${v}, true);`;
      return memOp(mi, dl, dh, off, set, `X.stc(M, C, ${mi}, ${size}, ${dl}, ${dh}, ${off}, ${v}, ${pc});`);
    }
    case 'atomic': {
      const regs = [...new Set([0, d, s])];
      return `${spill(regs)} X.atomic(st, ${pc}, ${imm}, ${sem.size}, ${d}, ${s}, ${off}); ${reload([0, s].filter((r, i, a) => a.indexOf(r) === i))}`;
    }
    case 'packet': {
      const size = sem.size;
      const ind = sem.indirect;
      const at = ind ? `(${lit(imm)} + ${sl}) | 0` : lit(imm);
      const slow = `t = X.loadPacket(st, ${pc}, ${size}, ${ind ? 'o' : at}); if (t < 0) return X.ldAbsMiss(st, budget); r0l = ${size === 4 ? 't | 0' : 't'};`;
      // negative offsets (SKF_NET_OFF / SKF_LL_OFF) are rare: always the out-of-line path
      if (!ind && imm < 0) return `${slow} r0h = 0;`;
      const get =
        size === 1
          ? 'PB[a]'
          : size === 2
            ? '(PB[a] << 8) | PB[a + 1]'
            : '(PB[a] << 24) | (PB[a + 1] << 16) | (PB[a + 2] << 8) | PB[a + 3]';
      const inBounds = ind ? `o >= 0 && (a = PD + o) + ${size} <= PE` : `(a = PD + ${imm}) + ${size} <= PE`;
      return `${ind ? `o = ${at}; ` : ''}if (${inBounds}) r0l = ${get}; else { ${slow} } r0h = 0;`;
    }
  }
}

/** A helper call: spill r1-r5, call, take r0; stop or switch programs if the helper asked to; resync caches. */
function helperCall(pc: number, id: string, packetLoads: boolean): string {
  return (
    `${spill([1, 2, 3, 4, 5])} st.budget = budget; st.depth = depth; q = X.callHelper(st, P, ${pc}, ${id}); r0l = L[0]; r0h = H[0]; ` +
    `if (q !== -1) { if (q === 1) { ${spill([6, 7, 8, 9, 10])} } return q; } budget = st.budget; ` +
    'if (C.epoch !== M.epoch || C.resizes !== M.resizes) X.syncCache(M, C);' +
    (packetLoads ? ` ${PACKET_SYNC}` : '')
  );
}
