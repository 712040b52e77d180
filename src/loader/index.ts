/** Loading an ObjectSpec into either engine, and the options that go with it. */
export { loadCollection } from './load-collection.js';
export type { LoadOptions, VmLoadOptions, KernelLoadOptions, HostConfig, VmExecution } from '../engine/options.js';
export { validateSpec, SpecError } from '../engine/validate-spec.js';
