/**
 * What every step of stage 2 shares: the program, its type, its maps, the id counter, and the deepest
 * stack each subprogram was seen to use.
 */
import type { Btf } from '../btf/index.js';
import type { Instruction } from '../isa/instruction.js';
import type { GlobalFunc } from './btf-funcs.js';
import type { TpBtf } from './btf-ptr.js';
import type { Cfg } from './cfg.js';
import type { Fastcall } from './fastcall.js';
import type { Precision } from './precision.js';
import type { StructOps } from './struct-ops.js';
import type { State, VerifierMap } from './state.js';

/** The verifier's context for one program. */
export interface Env {
  insns: readonly Instruction[];
  cfg: Cfg;
  progType: number;
  /**
   * The running kernel's BTF, when given (VerifyOptions.kernelBtf): kfunc calls are checked by it, and it
   * types netfilter programs' context pointers (netfilter.ts).
   */
  kernelBtf?: Btf;
  /** The program's own BTF (its object's .BTF), which bpf_obj_new's local type ids name (graph.ts). */
  progBtf?: Btf;
  /** tp_btf programs (BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP): the tracepoint and the kernel's BTF. */
  tpBtf?: TpBtf;
  /** struct_ops programs: the struct and member served, and its struct_ops type's rules (struct-ops.ts). */
  structOps?: StructOps;
  /** The expected attach type given at load (cgroup_skb egress may return more verdicts), if any. */
  attachType?: number;
  /** BPF_F_SLEEPABLE: the program runs outside an RCU read section (VerifyOptions.sleepable). */
  sleepable: boolean;
  /** BPF_F_STRICT_ALIGNMENT: every access aligned to its size (align.ts). */
  strictAlignment?: boolean;
  /** The program's license is GPL-compatible: it may call GPL-restricted helpers (VerifyOptions.license). */
  gplCompatible: boolean;
  /** First slots of the subprograms run as timer callbacks (timer.ts): their stacks count on their own. */
  asyncCallbacks?: Set<number>;
  /** First slots of the subprograms walked as callbacks of a helper (the kernel's is_cb; throw.ts). */
  callbacks?: Set<number>;
  /** First slot of the exception callback the program names (throw.ts), if any. */
  exceptionCallback?: number;
  /** The target kernel's helper availability beyond upstream's tables (VerifyOptions.helperAvailable). */
  helperAvailable?: (type: number, id: number) => boolean;
  /** Maps by the number a `lddw` names them with (imm). */
  maps: ReadonlyMap<number, VerifierMap>;
  /** Next id for null checks, packet pointers, linked scalars and references. */
  nextId: number;
  /** Deepest stack use (bytes, positive) per subprogram, by its first slot. */
  stackDepth: Map<number, number>;
  /** bpf_fastcall spill/fill patterns, when the program has any (fastcall.ts). */
  fastcall?: Fastcall;
  /** Is BTF func_info given with the program (callbacks need it)? */
  funcInfo: boolean;
  /** Global functions by first slot: verified alone, once, after the entry (BTF func_info linkage). */
  globals: ReadonlyMap<number, GlobalFunc>;
  /** Global functions a verified path calls, in the order first called (to verify next). */
  called: Set<number>;
  /** First slot of the function being verified on its own (0: the program's entry). */
  entry: number;
  /** The running walk's precision tracker: instructions that rely on a scalar's exact value tell it. */
  precision?: Precision;
  /**
   * At a may_goto: the state the same loop remembered there one iteration up (find_prev_entry), if any,
   * set by the walk just before the step.
   */
  loopEntry?: State;
  /**
   * Stack slot `k` of frame `frame` was read (the walk marks it read in the remembered states above,
   * mark_reg_read), or written whole (a full 8-byte store: reads after it do not reach those states).
   */
  stackRead?: (frame: number, k: number) => void;
  stackWrite?: (frame: number, k: number) => void;
  /** The pointer kind each load/store instruction met first (save_aux_ptr_type). */
  ptrKindAt?: Map<number, string>;
  /** Per subprogram (by first slot): does it, or a function it calls, call a helper that moves packet data? */
  changesPacket?: Map<number, boolean>;
  /** Set once a bpf_dynptr_slice result with a stack buffer was made: stack writes check it (dynptr-slice.ts). */
  sliceBuffers?: boolean;
  /** 1 at the slots whose reserved fields were checked already (fieldFault is pure; a loop walks a slot often). */
  fieldsChecked: Uint8Array;
}

/** A fresh id. */
export const newId = (env: Env): number => ++env.nextId;
