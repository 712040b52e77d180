/**
 * The engine-neutral API (`bpfkit/engine`): load an `ObjectSpec` into the userspace VM or the Linux kernel
 * with {@link loadCollection} and use its programs and maps through one interface, whichever engine runs
 * them. This folder sits above both engines (they import src/engine, never each other or this), so the
 * entry point is here and re-exports the contract of src/engine.
 *
 * @module bpfkit/engine
 */
export { loadCollection } from './load-collection.js';
export { applyCore, targetBtf, KERNEL_BTF_PATH } from './core.js';
export * from '../engine/index.js';
