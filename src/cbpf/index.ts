/**
 * Classic BPF (`bpfkit/cbpf`): the `struct sock_filter` model and its binary layout, Linux's ancillary
 * loads, the kernel's checker, an interpreter with the kernel's semantics, conversion to eBPF, and the
 * text forms people exchange programs in (tcpdump -d/-dd/-ddd, tc bytecode, bpf_asm). See docs/cbpf.md.
 *
 * @module bpfkit/cbpf
 */
export * from './insn.js';
export * from './ancillary.js';
export { KERNEL_CLASSIC_OPCODES } from './opcodes.js';
export { encodeClassic, decodeClassic, SOCK_FILTER_SIZE, type ByteOrder } from './codec.js';
export { checkClassic, type CheckFailure, type CheckOptions, type CheckRule } from './check.js';
export { type ClassicContext, type ResolvedContext, resolveContext } from './context.js';
export {
  prepareClassic,
  runClassic,
  runClassicUntil,
  startClassic,
  classicInput,
  type PreparedClassic,
  type ClassicRunResult,
  type ClassicMachine,
  type ClassicInput,
} from './interpret.js';
export { compileClassicToJs, classicJsSource, type ClassicJsFilter, type ClassicJsOptions } from './js-compile.js';
export { ClassicDebugger, type DebugPacket, type PacketLoad, type StopReason } from './debugger.js';
export { convertClassicDirect, type DirectVerdicts } from './convert-direct.js';
export { convertClassic, writeClassicContext, CLASSIC_CTX, CLASSIC_CTX_SIZE } from './convert.js';
export { bpfImage, formatImage } from './image.js';
export {
  parseClassicBpf,
  formatBytecode,
  formatDdd,
  formatDd,
  formatBpfAsmC,
  MAX_CLASSIC_INSNS,
  type ClassicInsn,
} from './numeric-text.js';
export { assembleBpfAsm, BPF_ASM_EXTENSIONS } from './bpf-asm.js';
export { formatBpfAsm } from './bpf-asm-format.js';
export {
  readClassicProgram,
  detectClassicFormat,
  MAX_CLASSIC_INPUT_BYTES,
  type ClassicFormat,
} from './read-program.js';
