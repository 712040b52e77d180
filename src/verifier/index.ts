/**
 * `bpfkit/verifier`: predict the kernel verifier's verdict before loading, on any OS. Stage 1 checks the
 * control flow (subprograms, jump ranges, unreachable code, exits); stage 2 walks every path with the
 * kernel's register types, scalar bounds, stack slots, packet range proofs, helper prototypes and
 * context rules, and answers in the kernel's words. What is and is not modelled: docs/verifier.md.
 *
 * @module
 */
export {
  verifyInstructions,
  verifyProgram,
  verifyObject,
  verifierMap,
  resolveMaps,
  ProgramRefusedError,
  type VerifyOptions,
  type VerifyResult,
} from './verify.js';
export type {
  VerifierMap,
  State,
  HeldLock,
  Frame,
  Reg,
  AddConst,
  RegKind,
  AllocPtr,
  BtfPtr,
  Slot,
  IterSlot,
  DynptrSlot,
  DynptrSlice,
  ByteType,
} from './state.js';
export type { Scalar } from './scalar.js';
export type { Tnum } from './tnum.js';
export { kernelStateText, kernelRegText, type LogLine } from './log-format.js';
export { kernelInsnText, type InsnNames } from './kernel-insn.js';
export type { GlobalFunc, GlobalArg } from './btf-funcs.js';
export type { TrustedArg } from './trusted-args.js';
export type { KsymFound } from './ksyms.js';
export type { KernelField } from './btf-fields.js';
export type { WalkStats } from './walk.js';
export { INSN_LIMIT } from './walk.js';
