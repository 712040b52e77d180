/**
 * bpf_skb_load_bytes(skb, offset, to, len) in WebAssembly, for the common case: the run's packet
 * (RunContext.packet) is the packet LD_ABS/LD_IND read and lies in linear memory, `to` lies in the
 * current frame and 1 <= len < 64. Then the module does what the helper (helpers/packet-helpers.ts
 * skbLoadBytes) does, byte for byte: an offset above 0x7fffffff or past the packet's length zeroes the
 * destination and returns -EFAULT, otherwise the bytes are copied from packet data + offset and r0 = 0;
 * offset and len are the registers' low halves, r1-r5 are left as they were, and the budget is charged
 * nothing (the helper charges only from 64 bytes on). Everything else — no packet, a destination
 * elsewhere (which the helper checks and faults on with its own message), len 0 or >= 64, a Vm whose
 * helper 26 is not bpf_skb_load_bytes — calls the helper through the import.
 *
 * The packet is found through the LD_ABS mirror (MEM_PACKET: its bytes' linear offset, data and end),
 * which JavaScript rewrites at every entry and after every helper and the packet loop per record, so
 * the packet's length is always the current run's; MEM_SKB only says which of the packet helpers
 * (this one, skb-store-bytes.ts, csum-replace.ts) the module may run itself.
 *
 * The copy writes the stack where the module's own stores did not: the bytes below the frame's top it
 * reaches are compared with MEM_CLEARS, what the next run's start zeroes anyway, and beyond it raise
 * that cell and end the repeat loop after this run (MEM_TOUCHED), so the next run starts from a full
 * clear. `loadBytesReach` finds the common `r3 = r10; r3 += -N` destinations at compile time, so the
 * module's stack size covers them and the loop never has to stop.
 */
import { STACK_SIZE } from '../../isa/index.js';
import { SEMANTICS } from '../insn-semantics.js';
import type { LoadedProgram } from '../interpreter-program.js';
import type { LdAbsPacket } from '../interpreter-state.js';
import { leaders } from '../jit-layout.js';
import type { RunContext } from '../contexts/run-context.js';
import type { HelperRegistry } from '../helper-abi.js';
import { l3CsumReplace, l4CsumReplace, skbLoadBytes, skbStoreBytes } from '../helpers/packet-helpers.js';
import { Body, L_FP, L_T, L_TI, L_TJ, MEM_CLEARS, MEM_PACKET, MEM_SKB, reg } from './body.js';
import { MEM_TOUCHED } from './repeat-loop.js';
import * as W from './opcodes.js';

/** The helper's number. */
export const SKB_LOAD_BYTES = 26;
const EFAULT = 14;
/** From this length on the helper charges the budget (HELPER_BYTES_PER_INSN): left to it. */
export const MAX_INLINE_LEN = 63;

const SKB_CELL = MEM_SKB >> 2;

/** Bits of the MEM_SKB cell: the packet helpers the module runs itself (their stock function is registered). */
export const enum PacketHelper {
  LoadBytes = 1,
  StoreBytes = 2,
  L3CsumReplace = 4,
  L4CsumReplace = 8,
}

/**
 * Say which packet helpers the module may run itself (the MEM_SKB bits): none when the run has no
 * packet or its packet is not the one LD_ABS/LD_IND read (`packet`, mirrored at MEM_PACKET, where
 * the module finds its bytes), else each whose registered function is the stock one. Whether the
 * bytes lie in linear memory the module reads from the mirror itself.
 */
export function syncSkb(
  rc: RunContext | undefined,
  packet: LdAbsPacket | undefined,
  helpers: HelperRegistry,
  cells: Int32Array,
): void {
  const pb = rc?.packet;
  if (pb === undefined || pb !== packet) {
    cells[SKB_CELL] = 0;
    return;
  }
  cells[SKB_CELL] =
    (helpers.fn(SKB_LOAD_BYTES) === skbLoadBytes ? PacketHelper.LoadBytes : 0) |
    (helpers.fn(9) === skbStoreBytes ? PacketHelper.StoreBytes : 0) |
    (helpers.fn(10) === l3CsumReplace ? PacketHelper.L3CsumReplace : 0) |
    (helpers.fn(11) === l4CsumReplace ? PacketHelper.L4CsumReplace : 0);
}

/**
 * The start of an inline packet helper, inside the block whose `br 0` leaves for the helper: unless
 * MEM_SKB has `bit` and the packet's bytes lie in linear memory, go there.
 */
export function packetGate(b: Body, bit: PacketHelper): void {
  b.i32(0).mem(W.I32_LOAD, 2, MEM_SKB).i32(bit).op(W.I32_AND, W.I32_EQZ, W.BR_IF).u32(0);
  b.i32(0).mem(W.I32_LOAD, 2, MEM_PACKET).i32(0).op(W.I32_LT_S, W.BR_IF).u32(0);
}

/** Push the linear address of the packet's data (i32; after packetGate). */
export function packetData(b: Body): Body {
  return b
    .i32(0)
    .mem(W.I32_LOAD, 2, MEM_PACKET)
    .i32(0)
    .mem(W.I32_LOAD, 2, MEM_PACKET + 4)
    .op(W.I32_ADD);
}

/** Push the packet's length, end - data (i32). */
export function packetLength(b: Body): Body {
  return b
    .i32(0)
    .mem(W.I32_LOAD, 2, MEM_PACKET + 8)
    .i32(0)
    .mem(W.I32_LOAD, 2, MEM_PACKET + 4)
    .op(W.I32_SUB);
}

/** Emit the call at its site; `slow` emits the helper call through the import. */
export function emitSkbLoadBytes(b: Body, slow: () => void): void {
  b.op(W.BLOCK, W.VOID).op(W.BLOCK, W.VOID);
  packetGate(b, PacketHelper.LoadBytes);
  // 1 <= len <= MAX_INLINE_LEN
  b.get(reg(4)).op(W.I32_WRAP_I64).tee(L_TJ).i32(1).op(W.I32_SUB).i32(MAX_INLINE_LEN).op(W.I32_GE_U, W.BR_IF).u32(0);
  // to - (r10 - STACK_SIZE), unsigned, at most STACK_SIZE - len: the whole destination in the frame
  b.get(reg(3)).i64(STACK_SIZE, 0).op(W.I64_ADD).get(reg(10)).op(W.I64_SUB).tee(L_T);
  b.i64(STACK_SIZE, 0).get(L_TJ).op(W.I64_EXTEND_I32_U, W.I64_SUB, W.I64_GT_U, W.BR_IF).u32(0);
  // stack bytes reached beyond what the next run's start clears: note them, end the repeat loop
  const reach = (): Body => b.i32(STACK_SIZE).get(L_T).op(W.I32_WRAP_I64, W.I32_SUB);
  reach().i32(0).mem(W.I32_LOAD, 2, MEM_CLEARS).op(W.I32_GT_S).if();
  b.i32(0);
  reach().mem(W.I32_STORE, 2, MEM_CLEARS);
  b.i32(0).i32(1).mem(W.I32_STORE, 2, MEM_TOUCHED);
  b.end();
  // offset (low half, unsigned) above 0x7fffffff, or offset + len past the packet: -EFAULT
  const offset = (): Body => b.get(reg(2)).i64(-1, 0).op(W.I64_AND);
  offset().i64(0x7fffffff, 0).op(W.I64_GT_U);
  offset().get(L_TJ).op(W.I64_EXTEND_I32_U, W.I64_ADD);
  packetLength(b).op(W.I64_EXTEND_I32_U, W.I64_GT_S, W.I32_OR);
  // (from here on: L_T the destination's linear address, L_TI the source's)
  b.get(L_FP).get(L_T).op(W.I32_WRAP_I64, W.I32_ADD, W.I64_EXTEND_I32_U).set(L_T);
  b.if();
  moveBytes(b, false);
  b.i64(-EFAULT, -1).set(reg(0));
  b.else();
  packetData(b).get(reg(2)).op(W.I32_WRAP_I64, W.I32_ADD).set(L_TI);
  moveBytes(b, true);
  b.i64(0, 0).set(reg(0));
  b.end();
  b.br(1).end();
  slow();
  b.end();
}

/**
 * Copy L_TJ bytes (1 to 63) from L_TI to L_T (linear addresses), or zero them: 8 bytes at a time and the
 * last 8 (or 4, 2, 1) overlapping what was done — memory.copy / memory.fill call out of the compiled code
 * in V8 and cost more than the whole copy for a header. The two ranges must not overlap (packet → stack,
 * stack → packet).
 */
export function moveBytes(b: Body, copy: boolean): void {
  const chunk = (load: number, store: number, align: number, back: number): void => {
    // *(L_T + L_TJ - back) = *(L_TI + L_TJ - back), or the chunk at L_T itself when back is 0
    b.get(L_T).op(W.I32_WRAP_I64);
    if (back !== 0) b.get(L_TJ).op(W.I32_ADD).i32(back).op(W.I32_SUB);
    if (copy) {
      b.get(L_TI);
      if (back !== 0) b.get(L_TJ).op(W.I32_ADD).i32(back).op(W.I32_SUB);
      b.mem(load, 0, 0);
    } else b.i64(0, 0);
    b.mem(store, align, 0);
  };
  b.get(L_TJ).i32(8).op(W.I32_GE_U).if();
  b.op(W.LOOP, W.VOID);
  chunk(W.I64_LOAD, W.I64_STORE, 0, 0);
  b.get(L_T).i64(8, 0).op(W.I64_ADD).set(L_T);
  if (copy) b.get(L_TI).i32(8).op(W.I32_ADD).set(L_TI);
  b.get(L_TJ).i32(8).op(W.I32_SUB).tee(L_TJ).i32(8).op(W.I32_GE_U, W.BR_IF).u32(0);
  b.end();
  b.get(L_TJ).if();
  chunk(W.I64_LOAD, W.I64_STORE, 0, 8);
  b.end();
  b.else().get(L_TJ).i32(4).op(W.I32_GE_U).if();
  chunk(W.I64_LOAD32_U, W.I64_STORE32, 0, 0);
  chunk(W.I64_LOAD32_U, W.I64_STORE32, 0, 4);
  b.else();
  chunk(W.I64_LOAD8_U, W.I64_STORE8, 0, 0);
  b.get(L_TJ).i32(2).op(W.I32_GE_U).if();
  chunk(W.I64_LOAD16_U, W.I64_STORE16, 0, 2);
  b.end();
  b.end().end();
}

/**
 * Bytes below the frame's top the program's bpf_skb_load_bytes calls write, where their destination is
 * `r10 + constant` set in the call's own basic block (`r3 = r10; r3 += -N`): the most such N. Other
 * destinations are caught at run time (see the file comment).
 */
export function loadBytesReach(p: LoadedProgram): number {
  let lead: Uint8Array | undefined;
  let most = 0;
  for (let pc = 0; pc < p.slots; pc++) {
    if (SEMANTICS[p.code[pc] as number]?.kind !== 'call' || p.src[pc] !== 0 || p.imm[pc] !== SKB_LOAD_BYTES) continue;
    lead ??= leaders(p);
    const n = r10Offset(p, lead, pc);
    if (n !== undefined && -n > most) most = Math.min(STACK_SIZE, -n);
  }
  return most;
}

const ADD64_K = 0x07;
const MOV64_X = 0xbf;

/** r3 as r10 + constant at `pc`, from the instructions before it in its block, or undefined. */
function r10Offset(p: LoadedProgram, lead: Uint8Array, pc: number): number | undefined {
  let add = 0;
  for (let q = pc - 1; q >= 0; q--) {
    const code = p.code[q] as number;
    const kind = SEMANTICS[code]?.kind;
    // (an lddw's second slot has code 0 and no semantics: its first slot is checked in turn)
    const writes3 =
      ((kind === 'alu' || kind === 'load' || kind === 'lddw') && p.dst[q] === 3) ||
      kind === 'atomic' ||
      kind === 'call';
    if (writes3) {
      if (code === ADD64_K && p.dst[q] === 3) add += p.imm[q] as number;
      else if (code === MOV64_X && p.dst[q] === 3 && p.src[q] === 10) return add;
      else return undefined;
    }
    if (lead[q]) return undefined; // (the block's start: r3 came from elsewhere)
  }
  return undefined;
}
