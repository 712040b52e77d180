// Shared by the VM tests: assemble conformance-syntax text and run it on every engine.
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import type { Instruction } from '../../src/isa/index.js';
import { ENGINES, Vm, type EngineKind, type VmOptions } from '../../src/vm/interpreter.js';
import { VmError } from '../../src/vm/vm-error.js';
import { registerTestHelpers } from '../../src/conformance/test-helpers.js';

export function asm(text: string): Instruction[] {
  return assemble(text, { syntax: 'conformance', source: 'test' });
}

export type Outcome = { r0: bigint; instructions: number } | { error: VmError };

/** Run on a fresh VM of the given engine (with the test helpers); returns r0 or the VmError. */
export function runOn(
  engine: EngineKind,
  text: string | Instruction[],
  mem = new Uint8Array(0),
  opts: VmOptions = {},
): Outcome {
  const vm = new Vm({ ...opts, engine });
  registerTestHelpers(vm.helpers);
  try {
    const p = vm.load(typeof text === 'string' ? asm(text) : text, { name: 't' });
    const r = vm.runOnMemory(p, mem);
    return { r0: r.r0, instructions: r.instructions };
  } catch (err) {
    if (err instanceof VmError) return { error: err };
    throw err;
  }
}

/** Both engines must agree; returns the (common) outcome. */
export function runAll(text: string | Instruction[], mem = new Uint8Array(0), opts: VmOptions = {}): Outcome {
  const outs = ENGINES.map((e) => runOn(e, text, mem, opts));
  const [first, ...rest] = outs as [Outcome, ...Outcome[]];
  for (const o of rest) {
    if ('error' in first) {
      assert.ok('error' in o, `engines disagree: ${first.error.message} vs ${'r0' in o ? o.r0 : ''}`);
      assert.equal(o.error.message, first.error.message);
    } else assert.deepEqual(o, first);
  }
  return first;
}

export function r0Of(o: Outcome): bigint {
  if ('error' in o) throw o.error;
  return o.r0;
}

export function errorOf(o: Outcome): VmError {
  assert.ok('error' in o, `expected an error, got r0 = ${'r0' in o ? o.r0 : ''}`);
  return o.error;
}
