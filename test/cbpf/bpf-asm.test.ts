// bpf_asm: the tc-bpf(8) seed's example, every syntax form, errors at line:column, and round trips
// (formatBpfAsm → assembleBpfAsm) of random programs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assembleBpfAsm,
  formatBpfAsm,
  type SockFilter,
  formatBpfAsmC,
  formatBytecode,
  parseClassicBpf,
  ancillaryK,
  SKF_NET_OFF,
} from '../../src/cbpf/index.js';
import { InputError } from '../../src/util/errors.js';
import { randomProgram, rng } from './random-programs.js';

const SEED_EXAMPLE = `ldh [12]
jne #0x800, drop
ldb [23]
jneq #6, drop
ret #-1
drop: ret #0
`;

test("the seed's bpf_asm example assembles to the IPv4/TCP classifier, as bytecode and -c", () => {
  const prog = assembleBpfAsm(SEED_EXAMPLE, 'foobar');
  assert.equal(formatBytecode(prog), '6,40 0 0 12,21 0 3 2048,48 0 0 23,21 0 1 6,6 0 0 4294967295,6 0 0 0,');
  assert.equal(
    formatBpfAsmC(prog),
    '{ 0x28,  0,  0, 0x0000000c },\n{ 0x15,  0,  3, 0x00000800 },\n{ 0x30,  0,  0, 0x00000017 },\n' +
      '{ 0x15,  0,  1, 0x00000006 },\n{ 0x06,  0,  0, 0xffffffff },\n{ 0x06,  0,  0, 0000000000 },\n',
  );
  assert.deepEqual(parseClassicBpf(formatBytecode(prog)), prog);
});

test('bpf_asm forms: loads, extensions, memory, msh, ALU, jumps with one and two targets, returns', () => {
  const prog = assembleBpfAsm(`
    ; comment line
    ld [x + 14]          /* indirect */
    ldh [x+2]
    ld #len
    ldx #pktlen
    ld #proto
    ldb #ifidx
    ld rand
    ld M[3]
    ldx M[15]
    ldxb 4*([14]&0xf)
    ldx 4*([-1048576]&0xf)
    ldi #7
    ldxi 0x10
    ld #0b101
    ld #010
    st M[1]
    stx M[2]
    add x
    sub #1
    lsh %x
    neg
    tax
    txa
    jeq #1, a, b
a:  jgt x, b
    jlt #5, b
    jle x, b
    jset #0x40, b, c
b:  ja c
c:  ret %a
    ret x
    ret #0xffff
  `);
  const k = (i: number) => prog[i]!.k;
  assert.deepEqual(
    prog.map((i) => i.code),
    [
      0x40, 0x48, 0x80, 0x81, 0x20, 0x30, 0x20, 0x60, 0x61, 0xb1, 0xb1, 0x00, 0x01, 0x00, 0x00, 0x02, 0x03, 0x0c, 0x14,
      0x6c, 0x84, 0x07, 0x87, 0x15, 0x2d, 0x35, 0x2d, 0x45, 0x05, 0x16, 0x0e, 0x06,
    ],
  );
  assert.equal(k(0), 14);
  assert.equal(k(4), ancillaryK('PROTOCOL'));
  assert.equal(k(5), ancillaryK('IFINDEX'));
  assert.equal(k(6), ancillaryK('RANDOM'));
  assert.equal(k(10), SKF_NET_OFF >>> 0);
  assert.deepEqual([k(13), k(14)], [5, 8]);
  assert.deepEqual([prog[23]!.jt, prog[23]!.jf], [0, 4], 'jeq #1, a, b');
  assert.deepEqual([prog[24]!.jt, prog[24]!.jf], [3, 0], 'jgt x, b');
  assert.deepEqual([prog[25]!.jt, prog[25]!.jf], [0, 2], 'jlt = jge with the target on false');
  assert.deepEqual([prog[27]!.jt, prog[27]!.jf], [0, 1], 'jset #0x40, b, c');
  assert.equal(k(28), 0, 'ja c (the next)');
});

test('bpf_asm errors: one line, at line:column', () => {
  const cases: [string, RegExp][] = [
    ['ret #0\nfoo #1\n', /^f\.asm:2:1: unknown instruction 'foo'$/],
    ['jeq #1, nowhere\nret #0', /^f\.asm:1:9: undefined label 'nowhere'$/],
    ['a: ret #0\na: ret #1', /^f\.asm:2:1: label 'a' is defined twice$/],
    ['ld [12\nret #0', /^f\.asm:1:7: expected '\]' at the end of the line$/],
    ['ldx 3*([14]&0xf)\nret #0', /^f\.asm:1:5: only 4\*\(\[k\]&0xf\) is supported$/],
    ['ld #0x1ffffffff\nret #0', /^f\.asm:1:5: 0x1ffffffff does not fit 32 bits$/],
    ['ret #0 $', /^f\.asm:1:8: unexpected '\$'$/],
    ['a: ret #0\nja a', /^f\.asm:2:4: label 'a' is behind this instruction/],
    ['', /no instructions/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => assembleBpfAsm(text, 'f.asm'),
      (e: unknown) => e instanceof InputError && re.test(e.message) && !e.message.includes('\n'),
      text,
    );
  }
});

/** The program with the fields its opcodes ignore set to 0 (bpf_asm text has no place for them). */
function canonical(prog: SockFilter[]): SockFilter[] {
  return prog.map(({ code, jt, jf, k }) => {
    const cls = code & 7;
    const condJump = cls === 0x05 && (code & 0xf0) !== 0;
    const usesK =
      !(code & 0x08 && (cls === 0x04 || cls === 0x05)) && ![0x16, 0x0e, 0x84, 0x07, 0x87, 0x80, 0x81].includes(code);
    return { code, jt: condJump ? jt : 0, jf: condJump ? jf : 0, k: usesK ? k : 0 };
  });
}

test('formatBpfAsm → assembleBpfAsm round-trips 2000 random programs byte for byte', () => {
  const r = rng(0xa5a5);
  let done = 0;
  for (let n = 0; n < 8000 && done < 2000; n++) {
    const prog = canonical(randomProgram(r, 40));
    let text: string;
    try {
      text = formatBpfAsm(prog);
    } catch {
      continue; // an opcode bpf_asm cannot spell (the generator's junk)
    }
    // A backward or out-of-range jump cannot be a label: those only come from programs the kernel refuses.
    let back;
    try {
      back = assembleBpfAsm(text);
    } catch (e) {
      if (e instanceof InputError && /undefined label|behind/.test(e.message)) continue;
      throw e;
    }
    assert.deepEqual(back, prog, text);
    done++;
  }
  assert.ok(done > 1500, `${done} round trips`);
});
