/**
 * bpfkit — eBPF for TypeScript. The everyday API in one import:
 *
 * ```ts
 * import { loadObjectFile, loadCollection, assemble, disassemble, readCapture } from 'bpfkit';
 * ```
 *
 * Each area has its own entry point with its whole public API: `bpfkit/isa`, `bpfkit/asm`, `bpfkit/elf`,
 * `bpfkit/engine`, `bpfkit/vm`, `bpfkit/kernel`, `bpfkit/packet` and `bpfkit/http`. Importing this root
 * entry never loads koffi: the kernel engine is loaded only when `loadCollection` is asked for it.
 *
 * @module bpfkit
 */
export {
  parseObject,
  loadObjectFile,
  type ParseObjectOptions,
  type ParsedObject,
  type ObjectSpec,
  type ProgramSpec,
  type MapSpec,
} from './elf/index.js';
export {
  loadCollection,
  validateSpec,
  SpecError,
  type LoadOptions,
  type Collection,
  type Program,
  type BpfMap,
  type RunOptions,
  type RunResult,
  type EngineName,
} from './loader/index.js';
export { MapError, MapType, ProgType, AttachType, UpdateFlag, MapFlag } from './loader/index.js';
export {
  assemble,
  disassemble,
  type AssembleOptions,
  type AsmSyntax,
  type DisassembleOptions,
  type DisasmSyntax,
} from './asm/index.js';
export { decodeProgram, encodeProgram, type Instruction, type Endian } from './isa/index.js';
export {
  readCapture,
  openCapture,
  createCaptureWriter,
  PacketView,
  type Capture,
  type Packet,
  type CaptureReader,
  type CaptureWriter,
} from './packet/index.js';
export { BpfkitError, UsageError, InputError, EnvironmentError } from './util/errors.js';
