// Vm.runRepeat (BPF_PROG_TEST_RUN's repeat; the wasm engine's in-module repeat loop): n repeated runs
// give exactly what n separate run() calls on the interpreter give — r0, instructions, memory left
// behind, faults — whether the runs stay inside the module, call into JavaScript, leave it mid-run
// (local calls, a helper that stops the program, a packet load outside the packet) or run out of budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, Vm, type EngineKind } from '../../src/vm/interpreter.js';
import { VmError } from '../../src/vm/vm-error.js';
import { registerTestHelpers } from '../../src/conformance/test-helpers.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { loadVmCollection } from '../../src/vm/collection.js';
import { asm } from './support.js';
import { repoPath } from '../support/env.js';

type Result = { r0: bigint; instructions: number; mem: string } | { error: string; pc: number };

/** `n` runs over `mem` (mapped as the input, r1 = its address): in one runRepeat, or in n run() calls. */
function runs(
  engine: EngineKind,
  text: string,
  mem: Uint8Array,
  n: number,
  repeated: boolean,
  budget?: number,
): Result {
  const vm = new Vm({ engine, ...(budget !== undefined ? { budget } : {}) });
  registerTestHelpers(vm.helpers);
  const p = vm.load(asm(text), { name: 't' });
  const bytes = mem.slice();
  const base = vm.memory.map(bytes, { name: 'input' });
  const opts = { args: [base, bytes.length], packet: { bytes, data: 0, end: bytes.length, mac: 0, net: 0 } };
  try {
    let r = vm.run(p, opts);
    if (repeated) r = vm.runRepeat(p, opts, n - 1);
    else for (let i = 1; i < n; i++) r = vm.run(p, opts);
    return { r0: r.r0, instructions: r.instructions, mem: Buffer.from(bytes).toString('hex') };
  } catch (err) {
    if (!(err instanceof VmError)) throw err;
    return { error: err.message, pc: err.pc };
  }
}

/** Every engine's runRepeat against n interpreter runs. */
function agree(text: string, n: number, mem = new Uint8Array(16), budget?: number): Result {
  const ref = runs('interpreter', text, mem, n, false, budget);
  for (const e of ENGINES) assert.deepEqual(runs(e, text, mem, n, true, budget), ref, `${e}: ${text}`);
  return ref;
}

test('runRepeat: every run starts with fresh registers and zeroed stacks, through r10 and other pointers', () => {
  // each run reads what the previous one would have left, then writes it
  const r = agree('ldxb %r0, [%r10-8]\nstb [%r10-8], 7\nexit', 50);
  assert.ok('r0' in r && r.r0 === 0n);
  agree('mov %r3, %r10\nadd %r3, -300\nldxdw %r0, [%r3+0]\nstdw [%r3+0], 9\nmov %r4, %r10\nsub %r4, 4000\nexit', 50);
  agree('ldxb %r0, [%r10-512]\nadd %r0, %r6\nmov %r6, 3\nstxb [%r10-512], %r6\nexit', 50);
  // a pointer reaching another frame's region: the import's store marks every stack dirty
  agree('mov %r3, %r10\nadd %r3, -700\nldxb %r0, [%r3+0]\nstb [%r3+0], 5\nexit', 50);
});

test('runRepeat: a run reads zeros where an earlier run wrote the stacks by any path, on every engine', () => {
  // what the jit engine tracks separately (stack-writes.ts): atomics, stores through another register
  // (whose cache then points at a stack), stores outside the frame, the interpreter fall-back
  for (const text of [
    'ldxdw %r0, [%r10-24]\nmov %r1, 3\nlock add [%r10-24], %r1\nexit',
    'mov %r3, %r10\nadd %r3, -40\nldxdw %r0, [%r3+0]\nmov %r1, 3\nlock add [%r3+0], %r1\nexit',
    'ldxw %r0, [%r10-480]\nmov %r3, %r10\nstw [%r3-480], 6\nexit',
    'mov %r3, %r10\nadd %r3, 8\nldxb %r0, [%r3+0]\nstb [%r3+0], 5\nexit',
    'mov %r3, %r10\nadd %r3, 600\nldxb %r0, [%r3+0]\nstb [%r3+0], 5\nexit',
    // a callee's frame written, read back through a pointer the callee returned
    'call local f\nldxb %r6, [%r0+0]\ncall local f\nmov %r0, %r6\nexit\nf:\nmov %r0, %r10\nadd %r0, -64\nstb [%r10-64], 9\nexit',
  ]) {
    const r = agree(text, 30);
    assert.ok(!('r0' in r) || r.r0 === 0n || r.r0 === 9n, text);
  }
  // only the short path fits the budget, so the jit runs it in the interpreter: its store is not seen
  // by the compiled code, and the next run must still see zero (else it takes the long path and fails)
  const long = Array.from({ length: 12 }, () => 'mov %r0, 1').join('\n');
  const text = `ldxb %r0, [%r10-300]\njne %r0, 0, long\nmov %r3, %r10\nstb [%r3-300], 7\nexit\nlong:\n${long}\nexit`;
  const r = agree(text, 20, undefined, 5);
  assert.ok('r0' in r && r.r0 === 0n);
});

test('runRepeat: memory outside the stacks keeps what each run wrote', () => {
  const r = agree('ldxdw %r0, [%r1+0]\nadd %r0, 1\nstxdw [%r1+0], %r0\nexit', 300);
  assert.ok('r0' in r && r.r0 === 300n);
});

test('runRepeat: helpers writing the stack, stopping the program, local calls and packet loads outside it', () => {
  // memfrob through a stack pointer: the next run must see zeroes again
  agree('ldxb %r0, [%r10-150]\nstb [%r10-100], 1\nmov %r1, %r10\nadd %r1, -200\nmov %r2, 200\ncall 1\nexit', 20);
  // a helper that stops the program on some runs (r1 = 0) and not on others
  agree('ldxdw %r6, [%r1+0]\nadd %r6, 1\nstxdw [%r1+0], %r6\nmov %r1, %r6\nand %r1, 1\ncall 5\nmov %r0, 9\nexit', 40);
  agree('call local f\nadd %r0, 1\nexit\nf:\nldxb %r0, [%r10-1]\nstb [%r10-1], 4\nexit', 30);
  agree('ldabsb 3\nldabsb 100\nmov %r0, 5\nexit', 30);
  agree('ldabsb 3\nmov %r0, 5\nexit', 30);
});

test('runRepeat: the budget of every run, and the run that exceeds it fails the same way', () => {
  const loop = 'mov %r0, 0\nloop:\nadd %r0, 1\nstxdw [%r10-8], %r0\njlt %r0, 100, loop\nexit';
  const r = agree(loop, 20, undefined, 302);
  assert.ok('instructions' in r && r.instructions === 302);
  const e = agree(loop, 20, undefined, 301);
  assert.ok('error' in e && /budget/.test(e.error));
  // a fault part-way through a repeat: the next run still starts from zeroed stacks
  const vm = new Vm({ engine: 'wasm' });
  const p = vm.load(asm('ldxb %r0, [%r10-8]\nstb [%r10-8], 7\nldxdw %r2, [%r1+0]\nexit'));
  assert.throws(() => vm.runRepeat(p, { args: [0] }, 10), VmError);
  const ok = vm.load(asm('ldxb %r0, [%r10-8]\nexit'));
  assert.equal(vm.runRepeat(ok, {}, 5).r0, 0n);
});

test('runRepeat: the example objects and the HTTP filters leave the interpreter’s maps after 500 runs', () => {
  const frame = Uint8Array.from(
    Buffer.from(
      '000000000000000000000000080045000043000140004006' +
        '26b20a0000010a000002' +
        '9c400050000003e8000007d05018ffff9fb10000' +
        '474554202f20485454502f312e310d0a486f73743a20780d0a0d0a',
      'hex',
    ),
  );
  for (const [obj, prog] of [
    [repoPath('examples', 'proto-count', 'proto-count.o'), 'count_protocols'],
    [repoPath('examples', 'mark-stats', 'mark-stats.o'), 'cls_main'],
    [repoPath('examples', 'port-demux', 'port-demux.o'), 'lb_main'],
    [repoPath('examples', 'tunnel-monitor', 'tunnel-monitor.o'), 'tunnel_entry'],
    [repoPath('src', 'apps', 'http', 'bpf', 'http_filter_v1.o'), 'http_filter'],
    [repoPath('src', 'apps', 'http', 'bpf', 'http_filter_full.o'), 'http_filter'],
  ] as const) {
    const outcome = (execution: EngineKind) => {
      // (a fixed clock: the full filter stamps its sessions with the time)
      const clock = () => 1_000_000_000;
      const host = { clockNs: clock, bootClockNs: clock, coarseClockNs: clock };
      const c = loadVmCollection(loadObjectFile(obj), { execution, cpus: 1, host });
      const r = c.program(prog).run({ data: frame, repeat: 500 });
      const maps: Record<string, string[]> = {};
      for (const [name, m] of c.maps) {
        const rows: string[] = [];
        for (const k of m.keys())
          rows.push(`${Buffer.from(k).toString('hex')}=${Buffer.from(m.lookup(k) ?? []).toString('hex')}`);
        maps[name] = rows.sort();
      }
      return { retval: r.retval, data: Buffer.from(r.data).toString('hex'), instructions: r.instructions, maps };
    };
    const ref = outcome('interpreter');
    for (const e of ENGINES) assert.deepEqual(outcome(e), ref, `${prog} on ${e}`);
  }
});
