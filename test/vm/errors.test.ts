// Every way a run can fail ends in a VmError naming the pc, the instruction and (for memory) the address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asm, errorOf, r0Of, runAll } from './support.js';
import { ENGINES, Vm } from '../../src/vm/interpreter.js';
import { VmError } from '../../src/vm/vm-error.js';
import { makeInsn, assignPcs } from '../../src/isa/index.js';

test('out-of-bounds read names pc, instruction and address', () => {
  const e = errorOf(runAll('mov %r0, 0\nldxw %r0, [%r1+8]\nexit', new Uint8Array(4)));
  assert.equal(e.kind, 'access');
  assert.equal(e.pc, 1);
  assert.match(
    e.message,
    /^t: pc 1 \(r0 = \*\(u32 \*\)\(r1 \+ 8\)\): read of 4 bytes at 0x[0-9a-f]{8} runs past the end of region 'input'/,
  );
  assert.ok(e.address !== undefined && e.message.includes(`0x${e.address.toString(16).padStart(8, '0')}`));
});

test('out-of-bounds write and a write one byte over the end', () => {
  let e = errorOf(runAll('stw [%r1+4], 1\nexit', new Uint8Array(4)));
  assert.equal(e.kind, 'access');
  assert.match(e.message, /write of 4 bytes at 0x[0-9a-f]{8} runs past the end of region 'input'/);
  e = errorOf(runAll('stxdw [%r1-1], %r1\nexit', new Uint8Array(8)));
  assert.match(e.message, /write of 8 bytes at 0x[0-9a-f]{8} is outside every mapped region/);
  assert.equal(r0Of(runAll('stb [%r1+3], 7\nldxb %r0, [%r1+3]\nexit', new Uint8Array(4))), 7n);
});

test('NULL and wild pointers fault', () => {
  let e = errorOf(runAll('mov %r1, 0\nldxb %r0, [%r1+16]\nexit'));
  assert.match(e.message, /read of 1 byte at 0x00000010 is outside every mapped region/);
  e = errorOf(runAll('lddw %r1, 0x100000000\nldxb %r0, [%r1]\nexit'));
  assert.match(e.message, /read of 1 byte at 0x100000000 is outside the 32-bit address space/);
});

test('stack: 512 bytes below r10, overflow below r10-512 faults, nothing at r10', () => {
  assert.equal(r0Of(runAll('stdw [%r10-512], 9\nldxdw %r0, [%r10-512]\nexit')), 9n);
  let e = errorOf(runAll('stw [%r10-516], 1\nexit'));
  assert.equal(e.kind, 'access');
  assert.match(e.message, /pc 0 .*write of 4 bytes at 0x[0-9a-f]{8} is outside every mapped region/);
  e = errorOf(runAll('ldxb %r0, [%r10]\nexit'));
  assert.match(e.message, /runs past the end of region 'stack frame 0'/);
});

test('stacks are zeroed between runs', () => {
  for (const engine of ENGINES) {
    const vm = new Vm({ engine });
    const p = vm.load(asm('ldxdw %r0, [%r10-8]\nstdw [%r10-8], 77\nexit'));
    assert.equal(vm.run(p).r0, 0n);
    assert.equal(vm.run(p).r0, 0n);
  }
});

test('call depth: 8 frames work, the 9th faults', () => {
  // f(n): if n == 0 return 0; return f(n-1) + 1 — main + f(n)..f(0) = n + 2 frames
  const prog = (n: number) =>
    `mov %r1, ${n}\ncall local f\nexit\nf:\njeq %r1, 0, done\nsub %r1, 1\ncall local f\nadd %r0, 1\nexit\ndone:\nmov %r0, 0\nexit`;
  assert.equal(r0Of(runAll(prog(6))), 6n);
  const e = errorOf(runAll(prog(7)));
  assert.equal(e.kind, 'call-depth');
  assert.match(e.message, /^t: pc 5 \(call pc-3\): call depth exceeds 8 frames$/);
});

test('local calls: each frame has its own stack; r6-r9 and r10 restored', () => {
  const r = runAll(`
mov %r6, 6
stdw [%r10-8], 1
call local f
ldxdw %r1, [%r10-8]
add %r0, %r1
add %r0, %r6
exit
f:
stdw [%r10-8], 100
mov %r6, 1000
ldxdw %r0, [%r10-8]
exit`);
  assert.equal(r0Of(r), 107n);
});

test('budget: ja -1 ends with a budget error; the count is exact on both engines', () => {
  let e = errorOf(runAll('ja -1\nexit'));
  assert.equal(e.kind, 'budget');
  assert.match(e.message, /pc 0 \(goto -1\): instruction budget of 1000000 executed instructions exhausted/);
  e = errorOf(runAll('ja -1\nexit', undefined, { budget: 50 }));
  assert.match(e.message, /budget of 50/);
  // 4 instructions: exactly enough with a budget of 4, one short with 3
  const four = 'mov %r0, 1\nadd %r0, 1\nadd %r0, 1\nexit';
  const ok = runAll(four, undefined, { budget: 4 });
  assert.deepEqual(ok, { r0: 3n, instructions: 4 });
  e = errorOf(runAll(four, undefined, { budget: 3 }));
  assert.equal(e.kind, 'budget');
  assert.equal(e.pc, 3);
  // loops count every executed instruction
  const loop = runAll('mov %r0, 0\nl:\nadd %r0, 1\njlt %r0, 10, l\nexit');
  assert.deepEqual(loop, { r0: 10n, instructions: 1 + 20 + 1 });
});

test('load errors: jump into lddw, out of range, unknown opcode, r10 writes, unknown helper, pseudo lddw', () => {
  const load = (insns: ReturnType<typeof asm>, opts = {}) => {
    try {
      new Vm().load(insns, { name: 'bad', ...opts });
    } catch (err) {
      assert.ok(err instanceof VmError);
      assert.equal(err.kind, 'load');
      return err.message;
    }
    assert.fail('load accepted the program');
  };
  assert.match(
    load(asm('ja +1\nlddw %r0, 5\nexit')),
    /^bad: pc 0 \(goto \+1\): jump target 2 is the second half of an lddw/,
  );
  assert.match(load(asm('ja +5\nexit')), /pc 0 .*jump target 6 is outside the program/);
  assert.match(load(assignPcs([makeInsn({ code: 0xff }), makeInsn({ code: 0x95 })])), /pc 0 .*unknown opcode 0xff/);
  assert.match(load(asm('mov %r10, 1\nexit')), /pc 0 .*r10 \(the frame pointer\) is read-only/);
  assert.match(load(asm('call 99\nexit')), /pc 0 .*bpf_skc_lookup_tcp \(99\) is not registered in this VM/);
  assert.match(
    load(assignPcs([makeInsn({ code: 0x18, src: 1, imm: 3 }), makeInsn({ code: 0x95 })])),
    /lddw with pseudo source 1 is not resolved/,
  );
  assert.match(
    load(assignPcs([makeInsn({ code: 0xb7, dst: 11 }), makeInsn({ code: 0x95 })])),
    /invalid destination register r11/,
  );
  assert.match(load([]), /empty program/);
  // resolvePseudo supplies the value
  for (const engine of ENGINES) {
    const vm = new Vm({ engine });
    const p = vm.load(assignPcs([makeInsn({ code: 0x18, src: 2, imm: 3 }), makeInsn({ code: 0x95 })]), {
      resolvePseudo: () => [0x1234, 1],
    });
    assert.equal(vm.run(p).r0, 0x1_0000_1234n);
  }
});

test('falling off the end of the program is an error', () => {
  const e = errorOf(runAll('mov %r0, 1\nmov %r0, 2'));
  assert.equal(e.kind, 'fall-through');
  assert.match(e.message, /ran off the end of the program/);
});

test('callx with an unknown helper number and a wild value', () => {
  let e = errorOf(runAll('mov %r2, 77\ncall %r2\nexit'));
  assert.equal(e.kind, 'helper');
  assert.match(e.message, /pc 1 .*bpf_rc_repeat \(77\) is not registered/);
  e = errorOf(runAll('lddw %r2, 0x100000005\ncall %r2\nexit'));
  assert.equal(e.kind, 'helper');
});

test('helper faults and helper exceptions become VmErrors with the pc', () => {
  // memfrob (1) over more bytes than the input has
  const e = errorOf(runAll('mov %r2, 64\ncall 1\nexit', new Uint8Array(8)));
  assert.equal(e.kind, 'access');
  assert.equal(e.pc, 1);
  for (const engine of ENGINES) {
    const vm = new Vm({ engine });
    vm.helpers.register(7, 'explode', () => {
      throw new TypeError('boom');
    });
    const p = vm.load(asm('mov %r0, 0\ncall 7\nexit'));
    assert.throws(
      () => vm.run(p),
      (err: unknown) =>
        err instanceof VmError && err.kind === 'helper' && /pc 1 .*helper explode \(7\) failed: boom/.test(err.message),
    );
  }
  // unwind(0) stops the program with r0 = 0, even from a subprogram
  assert.equal(r0Of(runAll('mov %r1, 0\ncall 5\nmov %r0, 9\nexit')), 0n);
  assert.equal(r0Of(runAll('call local f\nmov %r0, 9\nexit\nf:\nmov %r1, 0\ncall 5\nmov %r0, 3\nexit')), 0n);
  assert.equal(r0Of(runAll('mov %r1, 4\ncall 5\nadd %r0, 1\nexit')), 5n);
});
