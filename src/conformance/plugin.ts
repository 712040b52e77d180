/**
 * What `bpfkit conformance-plugin` runs for the public bpf_conformance runner: one program (bytecode) on
 * one input memory, in a VM with the suite's test helpers, giving r0.
 */
import { decodeProgram } from '../isa/index.js';
import { Vm, type EngineKind } from '../vm/interpreter.js';
import { registerTestHelpers } from './test-helpers.js';

/** Run little-endian `bytecode` with r1/r2 = `mem` and its length; r0 at exit (VmError when it faults). */
export function runPluginProgram(bytecode: Uint8Array, mem: Uint8Array, engine: EngineKind): bigint {
  const vm = new Vm({ engine });
  registerTestHelpers(vm.helpers);
  const prog = vm.load(decodeProgram(bytecode, { source: 'program' }), { name: 'program' });
  return vm.runOnMemory(prog, mem).r0;
}
