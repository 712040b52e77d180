/**
 * The module's packet loop: `packets(ctl, from, n)` runs the program on records from..n-1 of a batch (a
 * table of frames already in linear memory) one after another, each from the start the per-packet entry
 * (VmProgram.runPacket) gives it — and per record only what BPF_PROG_TEST_RUN does per packet: the frame
 * copied into the packet buffer (headroom and the old tail zeroed), a fresh __sk_buff, the registers,
 * the stack bytes the module's own stores may have written zeroed, the whole budget — then the call into
 * the program. Each retval goes into the record's table entry. No JavaScript runs between records.
 *
 * Exactness, as in the repeat loop (repeat-loop.ts): a run that leaves the module for anything but its
 * final `exit` stops the loop with that result in MEM_PENDING (JavaScript finishes that run, exactly);
 * a run that entered a local call (MEM_MAX_DEPTH), or whose imports left state the loop does not set up
 * per record (C_STOP, set by packet-batch.ts after each import: stack bytes written past what the loop
 * clears, a packet buffer moved, a memory layout changed, verdicts), stops the loop after its exit, so
 * JavaScript sets the next record up itself. A packet the run changed is copied out beside its frame.
 The imports a record calls see JavaScript's
 * state for that record: packet-batch.ts instantiates the module a second time with imports that bring
 * it up to date first (the control block's current record says which).
 *
 * Tail calls stay in the loop: each record starts in the entry program (C_PROG) with no tail call taken,
 * and the program function's tail call (tail-call.ts) replaces it with the target's, whose exit is the
 * record's. The inline packet helpers (skb-load-bytes.ts, skb-store-bytes.ts, csum-replace.ts) find the
 * record's packet through MEM_PACKET, which the loop writes per record.
 *
 * Lean mode (C_LEAN, chosen by packet-batch.ts): the region table keeps the packet buffer (and, with
 * LEAN_CONTEXT, the __sk_buff) closed to the module's own stores, so whatever writes them crosses an
 * import, and every import marks what it may have written (C_DIRTY). A record after a clean one then
 * skips what would rewrite bytes that are still as the set-up left them: the headroom's and the
 * context's zeroing, the region and packet tables (same length), and the compare after the run (unless
 * an inline helper writes frames: LEAN_COMPARE). A program whose own stores lean mode made cross steps
 * down from it for its next loops.
 *
 * The control block (at `ctl`, int32s, written by packet-batch.ts) holds the batch's constants and the
 * record table; see the C_* offsets.
 */
import { STACK_SIZE } from '../../isa/index.js';
import { SKB_SIZE, Skb } from '../contexts/skb.js';
import { XDP_PACKET_HEADROOM } from '../contexts/packet-buffer.js';
import {
  Body,
  Fn,
  MEM_BUDGET,
  MEM_CLEARS,
  MEM_CURRENT,
  MEM_LO,
  MEM_MAX_DEPTH,
  MEM_PACKET,
  MEM_STACKS,
  MEM_TAIL_COUNT,
} from './body.js';
import { MEM_PENDING } from './repeat-loop.js';
import { PACKET_LIN_DATA, PACKET_ROOM, SLOT_ROOM_READ, SLOT_ROOM_WRITE } from './regions.js';
import * as W from './opcodes.js';

/** The record the loop is running (or last ran): the imports' cue to bring JavaScript's state up to it. */
export const C_CUR = 0;
/** Each run's budget. */
export const C_LIMIT = 4;
/** The packet buffer's end of data now (offset in its bytes): the loop zeroes what a shorter frame leaves. */
export const C_END = 8;
/** Linear offset, VM address and length of the packet buffer's bytes. */
export const C_PB = 12;
export const C_PB_BASE = 16;
export const C_PB_CAP = 20;
/** Linear address of the packet's entry in the region table, and whether the region is writable (0/1). */
export const C_REGION = 24;
export const C_WRITABLE = 28;
/** Linear offset and VM address of the __sk_buff. */
export const C_CTX = 32;
export const C_CTX_ADDR = 36;
/** r10 at entry (frame 0's top). */
export const C_TOP = 40;
/** Set non-zero by packet-batch.ts when an import left state the loop cannot set up the next record from. */
export const C_STOP = 48;
/** Where a changed packet goes: its frame's linear offset plus this (an area the size of the frames'). */
export const C_OUT_DELTA = 44;
/** The id of the program every record enters (MEM_CURRENT at each run's start: tail calls change it). */
export const C_PROG = 52;
/**
 * DIRTY_* bits: something other than the loop may have written the packet buffer or the __sk_buff since
 * the last record's start (set by JavaScript before the loop and by packet-batch.ts before every import).
 */
export const C_DIRTY = 56;
/** C_DIRTY bits. */
export const DIRTY_PACKET = 1;
export const DIRTY_CONTEXT = 2;
/** The loop's mode: LEAN_* bits (0: every record set up from zero and compared, as BPF_PROG_TEST_RUN's). */
export const C_LEAN = 60;
/** Records the loop set up from zero (in lean mode, the dirty ones): packet-batch.ts's cue to stop leaning. */
export const C_SCRUBS = 64;
/**
 * Lean mode: the region table lets no store of the module's own reach the packet buffer (its write rooms
 * are 0, so such a store goes through an import, which marks C_DIRTY). A record whose predecessor left
 * C_DIRTY clear then finds the headroom still zero, and its run's packet is its frame unless an inline
 * helper wrote it (LEAN_COMPARE).
 */
export const LEAN = 1;
/**
 * With LEAN: the __sk_buff closed to the module's stores too, so a clean record finds every field but
 * the per-packet ones still zero (without it, the context is zeroed per record: a program that writes
 * it, skb->cb[0] between tail-call stages, keeps its stores in the module).
 */
export const LEAN_CONTEXT = 4;
/** Lean mode, but some program of the Vm writes the frame's bytes inline (skb_store_bytes, csum_replace): compare every record. */
export const LEAN_COMPARE = 2;
/**
 * The record table: per record its frame's linear offset, its length and (written by the loop) its
 * retval and whether the packet after the run differs from the frame (then copied to offset + C_OUT_DELTA).
 */
export const C_RECORDS = 80;
/** Bytes per record in the table. */
export const RECORD_BYTES = 16;

/** Parameters: ctl, from, n; then the locals. */
const CTL = 0;
const FROM = 1;
const N = 2;
const I = 3;
const REC = 4;
const LIN = 5;
const LEN = 6;
const END = 7;
const OLD = 8;
const PB = 9;
const CTX = 10;
const R = 11;
const K = 12;
const T = 13;
const CTX_ADDR = 14; // i64
const TOP = 15; // i64

const A = 16; // (the byte loops' cursors and end)
const S = 17;
const E = 18;
const SCRUB = 19; // (the record's packet buffer is set up from zero)
const CDIRTY = 20; // (C_DIRTY at the record's start)
const TABLES = 21; // (the region and packet tables need writing)
// (the block's constants for the whole loop, read once: nothing writes them while it runs)
const MODE = 22; // C_LEAN
const PROG = 23; // C_PROG
const LIMIT = 24; // C_LIMIT

/** Locals beyond the parameters. */
export const PACKETS_LOCALS = [
  { count: 11, type: W.I32 },
  { count: 2, type: W.I64 },
  { count: 9, type: W.I32 },
] as const;

/** Opcodes only this loop uses (8- and 16-bit stores). */
const I32_STORE16 = 0x3b;
const I32_STORE8 = 0x3a;

const H = XDP_PACKET_HEADROOM;
const PACKET_MULTICAST = 2;
const PACKET_OTHERHOST = 3;

/**
 * Body of packets(ctl i32, from i32, n i32) -> i32: the number of records from `from` whose runs finished
 * (see the file comment). `stackBytes`: compile.ts's bound on the frame bytes the module's stores write.
 */
export function packetsBody(stackBytes: number): Uint8Array {
  const b = new Body();
  const ctl = (off: number, op = W.I32_LOAD): Body => b.get(CTL).mem(op, 2, off);
  const clear = Math.min(STACK_SIZE, (stackBytes + 7) & ~7);

  ctl(C_PB).set(PB);
  ctl(C_CTX).set(CTX);
  ctl(C_CTX_ADDR, W.I64_LOAD32_U).set(CTX_ADDR);
  ctl(C_TOP, W.I64_LOAD32_U).set(TOP);
  ctl(C_LEAN).set(MODE);
  ctl(C_PROG).set(PROG);
  ctl(C_LIMIT).set(LIMIT);
  b.get(FROM).set(I);
  b.op(W.BLOCK, W.VOID, W.LOOP, W.VOID);
  b.get(I).get(N).op(W.I32_GE_U, W.BR_IF).u32(1);
  // (from the block each time: a helper that moved the packet's end moves it)
  ctl(C_END).set(OLD);
  b.get(CTL).get(I).i32(RECORD_BYTES).op(W.I32_MUL, W.I32_ADD).set(REC);
  b.get(REC).mem(W.I32_LOAD, 2, C_RECORDS).set(LIN);
  b.get(REC)
    .mem(W.I32_LOAD, 2, C_RECORDS + 4)
    .set(LEN);
  b.get(CTL).get(I).mem(W.I32_STORE, 2, C_CUR);

  // set up from zero unless lean and nothing but the loop wrote since the last record's start
  b.get(MODE).i32(LEAN).op(W.I32_AND, W.I32_EQZ);
  ctl(C_DIRTY).i32(DIRTY_PACKET).op(W.I32_AND, W.I32_OR).tee(SCRUB).if();
  b.get(CTL).get(CTL).mem(W.I32_LOAD, 2, C_SCRUBS).i32(1).op(W.I32_ADD).mem(W.I32_STORE, 2, C_SCRUBS);
  b.end();
  ctl(C_DIRTY).set(CDIRTY);
  b.get(CTL).i32(0).mem(W.I32_STORE, 2, C_DIRTY);

  // the packet buffer, as PacketBuffer.reset leaves it: headroom zeroed, the frame, zeros past its end
  // (stores, not memory.fill / memory.copy: those call out of V8's compiled code, ~15 ns each)
  b.get(SCRUB).if();
  zeroFixed(b, PB, H);
  b.end();
  b.i32(H).get(LEN).op(W.I32_ADD).set(END);
  b.get(OLD).get(END).op(W.I32_GT_U).if();
  b.get(PB).get(END).op(W.I32_ADD).set(A);
  b.get(PB).get(OLD).op(W.I32_ADD).set(E);
  zeroBytes(b);
  b.end();
  b.get(PB).i32(H).op(W.I32_ADD).set(A);
  b.get(LIN).set(S);
  b.get(A).get(LEN).op(W.I32_ADD).set(E);
  copyBytes(b);
  // (the tables below as the last record left them when its packet buffer was clean and of this length:
  // only the loop and the imports, which dirty the record, write them)
  b.get(SCRUB).get(OLD).get(END).op(W.I32_NE, W.I32_OR).set(TABLES);
  b.get(END).set(OLD);
  b.get(CTL).get(END).mem(W.I32_STORE, 2, C_END);
  b.get(TABLES).if();
  // its region's size (Memory.resize), in the table the module checks accesses against
  // (a plain region of END bytes: room[size] = END - size + 1 for reads, and for writes when writable;
  // END is past the headroom, so never below 8)
  ctl(C_REGION).set(T);
  for (let i = 0; i < 4; i++)
    b.get(T)
      .get(END)
      .i32(1 - (1 << i))
      .op(W.I32_ADD)
      .mem(W.I32_STORE, 2, SLOT_ROOM_READ + 4 * i);
  ctl(C_WRITABLE).if();
  for (let i = 0; i < 4; i++)
    b.get(T)
      .get(END)
      .i32(1 - (1 << i))
      .op(W.I32_ADD)
      .mem(W.I32_STORE, 2, SLOT_ROOM_WRITE + 4 * i);
  b.else();
  // (read-only, or lean: a helper's table rewrite may have made it writable again)
  for (let i = 0; i < 4; i++)
    b.get(T)
      .i32(0)
      .mem(W.I32_STORE, 2, SLOT_ROOM_WRITE + 4 * i);
  b.end();
  // what LD_ABS/LD_IND read (regions.ts syncPacket)
  b.i32(0).get(PB).mem(W.I32_STORE, 2, MEM_PACKET);
  b.i32(0)
    .i32(H)
    .mem(W.I32_STORE, 2, MEM_PACKET + 4);
  b.i32(0)
    .get(END)
    .mem(W.I32_STORE, 2, MEM_PACKET + 8);
  b.i32(0)
    .i32(H)
    .mem(W.I32_STORE, 2, MEM_PACKET + 12);
  b.i32(0)
    .i32(H + 14)
    .mem(W.I32_STORE, 2, MEM_PACKET + 16);
  b.i32(0)
    .get(CTL)
    .mem(W.I32_LOAD, 2, C_PB_CAP)
    .mem(W.I32_STORE, 2, MEM_PACKET + 20);
  // and what the inline LD_ABS/LD_IND check (regions.ts syncPacket): data's linear offset, and per load
  // size the room from data, max(0, len - size + 1), for sizes 1, 2 and 4
  b.i32(0)
    .get(PB)
    .i32(H)
    .op(W.I32_ADD)
    .mem(W.I32_STORE, 2, MEM_PACKET + PACKET_LIN_DATA);
  [0, 1, 3].forEach((less, k) => {
    b.i32(0).get(LEN).i32(-less).op(W.I32_ADD).tee(K).i32(0).get(K).i32(0).op(W.I32_GT_S, W.SELECT);
    b.mem(W.I32_STORE, 2, MEM_PACKET + PACKET_ROOM + 4 * k);
  });
  b.end();

  // a fresh __sk_buff (skb.ts skbStateAt + writeFreshSkbAt on a zeroed context; the fields that vary
  // per packet written whatever their value, for a lean record keeps the last one's)
  b.get(MODE).i32(LEAN_CONTEXT).op(W.I32_AND, W.I32_EQZ).get(CDIRTY).i32(DIRTY_CONTEXT).op(W.I32_AND, W.I32_OR).if();
  zeroFixed(b, CTX, SKB_SIZE);
  b.end();
  b.get(CTX).get(LEN).mem(W.I32_STORE, 2, Skb.len);
  b.i32(0).set(K);
  b.get(LEN).i32(6).op(W.I32_GE_U).if();
  b.get(LIN).mem(W.I32_LOAD8_U, 0, 0).i32(1).op(W.I32_AND).if();
  b.i32(PACKET_MULTICAST).set(K);
  b.else();
  b.get(LIN).mem(W.I32_LOAD, 0, 0).get(LIN).mem(W.I32_LOAD16_U, 0, 4).op(W.I32_OR).if();
  b.i32(PACKET_OTHERHOST).set(K);
  b.end();
  b.end();
  b.end();
  b.get(CTX).get(K).mem(W.I32_STORE, 2, Skb.pkt_type);
  // protocol: the EtherType in network order, as the field holds it (its upper half stays zero)
  b.get(CTX).get(LIN).mem(W.I32_LOAD16_U, 0, 12).i32(0).get(LEN).i32(14).op(W.I32_GE_U, W.SELECT);
  b.mem(I32_STORE16, 1, Skb.protocol);
  b.get(CTX).i32(1).mem(W.I32_STORE, 2, Skb.ifindex);
  ctl(C_PB_BASE).i32(H).op(W.I32_ADD).set(T);
  b.get(CTX).get(T).mem(W.I32_STORE, 2, Skb.data);
  b.get(CTX).get(T).mem(W.I32_STORE, 2, Skb.data_meta);
  b.get(CTX).get(T).get(LEN).op(W.I32_ADD).mem(W.I32_STORE, 2, Skb.data_end);

  // no tail call taken yet, in the entry program (tail-call.ts: the count's limit, whose result is whose)
  b.i32(0).i32(0).mem(W.I32_STORE, 2, MEM_TAIL_COUNT);
  b.i32(0).get(PROG).mem(W.I32_STORE, 2, MEM_CURRENT);

  // the run's fresh start (Vm.reset): zeroed stack bytes, the whole budget, r1 = the context, r10 the top
  // (at least what MEM_CLEARS names: skb_load_bytes to a destination known only at run time raises it)
  b.i32(clear).i32(0).mem(W.I32_LOAD, 2, MEM_CLEARS).tee(T).get(T).i32(clear).op(W.I32_LT_S, W.SELECT).tee(T);
  b.i32(STACK_SIZE).op(W.I32_GT_S).if().i32(STACK_SIZE).set(T).end();
  b.i32(MEM_STACKS + STACK_SIZE)
    .get(T)
    .op(W.I32_SUB)
    .set(A);
  b.i32(MEM_STACKS + STACK_SIZE).set(E);
  zeroBytes(b);
  b.i32(0).get(LIMIT).mem(W.I32_STORE, 2, MEM_BUDGET);
  b.i32(0).i32(MEM_STACKS).i64(0, 0).get(CTX_ADDR);
  for (let r = 2; r <= 9; r++) b.i64(0, 0);
  b.get(TOP).call(Fn.Program).tee(R);
  // anything but an exit: JavaScript finishes the run
  b.i32(7).op(W.I32_AND).if();
  b.i32(0).get(R).mem(W.I32_STORE, 2, MEM_PENDING);
  b.get(I).get(FROM).op(W.I32_SUB, W.RETURN);
  b.end();
  b.get(REC)
    .i32(0)
    .mem(W.I32_LOAD, 2, MEM_LO)
    .mem(W.I32_STORE, 2, C_RECORDS + 8);
  b.get(I).i32(1).op(W.I32_ADD).set(I);
  ctl(C_STOP).i32(0).mem(W.I32_LOAD, 2, MEM_MAX_DEPTH).op(W.I32_OR, W.BR_IF).u32(1);

  // the packet after the run against the frame: words, then bytes; a changed one is copied out (a lean
  // record nothing but the loop wrote has its frame as it was)
  b.get(MODE)
    .i32(LEAN | LEAN_COMPARE)
    .op(W.I32_AND)
    .i32(LEAN)
    .op(W.I32_EQ);
  ctl(C_DIRTY).i32(DIRTY_PACKET).op(W.I32_AND, W.I32_EQZ, W.I32_AND).if();
  b.get(REC)
    .i32(0)
    .mem(W.I32_STORE, 2, C_RECORDS + 12);
  b.br(1);
  b.end();
  b.i32(0).set(K);
  b.op(W.BLOCK, W.VOID);
  b.op(W.LOOP, W.VOID);
  b.get(K).i32(16).op(W.I32_ADD).get(LEN).op(W.I32_LE_U).if();
  v128(b.get(PB).get(K).op(W.I32_ADD), V128_LOAD, H);
  v128(b.get(LIN).get(K).op(W.I32_ADD), V128_LOAD, 0);
  b.u8(PREFIX_SIMD).u32(V128_XOR).u8(PREFIX_SIMD).u32(V128_ANY_TRUE);
  b.op(W.BR_IF).u32(2);
  b.get(K).i32(16).op(W.I32_ADD).set(K).br(1);
  b.end();
  b.end();
  b.op(W.LOOP, W.VOID);
  b.get(K).i32(8).op(W.I32_ADD).get(LEN).op(W.I32_LE_U).if();
  b.get(PB).get(K).op(W.I32_ADD).mem(W.I64_LOAD, 0, H).get(LIN).get(K).op(W.I32_ADD).mem(W.I64_LOAD, 0, 0);
  b.op(W.I64_NE, W.BR_IF).u32(2);
  b.get(K).i32(8).op(W.I32_ADD).set(K).br(1);
  b.end();
  b.end();
  b.op(W.LOOP, W.VOID);
  b.get(K).get(LEN).op(W.I32_LT_U).if();
  b.get(PB).get(K).op(W.I32_ADD).mem(W.I32_LOAD8_U, 0, H).get(LIN).get(K).op(W.I32_ADD).mem(W.I32_LOAD8_U, 0, 0);
  b.op(W.I32_NE, W.BR_IF).u32(2);
  b.get(K).i32(1).op(W.I32_ADD).set(K).br(1);
  b.end();
  b.end();
  b.get(REC)
    .i32(0)
    .mem(W.I32_STORE, 2, C_RECORDS + 12);
  b.br(1); // the same: the next record
  b.end();
  // (with stores, not memory.copy: see the packet buffer's set-up)
  ctl(C_OUT_DELTA).get(LIN).op(W.I32_ADD).tee(A).get(LEN).op(W.I32_ADD).set(E);
  b.get(PB).i32(H).op(W.I32_ADD).set(S);
  copyBytes(b);
  b.get(REC)
    .i32(1)
    .mem(W.I32_STORE, 2, C_RECORDS + 12);
  b.br(0);
  b.end();
  b.end();
  return b.get(I).get(FROM).op(W.I32_SUB).end().bytes();
}

/** Zero `bytes` (a multiple of 16) from the address in local `at`, one 16-byte store per 16 bytes. */
function zeroFixed(b: Body, at: number, bytes: number): void {
  if (bytes % 16 !== 0) throw new Error('internal: a fixed zeroing not in 16-byte steps');
  for (let k = 0; k < bytes; k += 16) zero16(b.get(at), k);
}

/** SIMD opcodes (after the 0xfd prefix). */
const PREFIX_SIMD = 0xfd;
const V128_LOAD = 0;
const V128_STORE = 11;
const V128_CONST = 12;
const V128_XOR = 81;
const V128_ANY_TRUE = 83;

/** A v128 load or store (`op`) at the address on the stack + `offset`. */
function v128(b: Body, op: number, offset: number): void {
  b.u8(PREFIX_SIMD).u32(op).u32(4).u32(offset);
}

/**
 * Copy the bytes from S to [A, E) (linear addresses): 16 at a time and the last 16 overlapping what was
 * done, or as moveBytes does when there are fewer than 16. Writes nothing outside [A, E).
 */
function copyBytes(b: Body): void {
  b.get(E).get(A).op(W.I32_SUB).i32(16).op(W.I32_GE_U).if();
  b.op(W.LOOP, W.VOID);
  b.get(A);
  v128(b.get(S), V128_LOAD, 0);
  v128(b, V128_STORE, 0);
  b.get(A).i32(16).op(W.I32_ADD).set(A);
  b.get(S).i32(16).op(W.I32_ADD).set(S);
  b.get(A).i32(16).op(W.I32_ADD).get(E).op(W.I32_LE_U, W.BR_IF).u32(0);
  b.end();
  b.get(A).get(E).op(W.I32_LT_U).if();
  // (the 16 bytes before E, from S + (E - 16 - A))
  b.get(E).i32(16).op(W.I32_SUB);
  v128(b.get(S).get(E).i32(16).op(W.I32_SUB).get(A).op(W.I32_SUB, W.I32_ADD), V128_LOAD, 0);
  v128(b, V128_STORE, 0);
  b.end();
  b.else();
  moveBytes(b, true);
  b.end();
}

/** Store 16 zero bytes at the address on the stack + `offset` (WebAssembly SIMD: half the stores of i64s). */
function zero16(b: Body, offset: number): void {
  b.u8(PREFIX_SIMD).u32(V128_CONST);
  for (let k = 0; k < 16; k++) b.u8(0);
  b.u8(PREFIX_SIMD).u32(V128_STORE).u32(4).u32(offset);
}

/**
 * Zero [A, E) (linear addresses): 16 bytes at a time and the last 16 overlapping what was done, or as
 * moveBytes does when there are fewer than 16. Writes nothing outside [A, E).
 */
function zeroBytes(b: Body): void {
  b.get(E).get(A).op(W.I32_SUB).i32(16).op(W.I32_GE_U).if();
  b.op(W.LOOP, W.VOID);
  zero16(b.get(A), 0);
  b.get(A).i32(16).op(W.I32_ADD).set(A);
  b.get(A).i32(16).op(W.I32_ADD).get(E).op(W.I32_LE_U, W.BR_IF).u32(0);
  b.end();
  b.get(A).get(E).op(W.I32_LT_U).if();
  zero16(b.get(E).i32(16).op(W.I32_SUB), 0);
  b.end();
  b.else();
  moveBytes(b, false);
  b.end();
}

/**
 * Copy the bytes from S to [A, E) (linear addresses), or zero [A, E): 8 at a time and the last 8
 * overlapping what was done, byte by byte when there are fewer than 8. Writes nothing outside [A, E)
 * (the bytes past a frame's end must stay zero).
 */
function moveBytes(b: Body, copy: boolean): void {
  const chunk = (back: boolean): void => {
    // the 8 bytes at A, or at E - 8 (from S + (E - 8 - A))
    if (back) b.get(E).i32(8).op(W.I32_SUB);
    else b.get(A);
    if (copy) {
      b.get(S);
      if (back) b.get(E).i32(8).op(W.I32_SUB).get(A).op(W.I32_SUB, W.I32_ADD);
      b.mem(W.I64_LOAD, 0, 0);
    } else b.i64(0, 0);
    b.mem(W.I64_STORE, 0, 0);
  };
  b.get(E).get(A).op(W.I32_SUB).i32(8).op(W.I32_GE_U).if();
  b.op(W.LOOP, W.VOID);
  chunk(false);
  b.get(A).i32(8).op(W.I32_ADD).set(A);
  if (copy) b.get(S).i32(8).op(W.I32_ADD).set(S);
  b.get(A).i32(8).op(W.I32_ADD).get(E).op(W.I32_LE_U, W.BR_IF).u32(0);
  b.end();
  b.get(A).get(E).op(W.I32_LT_U).if();
  chunk(true);
  b.end();
  b.else();
  b.op(W.BLOCK, W.VOID, W.LOOP, W.VOID);
  b.get(A).get(E).op(W.I32_GE_U, W.BR_IF).u32(1);
  b.get(A);
  if (copy) b.get(S).mem(W.I32_LOAD8_U, 0, 0);
  else b.i32(0);
  b.mem(I32_STORE8, 0, 0);
  b.get(A).i32(1).op(W.I32_ADD).set(A);
  if (copy) b.get(S).i32(1).op(W.I32_ADD).set(S);
  b.br(0).end().end();
  b.end();
}
