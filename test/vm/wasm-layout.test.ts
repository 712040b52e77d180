// The WebAssembly module's layout: a program entered only at its start whose blocks form no cycle (a
// filter, even one whose backward jumps reach a shared tail) is entered at block 0 alone and checks the
// budget only where a run starts or a helper returns; a run the check stops goes on in the interpreter,
// so every budget — including one a helper's byte charge exhausts — stops at the same pc, with the same
// message and count, as on the other engines. Programs with loops keep the per-block check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, Vm, type EngineKind } from '../../src/vm/interpreter.js';
import { VmError } from '../../src/vm/vm-error.js';
import { compileToWasm } from '../../src/vm/wasm/compile.js';
import type { HelperCall } from '../../src/vm/helper-abi.js';
import { asm, type Outcome } from './support.js';

/** Helper 6: charges r1 bytes of work to the budget, then returns 7. */
const CHARGE = 6;

function runWith(engine: EngineKind, text: string, budget?: number): Outcome {
  const vm = new Vm({ engine, ...(budget === undefined ? {} : { budget }) });
  vm.helpers.registerAll([
    [
      CHARGE,
      'charge',
      (c: HelperCall) => {
        c.chargeBytes(c.argNumber(1));
        c.ret(7);
      },
    ],
  ]);
  try {
    const p = vm.load(asm(text), { name: 't' });
    const r = vm.runOnMemory(p, new Uint8Array(0));
    return { r0: r.r0, instructions: r.instructions };
  } catch (err) {
    if (err instanceof VmError) return { error: err };
    throw err;
  }
}

/** Every engine at every budget up to a whole run and one past it: the same outcome. */
function sweep(text: string): Outcome {
  const whole = runWith('interpreter', text);
  assert.ok('instructions' in whole, 'the program runs to its end with the default budget');
  for (let budget = 1; budget <= whole.instructions + 1; budget++) {
    const ref = runWith('interpreter', text, budget);
    for (const engine of ENGINES) {
      const out = runWith(engine, text, budget);
      if ('error' in ref) {
        assert.ok('error' in out, `${engine}, budget ${budget}: expected ${ref.error.message}`);
        assert.equal(out.error.message, ref.error.message, `${engine}, budget ${budget}`);
        assert.equal(out.error.pc, ref.error.pc, `${engine}, budget ${budget}`);
      } else assert.deepEqual(out, ref, `${engine}, budget ${budget}`);
    }
  }
  return whole;
}

// A shared tail before the code that jumps back to it (as clang lays out merged returns), a helper that
// charges 640 bytes (10 instructions) in between.
const SHARED_TAIL = (r6: number) => `
mov %r0, 0
mov %r6, ${r6}
ja start
tail:
add %r0, 100
add %r0, %r6
exit
start:
mov %r1, 640
call ${CHARGE}
add %r0, 1
jgt %r6, 3, tail
add %r0, 2
mov %r1, 128
call ${CHARGE}
add %r0, %r6
exit`;

test('wasm layout: a filter whose backward jump reaches a shared tail is entered at its start only', () => {
  const vm = new Vm({ engine: 'wasm' });
  vm.helpers.registerAll([[CHARGE, 'charge', (c: HelperCall) => c.ret(7)]]);
  const p = vm.load(asm(SHARED_TAIL(5)), { name: 't' });
  const w = compileToWasm(p);
  assert.ok(typeof w !== 'string', 'compiled');
  const entries = [...w.blockOf.entries()].filter(([, k]) => k >= 0);
  assert.deepEqual(entries, [[0, 0]], 'JavaScript enters at pc 0 only (the tail at pc 3 goes to the interpreter)');
});

test('wasm layout: every budget on a shared-tail filter with charging helpers stops where the interpreter does', () => {
  assert.deepEqual(sweep(SHARED_TAIL(5)), { r0: 113n, instructions: 10 + 10 });
  assert.deepEqual(sweep(SHARED_TAIL(2)), { r0: 9n, instructions: 14 + 10 });
});

test('wasm layout: a loop keeps the per-block budget check', () => {
  const loop = `
mov %r0, 0
mov %r6, 0
again:
mov %r1, 64
call ${CHARGE}
add %r6, 1
jlt %r6, 3, again
mov %r0, %r6
exit`;
  assert.deepEqual(sweep(loop), { r0: 3n, instructions: 2 + 3 * (4 + 1) + 2 });
  const vm = new Vm({ engine: 'wasm' });
  vm.helpers.registerAll([[CHARGE, 'charge', (c: HelperCall) => c.ret(7)]]);
  const p = vm.load(asm(loop), { name: 't' });
  const w = compileToWasm(p);
  assert.ok(typeof w !== 'string', 'compiled');
  assert.ok((w.blockOf[2] as number) > 0, 'the loop head is an entry of the dispatch');
});
