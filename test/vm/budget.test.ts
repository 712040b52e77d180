// The instruction budget is exact on every engine: the interpreter pays for straight runs of instructions
// where it enters them and fuses `add` with a following jump, yet must stop at the very instruction the
// budget runs out on, and count what ran, as the engines that pay per instruction do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runAll, runOn } from './support.js';
import { loadCollection, loadObjectFile } from '../../src/index.js';
import { repoPath } from '../support/env.js';

const LOOP = `
mov %r0, 0
mov %r6, 0
lddw %r2, 0x123456789
loop:
add %r0, %r6
rsh %r2, 1
lsh %r2, 33
arsh %r2, 0
mov %r1, %r6
call local f
call 2
add %r6, 1
jlt %r6, 4, loop
add %r6, 1
jlt %r6, 8, loop
exit
f:
mov %r3, %r1
add %r3, 7
mov %r0, %r3
exit`;

test('budget: every budget up to a whole run stops at the same pc with the same message on every engine', () => {
  const whole = runOn('interpreter', LOOP);
  assert.ok('instructions' in whole, 'the program runs to its end with the default budget');
  for (let budget = 1; budget <= whole.instructions + 1; budget++) {
    const out = runAll(LOOP, new Uint8Array(0), { budget });
    if (budget < whole.instructions) {
      assert.ok('error' in out, `budget ${budget}: expected the budget to run out`);
      assert.match(out.error.message, new RegExp(`instruction budget of ${budget} `));
    } else assert.deepEqual(out, whole, `budget ${budget}`);
  }
});

test('budget: a run that falls off the end reports the fall-through whatever budget is left', () => {
  for (const budget of [1, 2, 3, 4, 100])
    assert.match(
      (runAll('mov %r0, 1\nadd %r0, 1\nadd %r0, 1', new Uint8Array(0), { budget }) as { error: Error }).error
        ?.message ?? '',
      budget <= 3 ? /instruction budget|ran off the end/ : /ran off the end/,
    );
});

test('vm.budget and vm.cpus of 0 or a fraction are refused in one line, not replaced by the default', async () => {
  const spec = loadObjectFile(repoPath('examples/proto-count/proto-count.o'));
  for (const [vm, said] of [
    [{ budget: 0 }, 'vm.budget must be a whole number above 0 (got 0)'],
    [{ budget: 2.5 }, 'vm.budget must be a whole number above 0 (got 2.5)'],
    [{ cpus: 0 }, 'vm.cpus must be a whole number above 0 (got 0)'],
  ] as const)
    await assert.rejects(loadCollection(spec, { engine: 'vm', vm }), (e: Error & { exitCode?: number }) => {
      assert.equal(e.message, said);
      assert.equal(e.exitCode, 2);
      return true;
    });
  const c = await loadCollection(spec, { engine: 'vm', vm: { budget: 5, cpus: 1 } });
  c.close();
});
