/**
 * The engine-neutral API (`bpfkit/engine`): load an `ObjectSpec` into the userspace VM or the Linux
 * kernel with {@link loadCollection} and use its programs and maps through one interface, whichever engine
 * runs them. The kernel's enums for map and program types live here too, since both engines speak them.
 *
 * @module bpfkit/engine
 */
export { loadCollection, type LoadOptions } from './load.js';
export type { Collection, Program, BpfMap, RunOptions, RunResult, EngineName } from './types.js';
export { MapError, Errno, errnoName, type ErrnoName } from './errors.js';
export { MapType, ProgType, AttachType, UpdateFlag, MapFlag, nameOf } from '../uapi/types.js';
