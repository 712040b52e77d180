import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { encodeProgram, checkProgram } from '../../src/isa/index.js';
import { InputError } from '../../src/util/errors.js';
import { needs } from '../support/env.js';
import { conformancePrograms } from './support.js';

const hex = (text: string, syntax: 'auto' | 'llvm' | 'conformance' = 'auto', endian: 'little' | 'big' = 'little') =>
  Buffer.from(encodeProgram(assemble(text, { syntax }), endian)).toString('hex');

test('every conformance program assembles, matches its -- raw words and is a valid program', (t) => {
  if (!needs(t, { conformance: true })) return;
  const programs = conformancePrograms();
  assert.ok(programs.length >= 200);
  for (const p of programs) {
    const insns = assemble(p.asm, { syntax: 'conformance', source: p.file });
    assert.ok(insns.length > 0, p.file);
    assert.equal(checkProgram(insns), undefined, p.file);
    // 'auto' must read the suite's syntax the same way.
    assert.deepEqual(assemble(p.asm, { source: p.file }), insns, p.file);
    if (p.raw) {
      const bytes = encodeProgram(insns);
      const dv = new DataView(bytes.buffer);
      assert.equal(bytes.length, p.raw.length * 8, p.file);
      p.raw.forEach((w, i) => assert.equal(dv.getBigUint64(i * 8, true), w, `${p.file} word ${i}`));
    }
  }
});

test('conformance syntax: encodings of each form', () => {
  const cases: [string, string][] = [
    ['mov32 %r1, -13', 'b4010000f3ffffff'],
    ['mov %r1, 0xffffffff', 'b7010000ffffffff'],
    ['ldxw %r0, [%r1+4]', '6110040000000000'],
    ['ldxh %r0, [%r1]', '6910000000000000'],
    ['stxdw [%r10-8], %r1', '7b1af8ff00000000'],
    ['stb [%r10-1], 0x80', '720affff80000000'],
    ['ldxsb %r0, [%r10-1]', '91a0ffff00000000'],
    ['ldxsw %r0, [%r1+2]', '8110020000000000'],
    ['lddw %r0, 0x1122334455667788', '1800000088776655' + '0000000044332211'],
    ['lddw %r1, 5, map_fd', '1811000005000000' + '0000000000000000'],
    ['lddw %r1, 0x800000005, map_value', '1821000005000000' + '0000000008000000'],
    ['lock add [%r1+0], %r2', 'db21000000000000'],
    ['lock fetch add32 [%r10-4], %r1', 'c31afcff01000000'],
    ['lock xchg [%r10-8], %r1', 'db1af8ffe1000000'],
    ['lock cmpxchg32 [%r10-8], %r1', 'c31af8fff1000000'],
    ['lock fetch xor [%r1+8], %r3', 'db310800a1000000'],
    ['be16 %r0', 'dc00000010000000'],
    ['le64 %r3', 'd403000040000000'],
    ['bswap32 %r1', 'd701000020000000'],
    ['swap64 %r1', 'd701000040000000'],
    ['neg %r2', '8702000000000000'],
    ['neg32 %r2', '8402000000000000'],
    ['sdiv %r1, %r2', '3f21010000000000'],
    ['smod32 %r1, -3', '94010100fdffffff'],
    ['movsx832 %r0, %r1', 'bc10080000000000'],
    ['movsx3264 %r0, %r1', 'bf10200000000000'],
    ['ja +3', '0500030000000000'],
    ['ja32 -2', '06000000feffffff'],
    ['jne %r0, 15, +1', '550001000f000000'],
    ['jsle32 %r1, %r2, -1', 'de21ffff00000000'],
    ['call 5', '8500000005000000'],
    ['call helper 6', '8500000006000000'],
    ['call runtime 77', '852000004d000000'],
    ['call %r2', '8d02000000000000'],
    ['call local +3', '8510000003000000'],
    ['ldabsh 12', '280000000c000000'],
    ['ldindb %r1, 14', '501000000e000000'],
    ['exit', '9500000000000000'],
    ['.insn op=0xff dst=1 src=2 off=-1 imm=7', 'ff21ffff07000000'],
  ];
  for (const [text, want] of cases) assert.equal(hex(text, 'conformance'), want, text);
});

test('LLVM syntax: encodings of each form, including cpu v4 ones clang 14 cannot emit', () => {
  const cases: [string, string][] = [
    ['r0 = *(u16 *)(r1 + 12)', '69100c0000000000'],
    ['w0 = *(u32 *)(r1 + 12)', '61100c0000000000'],
    ['*(u32 *)(r10 - 4) = r1', '631afcff00000000'],
    ['*(u8 *)(r10 - 4) = w1', '731afcff00000000'],
    ['*(u64 *)(r10 - 8) = 7', '7a0af8ff07000000'],
    ['*(u32*)(r1+4)=r2', '6321040000000000'],
    ['if r1 s> 5 goto +3', '6501030005000000'],
    ['if w1 == w2 goto -1', '1e21ffff00000000'],
    ['if r1 & 4 goto +0', '4501000004000000'],
    ['r1 = 0x1234 ll', '1801000034120000' + '0000000000000000'],
    ['r1 = -1 ll', '18010000ffffffff' + '00000000ffffffff'],
    ['ld_pseudo r1, 1, 3', '1811000003000000' + '0000000000000000'],
    ['w0 = w1', 'bc10000000000000'],
    ['r0 += 1', '0700000001000000'],
    ['r0 = -r0', '8700000000000000'],
    ['w3 = -w3', '8403000000000000'],
    ['r0 = be16 r0', 'dc00000010000000'],
    ['r0 = le32 r0', 'd400000020000000'],
    ['r0 = bswap64 r0', 'd700000040000000'],
    ['r0 = (s8)r1', 'bf10080000000000'],
    ['w0 = (s16)w1', 'bc10100000000000'],
    ['r0 = (s32)r1', 'bf10200000000000'],
    ['r0 = *(s16 *)(r1 + 2)', '8910020000000000'],
    ['r0 = *(s8 *)(r1 - 2)', '9110feff00000000'],
    ['lock *(u64 *)(r1 + 0) += r2', 'db21000000000000'],
    ['lock *(u32 *)(r1 + 0) |= w2', 'c321000040000000'],
    ['r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)', 'db01000001000000'],
    ['w2 = atomic_fetch_and((u32 *)(r1 + 8), w2)', 'c321080051000000'],
    ['r0 = xchg_64(r1 + 0, r0)', 'db010000e1000000'],
    ['w3 = xchg32_32(r1 + 4, w3)', 'c3310400e1000000'],
    ['r0 = cmpxchg_64(r1 + 0, r0, r2)', 'db210000f1000000'],
    ['w0 = cmpxchg32_32(r1 + 0, w0, w2)', 'c3210000f1000000'],
    ['call 1', '8500000001000000'],
    ['call pc+4', '8510000004000000'],
    ['call pc-2', '85100000feffffff'],
    ['call kfunc 1234', '85200000d2040000'],
    ['callx r2', '8d02000000000000'],
    ['goto +3', '0500030000000000'],
    ['gotol +70000', '0600000070110100'],
    ['exit', '9500000000000000'],
    ['r0 = *(u8 *)skb[12]', '300000000c000000'],
    ['r0 = *(u16 *)skb[r1]', '4810000000000000'],
    ['r0 = *(u32 *)skb[r1 + 8]', '4010000008000000'],
    ['w1 s>>= 3', 'c401000003000000'],
    ['r1 s/= r2', '3f21010000000000'],
    ['r1 s%= r2', '9f21010000000000'],
    ['r1 %= 7', '9701000007000000'],
    ['w1 <<= w2', '6c21000000000000'],
    ['r1 ^= -1', 'a7010000ffffffff'],
  ];
  for (const [text, want] of cases) {
    assert.equal(hex(text, 'llvm'), want, text);
    assert.equal(hex(text, 'auto'), want, `${text} (auto)`);
  }
});

test('labels, listings and comments', () => {
  const src = `
# a comment
start:  r0 = 0          // trailing comment
        if r1 == 0 goto done ; another
        call sub
        goto start
done:   exit
sub:
        r0 = 1 ll
        exit
`;
  const insns = assemble(src);
  assert.deepEqual(
    insns.map((i) => [i.pc, i.off, i.imm]),
    [
      [0, 0, 0],
      [1, 2, 0],
      [2, 0, 2],
      [3, -4, 0],
      [4, 0, 0],
      [5, 0, 1],
      [7, 0, 0],
    ],
  );
  // The conformance suite's implicit `exit` label: the first exit instruction.
  assert.equal(assemble('jne %r1, 0, exit\nmov %r0, 1\nexit\nexit')[0]!.off, 1);
  // An llvm-objdump listing assembles (pc prefixes, headers, annotations).
  const listing = `
x.o:\tfile format elf64-bpf

Disassembly of section xdp:

0000000000000000 <prog>:
       0:\tr0 = 0
       1:\tif r1 > r2 goto +1 <LBB0_2>

0000000000000010 <LBB0_2>:
       2:\texit`;
  assert.equal(hex(listing), 'b700000000000000' + '2d21010000000000' + '9500000000000000');
  assert.equal(hex('mov %r0, 1\nexit', 'auto', 'big'), 'b700000000000001' + '9500000000000000');
});

test('bad input: InputError naming file:line and the offending token', () => {
  const bad: [string, RegExp][] = [
    ['mov %r0, 1\nfrob %r1, 2', /^p\.s:2: unknown mnemonic 'frob'/],
    ['mov %r11, 1', /^p\.s:1: invalid register '%r11'/],
    ['r12 = 1', /^p\.s:1: invalid register 'r12'/],
    ['add %r1, 0x100000000', /^p\.s:1: an immediate 0x100000000 is out of range/],
    ['r1 += -2147483649', /out of range \(32 bits/],
    ['ldxw %r0, [%r1+40000]', /^p\.s:1: memory offset \+40000 is out of range \(16 bits/],
    ['r0 = *(u32 *)(r1 - 32769)', /memory offset -32769 is out of range/],
    ['ja nowhere', /^p\.s:1: undefined label 'nowhere'/],
    ['a:\nexit\na:\nexit', /^p\.s:3: duplicate label 'a' \(first defined on line 1\)/],
    ['ja +40000', /jump offset \+40000 is out of range/],
    ['w1 += r2', /source register 'r2' should be w2/],
    ['lddw %r0, 0x10000000000000000', /out of range \(64 bits\)/],
    ['jne %r0, 1', /'jne' takes 3 operands/],
    ['lock frob [%r1+0], %r2', /unknown atomic operation/],
    ['r0 = *(u8 *)skb[r1 + 0] junk', /cannot parse|expected/],
    ['.insn op=0x1ff', /op=0x1ff is out of range/],
  ];
  for (const [text, want] of bad) {
    assert.throws(
      () => assemble(text, { source: 'p.s' }),
      (err: unknown) => {
        assert.ok(err instanceof InputError, `${text}: ${String(err)}`);
        assert.match((err as Error).message, want, text);
        return true;
      },
    );
  }
  // A label resolving to a 16-bit offset that does not fit.
  const far = `ja far\n${'mov %r0, 0\n'.repeat(33000)}far:\nexit`;
  assert.throws(
    () => assemble(far, { source: 'p.s' }),
    /^InputError: p\.s:1: jump offset 33000 does not fit|p\.s:1: jump offset 33000 does not fit/,
  );
  // gotol reaches it.
  assert.equal(assemble(far.replace('ja far', 'gotol far'))[0]!.imm, 33000);
});
