// The extension contract (docs/vm.md): memory regions, the helper ABI, tail calls, LD_ABS/LD_IND.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asm } from './support.js';
import { ENGINES, Vm, type EngineKind } from '../../src/vm/interpreter.js';
import { FIRST_BASE, GUARD_GAP, PAGE_SIZE } from '../../src/vm/memory.js';
import { LoadedProgram } from '../../src/vm/interpreter-program.js';
import { VmError } from '../../src/vm/vm-error.js';

const fails = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof VmError && re.test(e.message), `expected VmError matching ${re}`);

test('memory: bases are page aligned, above 1 MiB, with guard gaps; view/read/write are bounds-checked', () => {
  const vm = new Vm();
  const a = vm.memory.map(new Uint8Array(10), { name: 'a' });
  const b = vm.memory.map(new Uint8Array(5000), { name: 'b' });
  for (const base of [a, b]) {
    assert.equal(base % PAGE_SIZE, 0);
    assert.ok(base >= FIRST_BASE);
  }
  assert.ok(b >= a + PAGE_SIZE + GUARD_GAP);
  vm.memory.write(a + 8, Uint8Array.from([1, 2]));
  assert.deepEqual([...vm.memory.read(a + 7, 3)], [0, 1, 2]);
  fails(() => vm.memory.read(a + 8, 3), /read of 3 bytes at 0x[0-9a-f]+ runs past the end of region 'a'/);
  fails(() => vm.memory.view(a + 10 + 100, 1, false), /read of 1 byte at 0x[0-9a-f]+ runs past the end of region 'a'/);
  fails(() => vm.memory.view(a + PAGE_SIZE, 1, false), /outside every mapped region/);
  assert.equal(vm.memory.regionAt(b + 4999)?.name, 'b');
  assert.equal(vm.memory.regionAt(b + 5000), undefined);
  vm.memory.unmap(a);
  fails(() => vm.memory.read(a, 1), /outside every mapped region/);
});

for (const engine of ENGINES) {
  test(`memory (${engine}): read-only regions, element strides, replace and unmap as programs see them`, () => {
    const vm = new Vm({ engine });
    const ro = vm.memory.map(Uint8Array.from([5, 0, 0, 0]), { name: 'rodata', writable: false });
    const slab = vm.memory.map(new Uint8Array(3 * 12), { name: 'map values', stride: 12 });
    const p = vm.load(asm('ldxw %r0, [%r1+0]\nexit'));
    const st = vm.load(asm('stw [%r1+0], 1\nexit'));
    assert.equal(vm.run(p, { args: [ro] }).r0, 5n);
    fails(() => vm.run(st, { args: [ro] }), /write of 4 bytes at 0x[0-9a-f]+ is to read-only region 'rodata'/);
    // a pointer into elements carries its element's tag in the upper half (what a lookup returns)
    const tagged = (addr: number, at = addr) => (BigInt(vm.memory.tagOf(addr)) << 32n) | BigInt(at);
    assert.equal(vm.run(p, { args: [tagged(slab + 8)] }).r0, 0n); // last 4 bytes of value 0
    fails(
      () => vm.run(p, { args: [tagged(slab + 10)] }),
      /leaves the element of region .map values. its pointer was derived from \(element size 12\)/,
    );
    assert.equal(vm.run(p, { args: [tagged(slab + 12)] }).r0, 0n);
    // value 0's pointer moved onto value 1, and a pointer without a tag
    fails(() => vm.run(p, { args: [tagged(slab, slab + 12)] }), /leaves the element of region .map values./);
    fails(
      () => vm.run(p, { args: [slab + 12] }),
      /through a pointer not derived from a pointer to one of its elements/,
    );
    // replace: within the reserve the base stays
    const pk = vm.memory.map(Uint8Array.from([1, 0, 0, 0]), { name: 'packet', reserve: 4096 });
    assert.equal(vm.run(p, { args: [pk] }).r0, 1n);
    assert.equal(vm.memory.replace(pk, Uint8Array.from([9, 0, 0, 0, 0, 0, 0, 0])), pk);
    assert.equal(vm.run(p, { args: [pk] }).r0, 9n);
    // beyond the reserve it is mapped afresh (first fit: here the same base, now 10000 bytes long)
    const moved = vm.memory.replace(pk, new Uint8Array(10000));
    assert.equal(vm.run(p, { args: [moved + 9996] }).r0, 0n);
    assert.equal(vm.memory.regionAt(moved)?.size, 10000);
    vm.memory.unmap(moved);
    fails(() => vm.run(p, { args: [moved] }), /outside every mapped region/);
  });

  test(`memory (${engine}): a helper that remaps or unmaps a region mid-run is seen at once`, () => {
    const vm = new Vm({ engine });
    const base = vm.memory.map(Uint8Array.from([5]), { name: 'packet', reserve: 64 });
    vm.helpers.register(20, 'grow', (c) => {
      if (c.argU32(1) === 1) vm.memory.replace(base, Uint8Array.from([9, 9]));
      if (c.argU32(1) === 10) vm.memory.unmap(base);
      c.ret(0);
    });
    const text = (stop: number, first: number) => `
mov %r6, %r1
mov %r8, ${first}
loop:
ldxb %r7, [%r6+0]
add %r8, 1
mov %r1, %r8
call 20
jlt %r8, ${stop}, loop
mov %r0, %r7
exit`;
    assert.equal(vm.run(vm.load(asm(text(2, 0))), { args: [base] }).r0, 9n);
    fails(
      () => vm.run(vm.load(asm(text(12, 8))), { args: [base] }),
      /pc 2 .*read of 1 byte at 0x[0-9a-f]+ is outside every mapped region/,
    );
  });

  test(`memory (${engine}): a 32-bit pointer load from a context is a usable pointer`, () => {
    const vm = new Vm({ engine });
    const pkt = vm.memory.map(Uint8Array.from([0xaa, 0xbb, 0xcc]), { name: 'packet' });
    const ctx = new Uint8Array(16);
    const dv = new DataView(ctx.buffer);
    dv.setUint32(0, pkt, true); // data
    dv.setUint32(4, pkt + 3, true); // data_end
    const ctxBase = vm.memory.map(ctx, { name: 'ctx', writable: false });
    const p = vm.load(
      asm(`
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 3
jgt %r4, %r3, out
ldxb %r0, [%r2+2]
exit
out:
mov %r0, 0
exit`),
    );
    assert.equal(vm.run(p, { args: [ctxBase] }).r0, 0xccn);
  });

  test(`helpers (${engine}): arguments, results, context, program`, () => {
    const vm = new Vm({ engine });
    const seen: unknown[] = [];
    vm.helpers.register(1, 'probe', (c) => {
      seen.push(
        c.argU32(1),
        c.argI32(1),
        c.argHi(1),
        c.argU64(2),
        c.argNumber(3),
        c.argPtr(2),
        c.argPtr(3),
        c.argIsZero(4),
        c.context,
        c.program.name,
        c.pc,
        c.id,
      );
      c.retI32(-2);
    });
    vm.helpers.register(2, 'big', (c) => c.retU64(0x1122334455667788n));
    vm.helpers.register(3, 'num', (c) => c.retNumber(-(2 ** 40)));
    assert.equal(vm.helpers.byName('probe')?.id, 1);
    assert.equal(vm.helpers.get(2)?.name, 'big');
    assert.deepEqual(
      vm.helpers.list().map((h) => h.name),
      ['probe', 'big', 'num'],
    );
    const p = vm.load(asm('lddw %r1, -5\nlddw %r2, 0x100000007\nmov %r3, 1000\nmov %r4, 0\ncall 1\nexit'), {
      name: 'caller',
    });
    const ctx = { verdict: 0 };
    assert.equal(vm.run(p, { context: ctx }).r0, 0xfffffffffffffffen);
    assert.deepEqual(seen, [0xfffffffb, -5, 0xffffffff, 0x100000007n, 1000, -1, 1000, true, ctx, 'caller', 6, 1]);
    assert.equal(vm.run(vm.load(asm('call 2\nexit'))).r0, 0x1122334455667788n);
    assert.equal(vm.run(vm.load(asm('call 3\nexit'))).r0, BigInt.asUintN(64, -(2n ** 40n)));
  });

  test(`tail calls (${engine}): replace the program, keep r1, limit 33, return to a subprogram's caller`, () => {
    const vm = new Vm({ engine });
    const table = new Map<number, LoadedProgram>();
    // helper 12: tail call to program r2 (a made-up table); returns -2 (ENOENT) when it cannot
    vm.helpers.register(12, 'tail_call', (c) => {
      const t = table.get(c.argU32(2));
      if (!t || !c.tailCall(t)) c.retI32(-2);
    });
    const target = vm.load(asm('ldxw %r0, [%r1+0]\nexit'), { name: 'target' });
    table.set(1, target);
    const mem = Uint8Array.from([42, 0, 0, 0]);
    const caller = vm.load(asm('mov %r2, 1\ncall 12\nmov %r0, 99\nexit'), { name: 'caller' });
    assert.equal(vm.runOnMemory(caller, mem).r0, 42n);
    // a missing entry: the helper's error code, the program goes on
    const missing = vm.load(asm('mov %r2, 7\ncall 12\nexit'));
    assert.equal(vm.runOnMemory(missing, mem).r0, 0xfffffffffffffffen);
    // chain limit: a program tail-calling itself, counting runs in memory
    const self = vm.load(
      asm('ldxw %r2, [%r1+0]\nadd %r2, 1\nstxw [%r1+0], %r2\nmov %r2, 2\ncall 12\nldxw %r0, [%r1+0]\nexit'),
      { name: 'self' },
    );
    table.set(2, self);
    const counter = new Uint8Array(4);
    assert.equal(vm.runOnMemory(self, counter).r0, 34n); // the first run + 33 tail calls
    // a tail call inside a subprogram: the target's exit returns to the subprogram's caller
    const five = vm.load(asm('mov %r0, 5\nexit'), { name: 'five' });
    table.set(3, five);
    const sub = vm.load(
      asm(
        'mov %r6, 1000\ncall local f\nadd %r0, 100\nadd %r0, %r6\nexit\nf:\nmov %r6, 0\nmov %r2, 3\ncall 12\nmov %r0, 1\nexit',
      ),
      { name: 'sub' },
    );
    assert.equal(vm.run(sub).r0, 1105n);
    // a target from another VM is refused
    const other = new Vm().load(asm('mov %r0, 1\nexit'));
    table.set(4, other);
    fails(
      () => vm.run(vm.load(asm('mov %r2, 4\ncall 12\nexit'))),
      /tail call target is not a program loaded in this VM/,
    );
  });

  test(`LD_ABS / LD_IND (${engine}): network byte order, out of range ends with r0 = 0, SKF offsets`, () => {
    const vm = new Vm({ engine });
    const bytes = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, 0x45, 0x00]);
    const packet = { bytes, data: 0, end: bytes.length, mac: 0, net: 14 };
    const run = (text: string, args: number[] = []) => vm.run(vm.load(asm(text)), { packet, args }).r0;
    assert.equal(run('ldabsh 12\nexit'), 0x0800n);
    assert.equal(run('ldabsw 12\nexit'), 0x08004500n);
    assert.equal(run('ldabsb 14\nexit'), 0x45n);
    assert.equal(run('mov %r1, 10\nldindh %r1, 2\nexit', []), 0x0800n);
    assert.equal(run('ldabsw 13\nmov %r0, 7\nexit'), 0n); // 13..16 is past the end: program ends, r0 = 0
    assert.equal(run('mov %r1, -20\nldindb %r1, 0\nmov %r0, 7\nexit'), 0n);
    assert.equal(run(`ldabsb ${-0x100000}\nexit`), 0x45n); // SKF_NET_OFF + 0 = net header
    assert.equal(run(`ldabsb ${-0x200000 + 1}\nexit`), 1n); // SKF_LL_OFF + 1
    assert.equal(run(`ldabsb ${-0x200001}\nmov %r0, 3\nexit`), 0n);
    // a subprogram's failed packet load ends the whole program
    assert.equal(run('call local f\nmov %r0, 5\nexit\nf:\nldabsb 100\nexit'), 0n);
    fails(() => vm.run(vm.load(asm('ldabsb 0\nexit'))), /LD_ABS\/LD_IND need a packet/);
  });
}

test('the VM refuses programs of another VM and re-entry from helpers', () => {
  const vm = new Vm();
  const foreign = new Vm().load(asm('exit'));
  fails(() => vm.run(foreign), /was not loaded by this VM/);
  let inner: unknown;
  vm.helpers.register(1, 'reenter', (c) => {
    try {
      vm.run(p);
    } catch (e) {
      inner = e;
    }
    c.ret(0);
  });
  const p = vm.load(asm('call 1\nexit'));
  vm.run(p);
  assert.ok(inner instanceof VmError && /re-enter/.test(inner.message));
});

test('both engines are selectable and unknown ones rejected', () => {
  for (const e of ENGINES) assert.equal(new Vm({ engine: e }).engine, e);
  assert.throws(() => new Vm({ engine: 'warp' as EngineKind }), /unknown VM engine/);
});

for (const engine of ENGINES) {
  test(`callbacks (${engine}): lddw of a function, invoked by a helper like bpf_loop`, () => {
    const vm = new Vm({ engine });
    // 181: loop(nr, callback, ctx): kernel bpf_loop semantics (stop when the callback returns non-zero)
    vm.helpers.register(181, 'loop', (c) => {
      const n = c.argU32(1);
      let i = 0;
      for (; i < n; i++)
        if (c.invoke(c.argI32(2), c.argHi(2) | 0, i, c.argNumber(3)) !== 0) {
          i++;
          break;
        }
      c.ret(i);
    });
    vm.helpers.register(7, 'add7', (c) => c.ret(c.argI32(1) + 7));
    const prog = vm.load(
      asm(`
mov %r1, 10
lddw %r2, 5, func
mov %r6, 1000
call 181
add %r0, %r6
exit
mov %r0, 0
jne %r1, 5, +1
mov %r0, 1
exit`),
    );
    const r = vm.run(prog);
    assert.equal(r.r0, 1006n); // 6 iterations (0..5, stopped at 5) + r6 preserved
    const r2 = vm.run(prog);
    assert.equal(r2.instructions, r.instructions);
    // the callback has its own stack frame, may call helpers and local functions, and writes the caller's stack via ctx
    const sum = vm.load(
      asm(`
stdw [%r10-8], 0
mov %r1, 4
lddw %r2, 6, func
mov %r3, %r10
add %r3, -8
call 181
ldxdw %r0, [%r10-8]
exit
stdw [%r10-8], 99
mov %r6, %r2
call local g
ldxdw %r3, [%r6+0]
add %r3, %r0
stxdw [%r6+0], %r3
mov %r0, 0
exit
g:
call 7
exit`),
    );
    assert.equal(vm.run(sum).r0, 7n + 8n + 9n + 10n); // sum of (i + 7) for i = 0..3
    // faults, budget and call depth apply inside callbacks
    const bad = vm.load(
      asm(`
mov %r1, 1
lddw %r2, 3, func
call 181
exit
ldxw %r0, [%r1+0]
exit`),
    );
    fails(() => vm.run(bad), /pc 5 .*read of 4 bytes at 0x00000000 is outside every mapped region/);
    const spin = vm.load(
      asm(`
mov %r1, 1
lddw %r2, 3, func
call 181
exit
ja -1
exit`),
    );
    fails(() => vm.run(spin, { budget: 1000 }), /pc 5 .*instruction budget of 1000/);
    // not a function pointer
    fails(() => vm.run(vm.load(asm('mov %r1, 1\nmov %r2, 5\ncall 181\nexit'))), /is not a callback function pointer/);
    // a function pointer must point at an instruction
    assert.throws(
      () => vm.load(asm('lddw %r2, 40, func\nexit')),
      /lddw function pointer target 41 is not an instruction/,
    );
  });
}
