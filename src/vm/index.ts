/**
 * The userspace engine (`bpfkit/vm`): an eBPF virtual machine that behaves like the Linux kernel.
 *
 * Two levels: {@link Vm} runs raw instructions on memory you map into it (docs/vm.md), and
 * {@link loadVmCollection} loads a whole object with maps, kernel helpers and packet contexts (docs/programs.md);
 * the engine-neutral `loadCollection(spec, { engine: 'vm' })` of `bpfkit/engine` returns the same collection.
 * Nothing here needs Node: the same modules run in a browser ({@link configureVmHost} and docs/vm.md).
 *
 * @module bpfkit/vm
 */
export {
  Vm,
  VmRunResult,
  ENGINES,
  DEFAULT_BUDGET,
  type EngineKind,
  type VmOptions,
  type VmRunOptions,
  type LdAbsPacket,
} from './interpreter.js';
export { LoadedProgram, type LoadOptions as ProgramLoadOptions } from './interpreter-program.js';
export {
  loadVmCollection,
  VmCollection,
  VmProgram,
  type PacketResult,
  type VmLoadOptions,
  type VmRunResult as VmProgramRunResult,
} from './collection.js';
export { VmError, type VmErrorKind } from './vm-error.js';
export { Memory, PAGE_SIZE, GUARD_GAP, type Region, type RegionOptions, type MemoryView } from './memory.js';
export { HelperRegistry, HelperCall, type Helper, type HelperFn, type ProgramRef } from './helper-abi.js';
export { HELPERS, helperName, type HelperDef, type HelperScope } from './helpers/index.js';
export { VmMap } from './maps/index.js';
export type { HostConfig, Verdict } from './contexts/run-context.js';
export { configureVmHost, type VmHostEnvironment } from './host-environment.js';
export type { ModuleCache } from './wasm/module-cache.js';
