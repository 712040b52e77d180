// The code generator's per-process reuse: the module functions that do not depend on the program's code
// (the resolve functions, the packet load, the hash-map functions) are written once per process, and
// the repeat and packet loops once per stack size they clear. Whatever was compiled before, every module
// must hold exactly what those writers give for its own program. And Body's writers that store bytes in
// place (cheaper in a fresh process) must encode as the general ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vm } from '../../src/vm/interpreter.js';
import { compileToWasm, wasmStackBytes } from '../../src/vm/wasm/compile.js';
import { Body, Fn } from '../../src/vm/wasm/body.js';
import { ByteWriter } from '../../src/vm/wasm/bytes.js';
import * as W from '../../src/vm/wasm/opcodes.js';
import { repeatBody } from '../../src/vm/wasm/repeat-loop.js';
import { packetsBody } from '../../src/vm/wasm/packet-loop.js';
import { resolveBody } from '../../src/vm/wasm/regions.js';
import { loadPacketBody } from '../../src/vm/wasm/packet-load.js';
import { hashFuncs } from '../../src/vm/wasm/hash-lookup.js';
import { asm, wasmBodies } from './support.js';

const own = (fn: Fn): number => fn - Fn.Run;

const PROGRAMS = [
  'mov %r0, 0\nexit',
  'stdw [%r10-8], 1\nldxdw %r0, [%r10-8]\nexit',
  'stdw [%r10-64], 2\ncall f\nexit\nf:\nstdw [%r10-16], 3\nmov %r0, 1\nexit',
  'stdw [%r10-8], 1\nldxdw %r0, [%r10-8]\nexit',
  'stdw [%r10-512], 1\nmov %r0, 0\nexit',
  'mov %r0, 0\nexit',
];

test('wasm codegen: functions written once per process are, in every module, what their writers give', () => {
  const vm = new Vm({ engine: 'wasm' });
  const hash = hashFuncs().map((f) => f.body);
  for (const [n, text] of PROGRAMS.entries()) {
    const p = vm.load(asm(text), { name: `p${n}` });
    const w = compileToWasm(p);
    assert.ok(typeof w !== 'string', 'compiled');
    const b = wasmBodies(w.bytes);
    const written = Math.max(wasmStackBytes(p), 0);
    assert.equal(w.stackBytes, written, `program ${n}: its stack bytes`);
    const calls = text.includes('call f');
    assert.deepEqual(b[own(Fn.Repeat)], repeatBody(written, calls), `program ${n}: the repeat loop`);
    assert.deepEqual(b[b.length - 1], packetsBody(written), `program ${n}: the packet loop`);
    assert.deepEqual(b[own(Fn.ResolveRead)], resolveBody(false), `program ${n}: resolve (read)`);
    assert.deepEqual(b[own(Fn.ResolveWrite)], resolveBody(true), `program ${n}: resolve (write)`);
    assert.deepEqual(b[own(Fn.LoadPacket)], loadPacketBody(), `program ${n}: the packet load`);
    assert.deepEqual(b.slice(own(Fn.HashOf), own(Fn.HashOf) + hash.length), hash, `program ${n}: the hash functions`);
  }
});

test('wasm codegen: the writers that store bytes in place encode as the general LEB128 writers do', () => {
  const values = [-(2 ** 31), -129, -128, -65, -64, -63, -1, 0, 1, 63, 64, 65, 127, 128, 255, 300, 2 ** 31 - 1];
  for (const v of values) {
    assert.deepEqual(new Body().i32(v).bytes(), new ByteWriter().u8(W.I32_CONST).s32(v).bytes(), `i32 ${v}`);
    for (const hi of [v >> 31, 0, -1, 1, 0x7fffffff, -(2 ** 31)])
      assert.deepEqual(
        new Body().i64(v, hi).bytes(),
        new ByteWriter().u8(W.I64_CONST).s64(v, hi).bytes(),
        `i64 ${hi}:${v}`,
      );
    if (v < 0) continue;
    assert.deepEqual(new Body().get(v).bytes(), new ByteWriter().u8(W.LOCAL_GET).u32(v).bytes(), `get ${v}`);
    assert.deepEqual(new Body().set(v).bytes(), new ByteWriter().u8(W.LOCAL_SET).u32(v).bytes(), `set ${v}`);
    assert.deepEqual(new Body().tee(v).bytes(), new ByteWriter().u8(W.LOCAL_TEE).u32(v).bytes(), `tee ${v}`);
    for (const align of [0, 3])
      assert.deepEqual(
        new Body().mem(W.I64_LOAD, align, v).bytes(),
        new ByteWriter().u8(W.I64_LOAD).u32(align).u32(v).bytes(),
        `mem ${align} ${v}`,
      );
  }
  assert.deepEqual(
    new Body().op(1).op(2, 3).op(4, 5, 6).op(7, 8, 9, 10).bytes(),
    Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
  );
  // (past the first buffer's 256 bytes: the in-place writers make room as u8 does)
  const big = new Body();
  const ref = new ByteWriter();
  for (let k = 0; k < 200; k++) {
    big
      .get(k % 17)
      .i32(k)
      .mem(W.I32_STORE, 2, k)
      .op(W.I32_ADD, W.I32_SUB, W.DROP);
    ref
      .u8(W.LOCAL_GET)
      .u32(k % 17)
      .u8(W.I32_CONST)
      .s32(k)
      .u8(W.I32_STORE)
      .u32(2)
      .u32(k)
      .u8(W.I32_ADD)
      .u8(W.I32_SUB)
      .u8(W.DROP);
  }
  assert.deepEqual(big.bytes(), ref.bytes());
});
