/**
 * The function body the compiler writes, with the compiled program's fixed frame: which local holds
 * which eBPF register, where the register file and the budget live in linear memory, and what the
 * function returns when it hands control back to JavaScript.
 */
import { ByteWriter } from './bytes.js';
import * as W from './opcodes.js';
import { MAX_CALL_FRAMES, STACK_SIZE } from '../../isa/index.js';
import { FRAME_INTS } from '../interpreter-state.js';

// ---- linear memory (one 64 KiB page, shared by every program of one Vm) ----

/** Byte offset of the register file's low halves (EngineState.lo, 11 int32s). */
export const MEM_LO = 0;
/** Byte offset of the high halves (EngineState.hi). */
export const MEM_HI = 64;
/** The instruction budget left, as JavaScript hands it over and takes it back. */
export const MEM_BUDGET = 128;
/** The high half of a 64-bit load that went through JavaScript. */
export const MEM_LOAD_HI = 132;
/**
 * The region table (regions.ts): REGION_SLOTS entries of REGION_BYTES describing the regions whose bytes
 * live in linear memory, so the module checks and makes an access to them without calling out.
 */
export const MEM_REGIONS = 256;
/** (12: up to MEM_PACKET. A chain of tail-call stages maps a context per stage before the packet buffer.) */
export const REGION_SLOTS = 12;
export const REGION_BYTES = 64;
/**
 * Tail calls and bpf_skb_load_bytes in the module (tail-call.ts, skb-load-bytes.ts). The first two
 * cells sit in the register file's gap, inside the image the repeat loop restores before every run, so
 * each run starts with no tail calls taken, in the program it was entered at.
 */
export const MEM_TAIL_COUNT = 44; // tail calls taken in this run (HelperCall.tailCalls while the module runs)
export const MEM_CURRENT = 48; // id of the program running at depth 0 (run() sets it, a tail call changes it)
/**
 * Per map handle below TAIL_HANDLES, the linear offset of its prog array's mirror (0: none). (After the
 * packet mirror: MEM_PACKET's cells end at +44.)
 */
export const MEM_TAIL_DIR = 1088;
export const TAIL_HANDLES = 64;
/** Bytes below every frame's top that will be zeroed before the next run (see tail-call.ts). */
export const MEM_CLEARS = MEM_TAIL_DIR + 4 * TAIL_HANDLES;
/** A result the module returned for the program a tail call switched to (+1; 0: none), for JavaScript. */
export const MEM_TAIL_PENDING = MEM_CLEARS + 4;
/** Which packet helpers the module runs itself (skb-load-bytes.ts PacketHelper bits; the packet: MEM_PACKET); one cell unused. */
export const MEM_SKB = MEM_TAIL_PENDING + 4;
/** Cells after the tail-call and skb ones, up to the map table, that other files lay out (repeat-loop.ts). */
export const MEM_FREE = 1376;
/**
 * The packet LD_ABS/LD_IND read (EngineState.packet), as int32s: linear offset of its bytes (-1: not in
 * linear memory, the import reads it), data, end, mac, net, bytes.length.
 */
export const MEM_PACKET = 1024;
if (MEM_REGIONS + REGION_SLOTS * REGION_BYTES > MEM_PACKET) throw new Error('internal: the region table overlaps');
/**
 * The map table (map-lookup.ts), by map handle: kind (1: a plain array whose values are in linear
 * memory, 0: anything else), max_entries, VM address of the values, first value's tag, stride.
 */
export const MEM_MAPS = 1536;
export const MAP_SLOTS = 64;
export const MAP_BYTES = 32;
/**
 * The local-call frames (EngineState.frames: FRAME_INTS int32s each, as the other engines write them),
 * so the module pushes and pops frames itself and JavaScript finds them where it looks.
 */
export const MEM_FRAMES = MEM_MAPS + MAP_SLOTS * MAP_BYTES;
/** The current frame's depth (EngineState.depth while the module runs) and the deepest entered (maxDepth). */
export const MEM_DEPTH = MEM_FRAMES + MAX_CALL_FRAMES * FRAME_INTS * 4;
export const MEM_MAX_DEPTH = MEM_DEPTH + 4;
/** r10 of each frame depth (EngineState.stackTops), as int32s. */
export const MEM_TOPS = MEM_MAX_DEPTH + 4;
/** The call frames' stacks (EngineState.allStacks), frame d at MEM_STACKS + d * STACK_SIZE. */
export const MEM_STACKS = 4096; // (after MEM_MAPS + MAP_SLOTS * MAP_BYTES)
if (MEM_TOPS + 4 * MAX_CALL_FRAMES > MEM_STACKS || MEM_TAIL_DIR < MEM_PACKET + 48 || MEM_SKB + 8 > MEM_FREE)
  throw new Error('internal: the wasm memory layout overlaps');
/** The stacks end inside the first page. */
export const MEM_STACKS_END = MEM_STACKS + MAX_CALL_FRAMES * STACK_SIZE;
/** From here on, buffers handed out by Memory.allocate (packet buffer, contexts). */
export const MEM_ARENA = MEM_STACKS_END;
/** Pages of linear memory (fixed: growing would detach every view of it). */
export const MEM_PAGES = 256;

// ---- the program's function: (block, frame base, r0-r10) -> code | pc << 3 ----

/** Parameter: the dense number of the block to start at. */
export const L_BLOCK = 0;
/** Parameter: the linear-memory address of the current frame's stack (its lowest byte). */
export const L_FP = 1;
/** Parameter of eBPF register r (i64): the caller's registers, which the callee of a local call sees. */
export const reg = (r: number): number => 2 + r;
/** The budget left (i32). */
export const L_BUDGET = 13;
/** Scratch locals. */
export const L_T = 14; // i64
export const L_TI = 15; // i32
export const L_TJ = 16; // i32
/** The program function's parameters: block, frame, r0-r10. */
export const PROGRAM_PARAMS = [W.I32, W.I32, ...new Array<number>(11).fill(W.I64)];
/** Its locals after the parameters: budget, t, ti, tj. */
export const LOCALS = [
  { count: 1, type: W.I32 },
  { count: 1, type: W.I64 },
  { count: 2, type: W.I32 },
] as const;

/** Why the function returned (the low 3 bits of its result; the pc is above them). */
export const enum Exit {
  /** `exit`: JavaScript pops a frame or ends the run. */
  Exit = 0,
  /** A local call at pc would exceed MAX_CALL_FRAMES (the module makes the calls that fit itself). */
  CallDepth = 1,
  /** Continue at pc on the interpreter (the budget cannot pay for the block there). */
  Bail = 2,
  /** A helper stopped the program. */
  HelperDone = 3,
  /** A helper asked for a tail call. */
  HelperSwitch = 4,
  /** LD_ABS/LD_IND outside the packet: the program ends with r0 = 0. */
  PacketOut = 5,
  /** Execution ran off the end of the program. */
  FallThrough = 6,
}

/** Imported functions, by index. */
export const enum Import {
  Ld8 = 0,
  Ld16,
  Ld32,
  Ld64,
  St8,
  St16,
  St32,
  St64,
  Helper,
  Callx,
  Packet,
  Atomic,
  /** (pc, helper) -> f64: r0 itself, or whether a helper that reads no argument ran (quick-helpers.ts). */
  Quick,
}

/** The module's own functions, numbered after the imports (compile.ts writes them in this order). */
export const enum Fn {
  /** run(block, frame) -> code | pc << 3 (exported): the registers from the register file, then Program. */
  Run = 13,
  /** (pointer i64, offset i64, size i64) -> linear offset of a readable access in a table region, or -1. */
  ResolveRead,
  /** The same for a write. */
  ResolveWrite,
  /** (pc, size, offset) -> LD_ABS/LD_IND value, or -1 for a load outside the packet (loadPacket). */
  LoadPacket,
  /** (block, frame, r0-r10) -> code | pc << 3: the program itself, entered by run and by its local calls. */
  Program,
  /** repeat(n, frame) (exported: repeat-loop.ts). */
  Repeat,
  /** The hash-map functions (hash-lookup.ts hashFuncs, in this order). */
  HashOf,
  HashFind,
  HashUnlink,
  HashLinkTail,
  HashRemove,
  HashLookup,
  HashUpdate,
  HashDelete,
}

/** A function body being written: opcodes with their immediates. */
export class Body extends ByteWriter {
  /** Opcodes without immediates (up to four: a rest parameter would allocate an array per call). */
  op(a: number, b?: number, c?: number, d?: number): this {
    const buf = this.room(4);
    let n = this.length;
    buf[n++] = a;
    if (b !== undefined) {
      buf[n++] = b;
      if (c !== undefined) {
        buf[n++] = c;
        if (d !== undefined) buf[n++] = d;
      }
    }
    this.length = n;
    return this;
  }
  get(local: number): this {
    return this.local(W.LOCAL_GET, local);
  }
  set(local: number): this {
    return this.local(W.LOCAL_SET, local);
  }
  tee(local: number): this {
    return this.local(W.LOCAL_TEE, local);
  }
  /** local.get/set/tee: a one-byte index written in place (functions have fewer than 128 locals). */
  private local(opcode: number, index: number): this {
    if (index >>> 0 >= 0x80) return this.u8(opcode).u32(index);
    const buf = this.room(2);
    buf[this.length] = opcode;
    buf[this.length + 1] = index;
    this.length += 2;
    return this;
  }
  i32(v: number): this {
    if (v < -64 || v >= 64) return this.u8(W.I32_CONST).s32(v);
    // (one LEB128 byte: the low 7 bits, bit 6 the sign)
    const buf = this.room(2);
    buf[this.length] = W.I32_CONST;
    buf[this.length + 1] = v & 0x7f;
    this.length += 2;
    return this;
  }
  /** i64.const hi:lo. */
  i64(lo: number, hi: number): this {
    // (a value that is an int32 sign-extended has the same LEB128 bytes as that int32)
    if ((hi | 0) !== lo >> 31) return this.u8(W.I64_CONST).s64(lo, hi);
    if (lo < -64 || lo >= 64) return this.u8(W.I64_CONST).s32(lo);
    const buf = this.room(2);
    buf[this.length] = W.I64_CONST;
    buf[this.length + 1] = lo & 0x7f;
    this.length += 2;
    return this;
  }
  /** A load or store with its alignment hint (log2 bytes) and constant offset. */
  mem(opcode: number, align: number, offset: number): this {
    if (offset >>> 0 >= 0x80) return this.u8(opcode).u32(align).u32(offset);
    const buf = this.room(3);
    buf[this.length] = opcode;
    buf[this.length + 1] = align;
    buf[this.length + 2] = offset;
    this.length += 3;
    return this;
  }
  call(index: number): this {
    return this.u8(W.CALL).u32(index);
  }
  br(depth: number): this {
    return this.u8(W.BR).u32(depth);
  }
  /** `if` without a result. */
  if(): this {
    return this.u8(W.IF).u8(W.VOID);
  }
  /** `if` with an i64 result. */
  if64(): this {
    return this.u8(W.IF).u8(W.I64);
  }
  /** `if` with an i32 result. */
  if32(): this {
    return this.u8(W.IF).u8(W.I32);
  }
  else(): this {
    return this.u8(W.ELSE);
  }
  end(): this {
    return this.u8(W.END);
  }

  /**
   * The i32 on the stack with its bytes reversed, through the i32 local `t`: bytes swapped within
   * 16-bit pairs, then the pairs. Shifts and masks, no rotate: Liftoff (V8 11), the tier a capture's
   * filter runs on (baseline-tier.ts), calls out to C for every i32.rotl / i32.rotr.
   */
  bswap32(t: number): this {
    this.tee(t)
      .i32(8)
      .op(W.I32_SHL)
      .i32(0xff00ff00 | 0)
      .op(W.I32_AND);
    this.get(t).i32(8).op(W.I32_SHR_U).i32(0x00ff00ff).op(W.I32_AND, W.I32_OR);
    return this.tee(t).i32(16).op(W.I32_SHL).get(t).i32(16).op(W.I32_SHR_U, W.I32_OR);
  }

  /** Store every register into the register file (JavaScript reads it at calls, exits and faults). */
  spill(regs: readonly number[] = ALL_REGS): this {
    for (const r of regs) {
      this.i32(0)
        .get(reg(r))
        .mem(W.I64_STORE32, 2, MEM_LO + 4 * r);
      this.i32(0)
        .get(reg(r))
        .i64(32, 0)
        .op(W.I64_SHR_U)
        .mem(W.I64_STORE32, 2, MEM_HI + 4 * r);
    }
    return this;
  }

  /** Load registers from the register file. */
  reload(regs: readonly number[] = ALL_REGS): this {
    for (const r of regs) {
      this.i32(0).mem(W.I64_LOAD32_U, 2, MEM_LO + 4 * r);
      this.i32(0)
        .mem(W.I64_LOAD32_U, 2, MEM_HI + 4 * r)
        .i64(32, 0)
        .op(W.I64_SHL, W.I64_OR)
        .set(reg(r));
    }
    return this;
  }

  /** Hand the budget back and return `why` at `pc`. */
  leave(why: Exit, pc: number): this {
    this.i32(0).get(L_BUDGET).mem(W.I32_STORE, 2, MEM_BUDGET);
    return this.i32(pc * 8 + why).op(W.RETURN);
  }

  /** Take the budget from memory (after JavaScript ran, which may have spent some). */
  takeBudget(): this {
    return this.i32(0).mem(W.I32_LOAD, 2, MEM_BUDGET).set(L_BUDGET);
  }
}

/** r0-r10. */
export const ALL_REGS: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
