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
import { Fn } from '../../src/vm/wasm/body.js';
import * as W from '../../src/vm/wasm/opcodes.js';
import type { HelperCall } from '../../src/vm/helper-abi.js';
import { asm, lebReader, wasmBodies, type Outcome } from './support.js';

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

/**
 * The deepest nesting of `block`/`loop`/`if` in the module's `func`-th own function (its body walked
 * instruction by instruction: only the opcodes the program function holds).
 */
function nestingDepth(bytes: Uint8Array, func: number): number {
  const body = wasmBodies(bytes)[func];
  if (!body) throw new Error(`no function ${func}`);
  const r = lebReader(body);
  const leb = () => r.next();
  let depth = 0;
  let deepest = 0;
  while (r.at < body.length) {
    const op = body[r.at++] as number;
    if (op === W.BLOCK || op === W.LOOP || op === W.IF) {
      r.at++; // (block type)
      deepest = Math.max(deepest, ++depth);
    } else if (op === W.END) depth--;
    else if (op === W.BR_TABLE) for (let n = leb(); n >= 0; n--) leb();
    else if (op === W.CALL_INDIRECT || op === W.RETURN_CALL_INDIRECT || (op >= W.I32_LOAD && op <= W.I64_STORE32)) {
      leb();
      leb();
    } else if (
      [W.BR, W.BR_IF, W.CALL, W.I32_CONST, W.I64_CONST].includes(op) ||
      (op >= W.LOCAL_GET && op <= W.GLOBAL_SET)
    )
      leb();
  }
  assert.equal(depth, -1, 'the function ends where it began');
  return deepest;
}

/** Index of the program function among the module's own functions (body.ts Fn: after the imports). */
const PROGRAM_FUNC = Fn.Program - Fn.Run;

// 100 diamonds of forward jumps (the compile bench's shape): ~300 blocks, each a label before this layout
// opened it where the first jump to it is; every label used to open at the function's top.
function diamonds(n: number): string {
  const lines = ['mov %r0, 0', 'mov %r6, 7'];
  for (let i = 0; i < n; i++)
    lines.push(`add %r6, ${i}`, `jgt %r6, ${50 * i}, +2`, 'lsh %r6, 1', 'xor %r0, %r6', 'add %r0, %r6');
  lines.push('exit');
  return lines.join('\n');
}

test('wasm layout: a label opens at the first jump to it, so 100 forward diamonds nest a few levels, not 300', () => {
  const vm = new Vm({ engine: 'wasm' });
  const p = vm.load(asm(diamonds(100)), { name: 't' });
  const w = compileToWasm(p);
  assert.ok(typeof w !== 'string', 'compiled');
  const deepest = nestingDepth(w.bytes, PROGRAM_FUNC);
  assert.ok(deepest <= 8, `the program function nests ${deepest} deep`);
  for (const engine of ENGINES) assert.deepEqual(runWith(engine, diamonds(100)), runWith('interpreter', diamonds(100)));
});

// Forward jumps whose spans cross (A to C, B to D, A < B < C < D) and one past both: C's label must open
// no later than A, D's no later than B, and the two must nest, so one of them opens earlier than its jump.
const CROSSING = (r6: number) => `
mov %r0, 0
mov %r6, ${r6}
jeq %r6, 1, c
add %r0, 1
jeq %r6, 2, d
add %r0, 2
jeq %r6, 4, e
c:
add %r0, 4
jeq %r6, 3, e
add %r0, 8
d:
add %r0, 16
e:
add %r0, 32
exit`;

test('wasm layout: crossing forward jumps reach their targets at every budget', () => {
  const expected = [63, 60, 49, 39, 35];
  for (let r6 = 0; r6 <= 4; r6++) {
    const out = sweep(CROSSING(r6));
    assert.ok('r0' in out && out.r0 === BigInt(expected[r6] as number), `r6 = ${r6}`);
  }
});

test('wasm layout: entry blocks of a program with a loop and a local call keep their labels around the dispatch', () => {
  // (backward jumps and the return from a local call enter through the br_table; forward jumps cross them)
  const text = `
mov %r0, 0
mov %r6, 0
again:
add %r6, 1
jeq %r6, 2, skip
call sub
add %r0, %r6
skip:
jlt %r6, 4, again
jgt %r0, 100, out
add %r0, 1000
out:
exit
sub:
mov %r0, 5
exit`;
  const out = sweep(text);
  assert.ok('r0' in out && out.r0 === 1009n, 'r0: the last return value, then the loop count, then 1000');
});
