// VmStepper: a program stepped one instruction at a time ends with the r0 and the instruction count
// Vm.run gives, through local calls and loops, and a fault ends the run with Vm.run's kind of error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { Vm, VmError } from '../../src/vm/index.js';
import { VmStepper } from '../../src/vm/stepper.js';

const PROGRAMS = [
  // a loop summing 1..20 on the stack, then a local call doubling the sum
  `r1 = 0
   *(u64 *)(r10 - 8) = r1
   r2 = 20
loop:
   r1 = *(u64 *)(r10 - 8)
   r1 += r2
   *(u64 *)(r10 - 8) = r1
   r2 -= 1
   if r2 != 0 goto loop
   r1 = *(u64 *)(r10 - 8)
   call double
   exit
double:
   r0 = r1
   r0 += r1
   exit`,
  'r0 = 7\nr0 <<= 40\nr0 |= 5\nexit',
];

test('stepping to the end gives Vm.run r0 and instruction count', () => {
  for (const text of PROGRAMS) {
    const vm = new Vm({ engine: 'interpreter' });
    const prog = vm.load(assemble(text), { name: 'p' });
    const want = vm.run(prog);
    const s = new VmStepper(vm, prog);
    let steps = 0;
    while (s.step()) steps++;
    assert.equal(s.register(0), want.r0, text);
    assert.equal(s.executed, want.instructions, text);
    assert.equal(steps + 1, want.instructions);
    assert.equal(s.step(), false, 'a finished run stays finished');
    s.close();
  }
});

test('the stack and depth are visible between steps; a fault throws a VmError and ends the run', () => {
  const vm = new Vm({ engine: 'interpreter' });
  const prog = vm.load(assemble(PROGRAMS[0]!), { name: 'p' });
  const s = new VmStepper(vm, prog);
  s.step();
  s.step();
  assert.equal(s.pc, 2);
  assert.equal(s.stack().length, 512);
  s.close();
  const bad = vm.load(assemble('r1 = 0\nr0 = *(u64 *)(r1 + 0)\nexit'), { name: 'bad' });
  const b = new VmStepper(vm, bad);
  assert.equal(b.step(), true);
  assert.throws(() => b.step(), VmError);
  assert.equal(b.done, true);
  b.close();
});
