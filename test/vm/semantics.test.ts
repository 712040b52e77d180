// ALU and jump semantics of both engines against a BigInt reference model of RFC 9669, on edge values
// and seeded random operands: every ALU/ALU64 operation in register and immediate form (incl. sdiv/smod,
// movsx, shifts by large counts, division by zero, INT_MIN / -1), byte swaps, and every jump condition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignPcs, makeInsn, splitLddw, type Instruction } from '../../src/isa/index.js';
import { ENGINES, Vm } from '../../src/vm/interpreter.js';

const u64 = (x: bigint) => BigInt.asUintN(64, x);
const s64 = (x: bigint) => BigInt.asIntN(64, x);
const u32 = (x: bigint) => BigInt.asUintN(32, x);
const s32 = (x: bigint) => BigInt.asIntN(32, x);

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const EDGE: bigint[] = [
  0n,
  1n,
  2n,
  3n,
  7n,
  31n,
  32n,
  33n,
  63n,
  64n,
  65n,
  0x7fn,
  0x80n,
  0xffn,
  0x7fffn,
  0x8000n,
  0xffffn,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  0x1_0000_0001n,
  0x7fffffffffffffffn,
  0x8000000000000000n,
  0xffffffffffffffffn,
  0xfffffffffffffffen,
  0xffffffff80000000n,
  0x123456789abcdef0n,
];

function values(seed: number, n: number): bigint[] {
  const r = rng(seed);
  const out = [...EDGE];
  while (out.length < n) {
    const hi = BigInt(r());
    const lo = BigInt(r());
    const pick = r() % 4;
    out.push(pick === 0 ? lo : pick === 1 ? u64(s64((hi << 32n) | lo) >> BigInt(r() % 64)) : (hi << 32n) | lo);
  }
  return out;
}

const swap = (v: bigint, bytes: number) => {
  let r = 0n;
  for (let i = 0; i < bytes; i++) r = (r << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return r;
};

type Ref = (a: bigint, b: bigint, off: number) => bigint;
const ALU64: Record<number, Ref> = {
  0x00: (a, b) => u64(a + b),
  0x10: (a, b) => u64(a - b),
  0x20: (a, b) => u64(a * b),
  0x30: (a, b, off) => (b === 0n ? 0n : off === 1 ? u64(s64(a) / s64(b)) : a / b),
  0x40: (a, b) => a | b,
  0x50: (a, b) => a & b,
  0x60: (a, b) => u64(a << (b & 63n)),
  0x70: (a, b) => a >> (b & 63n),
  0x90: (a, b, off) => (b === 0n ? a : off === 1 ? u64(s64(a) % s64(b)) : a % b),
  0xa0: (a, b) => a ^ b,
  0xb0: (_a, b, off) => (off === 0 ? b : u64(BigInt.asIntN(off, b))),
  0xc0: (a, b) => u64(s64(a) >> (b & 63n)),
};
const ALU32: Record<number, Ref> = {
  0x00: (a, b) => u32(a + b),
  0x10: (a, b) => u32(a - b),
  0x20: (a, b) => u32(a * b),
  0x30: (a, b, off) => (b === 0n ? 0n : off === 1 ? u32(s32(a) / s32(b)) : a / b),
  0x40: (a, b) => a | b,
  0x50: (a, b) => a & b,
  0x60: (a, b) => u32(a << (b & 31n)),
  0x70: (a, b) => a >> (b & 31n),
  0x90: (a, b, off) => (b === 0n ? a : off === 1 ? u32(s32(a) % s32(b)) : a % b),
  0xa0: (a, b) => a ^ b,
  0xb0: (_a, b, off) => (off === 0 ? b : u32(BigInt.asIntN(off, b))),
  0xc0: (a, b) => u32(s32(a) >> (b & 31n)),
};

function lddw(dst: number, v: bigint): Instruction {
  return makeInsn({ code: 0x18, dst, ...splitLddw(v) });
}

/** Run many single-op cases as one program per case batch: r0 = result of the op on (r1, r2|imm). */
function check(name: string, cases: { insn: Instruction; a: bigint; b: bigint; want: bigint }[]) {
  for (const engine of ENGINES) {
    const vm = new Vm({ engine });
    const bad: string[] = [];
    for (const c of cases) {
      const prog = assignPcs([
        lddw(1, c.a),
        lddw(2, c.b),
        c.insn,
        makeInsn({ code: 0xbf, dst: 0, src: 1 }),
        makeInsn({ code: 0x95 }),
      ]);
      const got = vm.run(vm.load(prog)).r0;
      if (got !== c.want && bad.length < 5) {
        bad.push(
          `${engine} op 0x${c.insn.code.toString(16)} off ${c.insn.off} imm ${c.insn.imm}: a=0x${c.a.toString(16)} b=0x${c.b.toString(16)} want 0x${c.want.toString(16)} got 0x${got.toString(16)}`,
        );
      }
    }
    assert.deepEqual(bad, [], name);
  }
}

test('ALU64 and ALU32, register and immediate forms, against the reference', () => {
  const vals = values(12345, 40);
  const r = rng(99);
  for (const [wide, table] of [
    [true, ALU64],
    [false, ALU32],
  ] as const) {
    const cases: { insn: Instruction; a: bigint; b: bigint; want: bigint }[] = [];
    for (const [opText, ref] of Object.entries(table)) {
      const op = Number(opText);
      const offs = op === 0x30 || op === 0x90 ? [0, 1] : op === 0xb0 ? (wide ? [0, 8, 16, 32] : [0, 8, 16]) : [0];
      for (const off of offs) {
        for (let i = 0; i < 60; i++) {
          const a = vals[r() % vals.length] as bigint;
          const b = vals[r() % vals.length] as bigint;
          // register form
          const cls = wide ? 0x07 : 0x04;
          const a32 = wide ? a : u32(a);
          const b32 = wide ? b : u32(b);
          cases.push({
            insn: makeInsn({ code: cls | 0x08 | op, dst: 1, src: 2, off }),
            a,
            b,
            want: ref(a32, b32, off),
          });
          // immediate form: imm is sign-extended to 64 bits (ALU64) or used as 32 bits (ALU)
          if (op === 0xb0 && off !== 0) continue;
          const imm = Number(s32(b));
          const bk = wide ? u64(BigInt(imm)) : u32(BigInt(imm));
          cases.push({ insn: makeInsn({ code: cls | op, dst: 1, imm, off }), a, b, want: ref(a32, bk, off) });
        }
      }
    }
    // neg
    for (const a of vals)
      cases.push({
        insn: makeInsn({ code: wide ? 0x87 : 0x84, dst: 1 }),
        a,
        b: 0n,
        want: wide ? u64(-a) : u32(-u32(a)),
      });
    check(wide ? 'ALU64' : 'ALU32', cases);
  }
});

test('byte swaps: le/be 16/32/64 and bswap', () => {
  const cases: { insn: Instruction; a: bigint; b: bigint; want: bigint }[] = [];
  for (const a of values(7, 30)) {
    for (const bits of [16, 32, 64]) {
      const mask = (1n << BigInt(bits)) - 1n;
      cases.push({ insn: makeInsn({ code: 0xd4, dst: 1, imm: bits }), a, b: 0n, want: a & mask });
      cases.push({ insn: makeInsn({ code: 0xdc, dst: 1, imm: bits }), a, b: 0n, want: swap(a & mask, bits / 8) });
      cases.push({ insn: makeInsn({ code: 0xd7, dst: 1, imm: bits }), a, b: 0n, want: swap(a & mask, bits / 8) });
    }
  }
  check('END', cases);
});

test('every jump condition, JMP and JMP32, register and immediate', () => {
  const conds: Record<number, (a: bigint, b: bigint, sa: bigint, sb: bigint) => boolean> = {
    0x10: (a, b) => a === b,
    0x50: (a, b) => a !== b,
    0x40: (a, b) => (a & b) !== 0n,
    0x20: (a, b) => a > b,
    0x30: (a, b) => a >= b,
    0xa0: (a, b) => a < b,
    0xb0: (a, b) => a <= b,
    0x60: (_a, _b, sa, sb) => sa > sb,
    0x70: (_a, _b, sa, sb) => sa >= sb,
    0xc0: (_a, _b, sa, sb) => sa < sb,
    0xd0: (_a, _b, sa, sb) => sa <= sb,
  };
  const vals = values(4242, 36);
  const r = rng(5);
  for (const engine of ENGINES) {
    const vm = new Vm({ engine });
    const bad: string[] = [];
    for (const [opText, f] of Object.entries(conds)) {
      const op = Number(opText);
      for (let i = 0; i < 80; i++) {
        const a = vals[r() % vals.length] as bigint;
        const b = vals[r() % vals.length] as bigint;
        for (const wide of [true, false]) {
          for (const reg of [true, false]) {
            const bb = reg ? b : u64(BigInt(Number(s32(b))));
            const [x, y] = wide ? [a, bb] : [u32(a), u32(bb)];
            const [sx, sy] = wide ? [s64(x), s64(y)] : [s32(x), s32(y)];
            const want = f(x, y, sx, sy) ? 1n : 0n;
            const j = makeInsn({
              code: (wide ? 0x05 : 0x06) | op | (reg ? 0x08 : 0),
              dst: 1,
              src: reg ? 2 : 0,
              imm: reg ? 0 : Number(s32(b)),
              off: 1,
            });
            const prog = assignPcs([
              lddw(1, a),
              lddw(2, b),
              makeInsn({ code: 0xb7, dst: 0, imm: 0 }),
              j,
              makeInsn({ code: 0x95 }),
              makeInsn({ code: 0xb7, dst: 0, imm: 1 }),
              makeInsn({ code: 0x95 }),
            ]);
            const got = vm.run(vm.load(prog)).r0;
            if (got !== want && bad.length < 5)
              bad.push(
                `${engine} op 0x${j.code.toString(16)} a=0x${a.toString(16)} b=0x${bb.toString(16)} want ${want}`,
              );
          }
        }
      }
    }
    assert.deepEqual(bad, []);
  }
});

test('sign-extending loads and atomics (32-bit forms zero-extend what they return)', () => {
  for (const engine of ENGINES) {
    const vm = new Vm({ engine });
    const mem = Uint8Array.from([0x80, 0xff, 0xff, 0xff, 0x01, 0, 0, 0]);
    const run = (insns: Instruction[]) => vm.runOnMemory(vm.load(assignPcs(insns)), mem.slice()).r0;
    assert.equal(run([makeInsn({ code: 0x91, dst: 0, src: 1 }), makeInsn({ code: 0x95 })]), 0xffffffffffffff80n);
    assert.equal(run([makeInsn({ code: 0x89, dst: 0, src: 1 }), makeInsn({ code: 0x95 })]), 0xffffffffffffff80n);
    assert.equal(run([makeInsn({ code: 0x81, dst: 0, src: 1 }), makeInsn({ code: 0x95 })]), 0xffffffffffffff80n);
    assert.equal(run([makeInsn({ code: 0x61, dst: 0, src: 1 }), makeInsn({ code: 0x95 })]), 0xffffff80n);
    // lock fetch_add32 [r1], r2 with r2 = -1 (64-bit): memory gets +0xffffffff, r2 = old value zero-extended
    assert.equal(
      run([
        makeInsn({ code: 0xb7, dst: 2, imm: -1 }),
        makeInsn({ code: 0xc3, dst: 1, src: 2, imm: 0x01 }),
        makeInsn({ code: 0xbf, dst: 0, src: 2 }),
        makeInsn({ code: 0x95 }),
      ]),
      0xffffff80n,
    );
    // 64-bit cmpxchg: success stores src, r0 = old
    assert.equal(
      run([
        lddw(0, 0x00000001ffffff80n),
        makeInsn({ code: 0xb7, dst: 2, imm: 5 }),
        makeInsn({ code: 0xdb, dst: 1, src: 2, imm: 0xf1 }),
        makeInsn({ code: 0x79, dst: 3, src: 1 }),
        makeInsn({ code: 0x0f, dst: 0, src: 3 }),
        makeInsn({ code: 0x95 }),
      ]),
      0x00000001ffffff80n + 5n,
    );
  }
});
