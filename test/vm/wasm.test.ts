// The WebAssembly engine: its encoder against the format's known encodings, faults identical to the
// interpreter's at the edges of its fast paths, the budget charged to the same instruction, programs it
// refuses, and the repository's example objects on a capture giving the interpreter's results and maps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ByteWriter } from '../../src/vm/wasm/bytes.js';
import { writeModule } from '../../src/vm/wasm/module-writer.js';
import { compileToWasm, MAX_SLOTS } from '../../src/vm/wasm/compile.js';
import { wasmStatus } from '../../src/vm/wasm/engine.js';
import { wasmApi } from '../../src/vm/wasm/runtime.js';
import * as W from '../../src/vm/wasm/opcodes.js';
import { Vm } from '../../src/vm/interpreter.js';
import { assignPcs, type Instruction } from '../../src/isa/index.js';
import { asm, errorOf, runOn, type Outcome } from './support.js';
import { repoPath } from '../support/env.js';
import { mapSpec } from '../support/map-spec.js';
import { preferredEngine } from '../../src/vm/wasm/preference.js';
import { MapType } from '../../src/uapi/types.js';
import type { MapSpec, ObjectSpec } from '../../src/elf/spec.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('wasm encoder: LEB128 of the specification’s examples and the edges', () => {
  assert.equal(hex(new ByteWriter().u32(624485).bytes()), 'e58e26');
  assert.equal(hex(new ByteWriter().u32(0xffffffff).bytes()), 'ffffffff0f');
  assert.equal(hex(new ByteWriter().s32(-123456).bytes()), 'c0bb78');
  assert.equal(hex(new ByteWriter().s32(63).bytes()), '3f');
  assert.equal(hex(new ByteWriter().s32(64).bytes()), 'c000');
  assert.equal(hex(new ByteWriter().s32(-64).bytes()), '40');
  assert.equal(hex(new ByteWriter().s32(-0x80000000).bytes()), '8080808078');
  assert.equal(hex(new ByteWriter().s64(-123456, -1).bytes()), 'c0bb78');
  assert.equal(hex(new ByteWriter().s64(0, -0x80000000).bytes()), '8080808080808080807f');
  assert.equal(hex(new ByteWriter().s64(-1, 0x7fffffff).bytes()), 'ffffffffffffffffff00');
  assert.equal(hex(new ByteWriter().s64(0, 1).bytes()), '8080808010');
});

test('wasm module writer: a module WebAssembly accepts, computing with i64', () => {
  const body = new ByteWriter()
    .raw([W.LOCAL_GET, 0, W.LOCAL_GET, 1, W.I64_MUL, W.I64_CONST])
    .s64(7, 0)
    .raw([W.I64_ADD, W.END])
    .bytes();
  const bytes = writeModule({
    imports: [],
    funcs: [{ type: { params: [W.I64, W.I64], results: [W.I64] }, locals: [], body, export: 'f' }],
  });
  const api = wasmApi!;
  const f = new api.Instance(new api.Module(bytes), {}).exports.f as (a: bigint, b: bigint) => bigint;
  assert.equal(f(1n << 40n, 3n), (3n << 40n) + 7n);
});

/** The interpreter's and the wasm engine's outcomes of one program must be the same, faults included. */
function same(text: string, mem = new Uint8Array(16), budget?: number): Outcome {
  const opts = budget === undefined ? {} : { budget };
  const ref = runOn('interpreter', text, mem.slice(), opts);
  const got = runOn('wasm', text, mem.slice(), opts);
  if ('error' in ref) {
    const e = errorOf(got);
    assert.equal(e.message, ref.error.message);
    assert.equal(e.kind, ref.error.kind);
    assert.equal(e.pc, ref.error.pc);
    assert.equal(e.address, ref.error.address);
  } else assert.deepEqual(got, ref);
  return ref;
}

test('wasm: stack accesses at the edges of the frame, through r10 and through other registers', () => {
  for (const [off, size] of [
    [-512, 'dw'],
    [-8, 'dw'],
    [-7, 'dw'],
    [-513, 'b'],
    [-1, 'b'],
    [0, 'b'],
    [-2, 'w'],
  ] as const) {
    const at = `%r10${off < 0 ? off : `+${off}`}`;
    const direct = same(`stx${size} [${at}], %r10\nldx${size} %r0, [${at}]\nexit`);
    const via = same(`mov %r3, %r10\nadd %r3, ${off}\nstx${size} [%r3+0], %r10\nldx${size} %r0, [%r3+0]\nexit`);
    const r0 = (o: Outcome) => ('error' in o ? o.error.detail : o.r0);
    assert.deepEqual(r0(via), r0(direct));
  }
  // a pointer into the frame with its upper half set is no stack pointer
  errorOf(same('mov %r3, %r10\nlddw %r4, 0x100000000\nadd %r3, %r4\nldxb %r0, [%r3-8]\nexit'));
  // the input region (an access that goes through Memory)
  errorOf(same('ldxdw %r0, [%r1+12]\nexit'));
  same(
    'ldxdw %r0, [%r1+8]\nstxh [%r1+14], %r0\nldxw %r0, [%r1+12]\nexit',
    Uint8Array.from({ length: 16 }, (_, i) => i),
  );
});

test('wasm: the budget runs out at the same instruction, and a run that just fits counts the same', () => {
  const loop = 'mov %r0, 0\nloop:\nadd %r0, 1\nstxdw [%r10-8], %r0\njlt %r0, 100, loop\nexit';
  const full = same(loop);
  assert.ok('r0' in full && full.instructions === 302);
  same(loop, undefined, 302);
  for (const budget of [1, 2, 150, 301]) assert.equal(errorOf(same(loop, undefined, budget)).kind, 'budget');
});

test('wasm: local calls inside the module keep r6-r10 and each frame’s stack, and fault and stop as the interpreter does', () => {
  // every frame writes its own stack, calls deeper, and finds its stack and r6-r9 as it left them
  const nested = `
mov %r6, 1
mov %r7, 2
mov %r8, 3
lddw %r9, 0x100000004
stdw [%r10-8], 11
mov %r1, 5
call local f
ldxdw %r2, [%r10-8]
add %r0, %r2
add %r0, %r6
add %r0, %r7
add %r0, %r8
add %r0, %r9
exit
f:
stdw [%r10-8], 22
mov %r6, 100
mov %r9, %r1
call local g
ldxdw %r3, [%r10-8]
add %r0, %r3
add %r0, %r6
add %r0, %r9
exit
g:
mov %r6, 1000
stdw [%r10-8], 33
ldxdw %r0, [%r10-8]
add %r0, %r1
exit`;
  const out = same(nested);
  assert.ok('r0' in out && out.r0 === 33n + 5n + 22n + 100n + 5n + 11n + 1n + 2n + 3n + 0x100000004n);
  for (let budget = 1; budget <= 30; budget++) same(nested, undefined, budget);
  // recursion past the frame limit faults at the call that would exceed it
  const deep = 'mov %r0, 0\ncall local f\nexit\nf:\nadd %r0, 1\ncall local f\nexit';
  assert.equal(errorOf(same(deep)).kind, 'call-depth');
  // a recursion that fits returns through every frame; the budget runs out inside a callee the same way
  const fits =
    'mov %r1, 6\nmov %r0, 0\ncall local f\nexit\nf:\nadd %r0, %r1\nsub %r1, 1\njeq %r1, 0, out\ncall local f\nout:\nexit';
  assert.ok('r0' in same(fits) && (same(fits) as { r0: bigint }).r0 === 21n);
  for (let budget = 1; budget <= 40; budget++) same(fits, undefined, budget);
  // a helper that stops the program (the test helper unwind with 0) from a callee two frames deep
  same('mov %r0, 7\ncall local f\nmov %r0, 9\nexit\nf:\ncall local g\nexit\ng:\nmov %r1, 0\ncall 5\nmov %r0, 3\nexit');
  same('mov %r0, 7\ncall local f\nexit\nf:\nmov %r1, 4\ncall 5\nadd %r0, 1\nexit');
  // a fault inside a callee names the callee's pc
  assert.equal(errorOf(same('call local f\nexit\nf:\nldxw %r0, [%r1+64]\nexit')).pc, 2);
  // a run that faults inside a callee leaves nothing on that frame's stack for the next run
  const leaky = new Vm({ engine: 'wasm' });
  const writeAndFault = leaky.load(asm('call local f\nexit\nf:\nstdw [%r10-8], 77\nldxw %r0, [%r1+64]\nexit'));
  assert.throws(() => leaky.run(writeAndFault), /read of 4 bytes/);
  const readCallee = leaky.load(asm('call local f\nexit\nf:\nldxdw %r0, [%r10-8]\nexit'));
  assert.equal(leaky.run(readCallee).r0, 0n);
  // and the program ran as WebAssembly, not on the JIT
  const vm = new Vm({ engine: 'wasm' });
  const p = vm.load(asm(nested));
  assert.equal(vm.run(p).r0, (out as { r0: bigint }).r0);
  assert.equal(wasmStatus(p), undefined);
});

test('wasm: the default engine takes programs with local calls and hash maps, not per-CPU maps or other helpers', () => {
  const spec = (text: string, maps: MapSpec[] = []) =>
    ({ maps, programs: [{ insns: asm(text) }] }) as unknown as ObjectSpec;
  const calls = 'mov %r1, 1\ncall local f\nexit\nf:\nmov %r0, %r1\nexit';
  assert.equal(preferredEngine(spec(calls)), 'wasm');
  assert.equal(preferredEngine(spec(calls, [mapSpec('h', MapType.HASH, 4, 4, 1)])), 'wasm');
  assert.equal(preferredEngine(spec(calls, [mapSpec('h', MapType.PERCPU_HASH, 4, 4, 1)])), 'jit');
  assert.equal(preferredEngine(spec('call 5\nexit')), 'wasm');
  assert.equal(preferredEngine(spec('call 6\nexit')), 'jit');
});

test('wasm: division edge cases, byte swaps and sign extension agree with the interpreter', () => {
  same('lddw %r0, 0x8000000000000000\nmov %r1, -1\nsdiv %r0, %r1\nexit');
  same('lddw %r0, 0x8000000000000000\nsmod %r0, -1\nexit');
  same('mov32 %r0, 0x80000000\nsdiv32 %r0, -1\nexit');
  same('mov %r0, 7\nmov %r1, 0\ndiv %r0, %r1\nexit');
  same('mov %r0, 7\nmov %r1, 0\nmod32 %r0, %r1\nexit');
  same('lddw %r0, 0x0102030405060708\nbe64 %r0\nexit');
  same('lddw %r0, 0x0102030405060708\nbe16 %r0\nexit');
  same('lddw %r0, 0x01020304f5f6f7f8\nmovsx3264 %r0, %r0\nexit');
});

test('wasm: a program too large for the module layout is refused with the reason and runs on the JIT', () => {
  const insns: Instruction[] = [];
  for (let i = 0; i < MAX_SLOTS; i++) insns.push({ code: 0xb7, dst: 0, src: 0, off: 0, imm: i, imm2: 0, pc: 0 });
  insns.push({ code: 0x95, dst: 0, src: 0, off: 0, imm: 0, imm2: 0, pc: 0 });
  assignPcs(insns);
  const vm = new Vm({ engine: 'wasm' });
  const p = vm.load(insns);
  const why = compileToWasm(p);
  assert.equal(typeof why, 'string');
  assert.match(why as string, /exceed the wasm engine's/);
  const small = vm.load(asm('mov %r0, 3\nexit'));
  assert.equal(vm.run(small).r0, 3n);
  assert.equal(wasmStatus(small), undefined);
  assert.ok(small.wasm !== undefined, 'the small program ran as WebAssembly');
});

const bin = fileURLToPath(new URL('../../../bin/bpfkit.js', import.meta.url));

test('wasm: every example object over the demo capture gives the interpreter’s results and maps', () => {
  const capture = repoPath('examples', 'captures', 'http-demo.pcap');
  for (const [name, prog] of [
    ['proto-count', 'count_protocols'],
    ['mark-stats', 'cls_main'],
    ['port-demux', 'lb_main'],
    ['tunnel-monitor', 'tunnel_entry'],
  ]) {
    const obj = repoPath('examples', name!, `${name}.o`);
    const outs = ['interpreter', 'wasm'].map((e) => {
      const r = spawnSync(
        process.execPath,
        [bin, 'run', obj, '--program', prog!, '--pcap', capture, '--json', '--vm-engine', e],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    });
    assert.ok(outs[0]!.length > 100);
    assert.equal(outs[1], outs[0], name);
  }
});
