/**
 * Loads and stores (LDX MEM/MEMSX, ST, STX MEM) as WebAssembly. The current frame's stack lives in
 * linear memory, so an access that lies inside it is one WebAssembly load or store: through r10 with a
 * constant offset inside the frame that needs no test at all (r10 is read-only and always the frame's
 * top), through another register one compare. An access through another register first tries the
 * region table's slot (regions.ts) that served the same instruction last, kept in a global of the
 * module per instruction (a context field, a packet byte or a map value is usually reached through the
 * same region every time), then the frame, then every slot (the resolve functions, which remember the
 * slot for next time). Every other access goes to Memory through an imported function, which checks it
 * against its region, tag and writability exactly as the interpreter does and throws the same VmError
 * (pc, address).
 *
 * Why the compares are exact: the slot check is the table's (regions.ts), current whatever slot is
 * tried; an access the frame path takes lies wholly inside the current frame's region, and an address
 * within 32 KiB of r10 has a zero upper half (regions sit far from both ends of the 32-bit space), so
 * Memory would have accepted it through the same pointer.
 */
import { BPF_ADD, STACK_SIZE } from '../../isa/index.js';
import {
  Body,
  Exit,
  Fn,
  Import,
  L_FP,
  L_T,
  L_TI,
  L_TJ,
  MEM_CLEARS,
  MEM_LOAD_HI,
  MEM_PACKET,
  MEM_REGIONS,
  reg,
} from './body.js';
import {
  G_FOUND_SLOT,
  PACKET_LIN_DATA,
  PACKET_ROOM,
  SLOT_D,
  SLOT_ROOM_READ,
  SLOT_ROOM_WRITE,
  slotCheck,
} from './regions.js';
import * as W from './opcodes.js';

const LOG2 = [0, 0, 1, 1, 2, 2, 2, 2, 3] as const;

/** Instructions beyond this many share one slot global (the module's globals stay few). */
const MAX_SITES = 4096;

/**
 * The module's globals for its access instructions: G_FOUND_SLOT, then the slot each instruction tries
 * first (byte offsets into the region table; any slot is a correct guess, a wrong one only slower).
 */
export class AccessSites {
  private count = 0;

  /** The global of a new access instruction. */
  take(): number {
    if (this.count < MAX_SITES) this.count++;
    return G_FOUND_SLOT + this.count;
  }

  /** The initial values of the globals (module-writer.ts ModuleParts.globals). */
  globals(): number[] {
    return new Array<number>(1 + this.count).fill(MEM_REGIONS);
  }
}

/** dst = *(size *)(src + off), zero- or sign-extended. */
export function emitLoad(
  b: Body,
  sites: AccessSites,
  pc: number,
  dst: number,
  src: number,
  off: number,
  size: number,
  signed: boolean,
): void {
  const op =
    size === 8
      ? W.I64_LOAD
      : size === 4
        ? signed
          ? W.I64_LOAD32_S
          : W.I64_LOAD32_U
        : size === 2
          ? signed
            ? W.I64_LOAD16_S
            : W.I64_LOAD16_U
          : signed
            ? W.I64_LOAD8_S
            : W.I64_LOAD8_U;
  const align = LOG2[size] as number;
  if (src === 10 && off >= -STACK_SIZE && off <= -size) {
    b.get(L_FP)
      .mem(op, align, STACK_SIZE + off)
      .set(reg(dst));
    return;
  }
  const g = sites.take();
  inSlot(b, g, src, off, size, SLOT_ROOM_READ);
  b.if64();
  slotAddress(b, src, off);
  b.mem(op, align, 0);
  b.else();
  inFrame(b, src, off, size);
  b.if64();
  b.get(L_FP).get(L_T).op(W.I32_WRAP_I64, W.I32_ADD).mem(op, align, 0);
  b.else();
  inTable(b, g, src, off, size, Fn.ResolveRead);
  b.if64();
  b.get(L_TI).mem(op, align, 0);
  b.else();
  pointerArgs(b, src, off);
  b.i32(pc);
  if (size === 8) {
    b.call(Import.Ld64).op(W.I64_EXTEND_I32_U);
    b.i32(0).mem(W.I64_LOAD32_U, 2, MEM_LOAD_HI).i64(32, 0).op(W.I64_SHL, W.I64_OR);
  } else {
    b.call(size === 4 ? Import.Ld32 : size === 2 ? Import.Ld16 : Import.Ld8);
    if (signed && size === 1) b.op(W.I32_EXTEND8_S);
    if (signed && size === 2) b.op(W.I32_EXTEND16_S);
    b.op(signed ? W.I64_EXTEND_I32_S : W.I64_EXTEND_I32_U);
  }
  b.end().end().end().set(reg(dst));
}

/** *(size *)(dst + off) = the value `value` pushes (an i64). */
export function emitStore(
  b: Body,
  sites: AccessSites,
  pc: number,
  dst: number,
  off: number,
  size: number,
  value: () => void,
): void {
  const op = size === 8 ? W.I64_STORE : size === 4 ? W.I64_STORE32 : size === 2 ? W.I64_STORE16 : W.I64_STORE8;
  const align = LOG2[size] as number;
  if (dst === 10 && off >= -STACK_SIZE && off <= -size) {
    b.get(L_FP);
    value();
    b.mem(op, align, STACK_SIZE + off);
    return;
  }
  const g = sites.take();
  inSlot(b, g, dst, off, size, SLOT_ROOM_WRITE);
  b.if();
  slotAddress(b, dst, off);
  value();
  b.mem(op, align, 0);
  b.else();
  inFrame(b, dst, off, size);
  b.if();
  // the frame bytes it reaches beyond what every run's start zeroes (MEM_CLEARS): raise that, so the
  // module's stack bound (compile.ts wasmStackBytes) need only cover its stores through r10
  b.i32(STACK_SIZE).get(L_T).op(W.I32_WRAP_I64, W.I32_SUB).tee(L_TI);
  b.i32(0).mem(W.I32_LOAD, 2, MEM_CLEARS).op(W.I32_GT_S).if();
  b.i32(0).get(L_TI).mem(W.I32_STORE, 2, MEM_CLEARS);
  b.end();
  b.get(L_FP).get(L_T).op(W.I32_WRAP_I64, W.I32_ADD);
  value();
  b.mem(op, align, 0);
  b.else();
  inTable(b, g, dst, off, size, Fn.ResolveWrite);
  b.if();
  b.get(L_TI);
  value();
  b.mem(op, align, 0);
  b.else();
  pointerArgs(b, dst, off);
  value();
  if (size === 8) {
    b.set(L_T);
    b.get(L_T).op(W.I32_WRAP_I64);
    b.get(L_T).i64(32, 0).op(W.I64_SHR_U, W.I32_WRAP_I64);
    b.i32(pc).call(Import.St64);
  } else {
    b.op(W.I32_WRAP_I64)
      .i32(pc)
      .call(size === 4 ? Import.St32 : size === 2 ? Import.St16 : Import.St8);
  }
  b.end().end().end();
}

/**
 * Push whether `size` bytes at base + off lie in the slot the instruction's global `g` names (its
 * room field at `room`: reads or writes), leaving the slot in L_TJ.
 */
function inSlot(b: Body, g: number, base: number, off: number, size: number, room: number): void {
  b.u8(W.GLOBAL_GET).u32(g).set(L_TJ);
  slotCheck(
    b,
    0,
    L_TJ,
    L_T,
    () => b.get(reg(base)),
    () => b.i64(off, off >> 31),
    () => b.get(L_TJ).mem(W.I64_LOAD32_U, 2, room + 4 * (LOG2[size] as number)),
  );
}

/** Push the linear offset of base + off in the slot in L_TJ (after inSlot accepted it). */
function slotAddress(b: Body, base: number, off: number): void {
  b.get(reg(base)).op(W.I32_WRAP_I64);
  if (off !== 0) b.i32(off).op(W.I32_ADD);
  b.get(L_TJ).mem(W.I32_LOAD, 2, SLOT_D).op(W.I32_ADD);
}

/**
 * Push whether `size` bytes at base + off lie in any slot of the table, leaving their linear offset in
 * L_TI and, when they do, the slot in the instruction's global `g` for next time.
 */
function inTable(b: Body, g: number, base: number, off: number, size: number, resolve: Fn): void {
  b.get(reg(base))
    .i64(off, off >> 31)
    .i64(size, 0)
    .call(resolve)
    .tee(L_TI)
    .i32(-1)
    .op(W.I32_NE)
    .tee(L_TJ)
    .if();
  b.u8(W.GLOBAL_GET).u32(G_FOUND_SLOT).u8(W.GLOBAL_SET).u32(g);
  b.end().get(L_TJ);
}

/**
 * Push whether `size` bytes at base + off lie in the current frame, leaving their offset in it in L_T:
 * base + off - (r10 - STACK_SIZE), unsigned, at most STACK_SIZE - size.
 */
function inFrame(b: Body, base: number, off: number, size: number): void {
  b.get(reg(base))
    .i64(off + STACK_SIZE, 0)
    .op(W.I64_ADD)
    .get(reg(10))
    .op(W.I64_SUB)
    .tee(L_T);
  b.i64(STACK_SIZE - size + 1, 0).op(W.I64_LT_U);
}

/** The arguments every imported access starts with: the pointer's halves and the offset. */
function pointerArgs(b: Body, base: number, off: number): void {
  b.get(reg(base)).op(W.I32_WRAP_I64);
  b.get(reg(base)).i64(32, 0).op(W.I64_SHR_U, W.I32_WRAP_I64);
  b.i32(off);
}

/**
 * STX|ATOMIC. A plain add (the counters of maps, `lock *(u64 *)(r0 + 0) += r1`) into a table region is
 * a load, add and store here (one thread: nothing can come between them); everything else, and any
 * other address, goes to the interpreter's atomic() through the import with the registers spilled.
 */
export function emitAtomic(
  b: Body,
  sites: AccessSites,
  pc: number,
  op: number,
  size: number,
  dst: number,
  src: number,
  off: number,
): void {
  const slow = (): void => {
    b.spill().i32(pc).i32(op).i32(size).i32(dst).i32(src).i32(off).call(Import.Atomic).reload();
  };
  if (op !== BPF_ADD) {
    slow();
    return;
  }
  const load = size === 8 ? W.I64_LOAD : W.I64_LOAD32_U;
  const store = size === 8 ? W.I64_STORE : W.I64_STORE32;
  const align = size === 8 ? 3 : 2;
  const add = (): void => {
    b.get(L_TI).get(L_TI).mem(load, align, 0).get(reg(src)).op(W.I64_ADD).mem(store, align, 0);
  };
  const g = sites.take();
  inSlot(b, g, dst, off, size, SLOT_ROOM_WRITE);
  b.if();
  slotAddress(b, dst, off);
  b.set(L_TI);
  add();
  b.else();
  inTable(b, g, dst, off, size, Fn.ResolveWrite);
  b.if();
  add();
  b.else();
  slow();
  b.end();
  b.end();
}

/**
 * LD_ABS (`indirect` false: offset imm) or LD_IND (offset src + imm, in 32 bits): r0 = the packet's
 * `size` bytes at data + offset, big-endian. An offset >= 0 whose bytes the packet mirror's room admits
 * (regions.ts syncPacket) is read here; any other — negative offsets (SKF_NET_OFF, SKF_LL_OFF), bytes
 * outside the packet, a packet outside linear memory — goes to loadPacket's function, and out of the
 * program when it says the bytes are not there.
 */
export function emitPacketLoad(b: Body, pc: number, size: number, indirect: boolean, src: number, imm: number): void {
  const slow = (): void => {
    b.i32(pc).i32(size).get(L_TI).call(Fn.LoadPacket).tee(L_T).i64(0, 0).op(W.I64_LT_S).if();
    b.leave(Exit.PacketOut, pc).end();
    b.get(L_T).set(reg(0));
  };
  if (indirect) b.get(reg(src)).op(W.I32_WRAP_I64).i32(imm).op(W.I32_ADD).set(L_TI);
  else b.i32(imm).set(L_TI);
  if (!indirect && imm < 0) {
    slow();
    return;
  }
  // unsigned: a negative offset is never below the room
  b.get(L_TI)
    .i32(0)
    .mem(W.I32_LOAD, 2, MEM_PACKET + PACKET_ROOM + 4 * (LOG2[size] as number))
    .op(W.I32_LT_U)
    .if();
  b.get(L_TI)
    .i32(0)
    .mem(W.I32_LOAD, 2, MEM_PACKET + PACKET_LIN_DATA)
    .op(W.I32_ADD);
  if (size === 1) b.mem(W.I64_LOAD8_U, 0, 0);
  else if (size === 2) {
    // (x << 8 | x >> 8) & 0xffff
    b.mem(W.I32_LOAD16_U, 0, 0).tee(L_TI).i32(8).op(W.I32_SHL).get(L_TI).i32(8).op(W.I32_SHR_U, W.I32_OR);
    b.i32(0xffff).op(W.I32_AND, W.I64_EXTEND_I32_U);
  } else {
    b.mem(W.I32_LOAD, 0, 0).bswap32(L_TI).op(W.I64_EXTEND_I32_U);
  }
  b.set(reg(0));
  b.else();
  slow();
  b.end();
}
