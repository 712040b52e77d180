/**
 * The engine-neutral contract: the interfaces both engines implement, their load options, the spec checks
 * both make, and the kernel's enums for map and program types, since both engines speak them.
 * `loadCollection`, which picks an engine, lives one floor up in src/loader (it imports both engines, which
 * import this folder); the package's `bpfkit/engine` entry is src/loader/index.ts, which re-exports all of this.
 *
 * @module
 */
export type { Collection, Program, BpfMap, RunOptions, RunResult, EngineName } from './types.js';
export type {
  LoadOptions,
  VmLoadOptions,
  KernelLoadOptions,
  HostConfig,
  VmExecution,
  VerifyLoadOptions,
} from './options.js';
export { validateSpec, SpecError } from './validate-spec.js';
export { MapError, Errno, errnoName, type ErrnoName } from './errors.js';
export { MapType, ProgType, AttachType, UpdateFlag, MapFlag, nameOf } from '../uapi/types.js';
