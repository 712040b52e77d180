/**
 * The state both engines share during a run: the register file (as int32 halves), the local-call frame
 * stack, the instruction budget, and what to do when control moves to another program (a tail call, or
 * returning from a local call into a frame that belongs to another program after a tail call).
 *
 * An engine is `(state, program, startPc) => DONE | SWITCH`. DONE leaves r0 in lo[0]/hi[0]. SWITCH leaves
 * every register in lo/hi and asks the driver to continue in `state.next` at `state.pc`.
 */
import type { HelperCall, HelperRegistry } from './helper-abi.js';
import type { Memory } from './memory.js';
import type { LoadedProgram } from './interpreter-program.js';
import { MAX_CALL_FRAMES, STACK_SIZE } from '../isa/index.js';
import type { WasmShared } from './wasm/shared.js';

export const DONE = 0;
export const SWITCH = 1;

/** Ints per saved frame: return pc, program id, r6-r9 (lo, hi), r10 lo. */
export const FRAME_INTS = 11;

/** Return pc of the frame a callback runs in: its `exit` returns to the helper that invoked it. */
export const HOST_RETURN = -1;

/**
 * The packet LD_ABS/LD_IND read (kernel semantics): `bytes` is the whole buffer; offsets >= 0 are relative
 * to `data` and must end at or before `end`; SKF_NET_OFF / SKF_LL_OFF offsets are relative to `net` /
 * `mac`. The host updates it when a helper resizes the packet.
 */
export interface LdAbsPacket {
  bytes: Uint8Array;
  data: number;
  end: number;
  mac: number;
  net: number;
}

export type Engine = (st: EngineState, p: LoadedProgram, startPc: number) => number;

export class EngineState {
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  /** Local-call frames, FRAME_INTS each (in the 'wasm' engine's linear memory when it has one). */
  readonly frames: Int32Array;
  /** Current frame: 0 = the entry function. */
  depth = 0;
  /** Deepest frame used since the stacks were last cleared. */
  maxDepth = 0;
  /** Instructions left in this run's budget. */
  budget = 0;
  /** The run's whole budget (for messages and the executed-instruction count). */
  limit = 0;
  /** SWITCH target. */
  next: LoadedProgram | undefined = undefined;
  pc = 0;
  /** What LD_ABS/LD_IND read, or undefined when the run has no packet. */
  packet: LdAbsPacket | undefined = undefined;
  /** r10 for each frame depth: the top (one past the end) of that frame's 512-byte stack region. */
  readonly stackTops = new Int32Array(MAX_CALL_FRAMES);
  readonly stackBases = new Int32Array(MAX_CALL_FRAMES);
  /** Set when `exit` popped a frame whose return pc is HOST_RETURN (a callback finished). */
  hostReturn = false;
  /** The engine of the current run (callbacks run on it too). */
  engine: Engine | undefined = undefined;
  /** Register files saved around callbacks (one per nesting level). */
  readonly saved = new Int32Array(MAX_CALL_FRAMES * 22);
  /** The bytes of each frame's stack region. */
  readonly stacks: Uint8Array[] = [];
  /** All frames' bytes in one array (the stacks are views of it), zeroed in one call before every run. */
  readonly allStacks: Uint8Array;
  /** The same bytes as DataViews (the compiled engine's flat layout reads frame 0's directly). */
  readonly stackViews: DataView[] = [];

  constructor(
    readonly mem: Memory,
    readonly call: HelperCall,
    readonly helpers: HelperRegistry,
    /** Programs of this VM by id (tail-call and frame-return targets). */
    readonly programs: LoadedProgram[],
    /** The 'wasm' engine's linear memory, whose stacks and register file these views then are. */
    readonly wasm: WasmShared | undefined = undefined,
  ) {
    this.allStacks = wasm ? wasm.stacks : new Uint8Array(MAX_CALL_FRAMES * STACK_SIZE);
    this.frames = wasm ? wasm.frames : new Int32Array(MAX_CALL_FRAMES * FRAME_INTS);
    this.lo = call.lo;
    this.hi = call.hi;
    for (let d = 0; d < MAX_CALL_FRAMES; d++) {
      const bytes = this.allStacks.subarray(d * STACK_SIZE, (d + 1) * STACK_SIZE);
      this.stacks.push(bytes);
      this.stackViews.push(new DataView(bytes.buffer, bytes.byteOffset, STACK_SIZE));
      const base = mem.map(bytes, { name: `stack frame ${d}` });
      this.stackBases[d] = base;
      this.stackTops[d] = base + STACK_SIZE;
    }
  }
}
