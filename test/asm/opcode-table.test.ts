import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkInstruction,
  checkProgram,
  describeOpcode,
  makeInsn,
  opcodeTable,
  assignPcs,
} from '../../src/isa/index.js';

test('opcode table: exactly the RFC 9669 opcodes plus legacy packet loads', () => {
  // 2 classes * (13 ops * K/X + neg + ...) : count by kind keeps the table honest.
  const byKind = new Map<string, number>();
  for (const o of opcodeTable) byKind.set(o.kind, (byKind.get(o.kind) ?? 0) + 1);
  assert.equal(byKind.get('alu'), 2 * 12 * 2); // add..arsh without neg/end, K and X, ALU and ALU64
  assert.equal(byKind.get('neg'), 2);
  assert.equal(byKind.get('end'), 3);
  assert.equal(byKind.get('jump'), 2 * 11 * 2);
  assert.equal(byKind.get('ldx'), 4);
  assert.equal(byKind.get('ldxsx'), 3);
  assert.equal(byKind.get('atomic'), 2);
  assert.equal(byKind.get('ld-abs'), 3);
  assert.equal(describeOpcode(0x8d)?.kind, 'callx');
  assert.equal(describeOpcode(0x06)?.kind, 'ja32');
  assert.equal(describeOpcode(0x0d), undefined); // JA|X
  assert.equal(describeOpcode(0x8e), undefined); // JMP32 call
  assert.equal(describeOpcode(0x99), undefined); // LDX MEMSX DW
  assert.equal(describeOpcode(0xdf), undefined); // ALU64 END X
  assert.equal(describeOpcode(0x00), undefined);
});

test('checkInstruction: reserved fields, registers, offsets', () => {
  assert.equal(checkInstruction(makeInsn({ code: 0xbf, dst: 1, src: 2 })), undefined);
  assert.match(checkInstruction(makeInsn({ code: 0xbf, dst: 11, src: 2 }))!, /destination register r11/);
  assert.match(checkInstruction(makeInsn({ code: 0xbf, dst: 1, src: 12 }))!, /source register r12/);
  assert.equal(checkInstruction(makeInsn({ code: 0xbf, dst: 1, src: 2, off: 32 })), undefined); // movsx 32->64
  assert.ok(checkInstruction(makeInsn({ code: 0xbc, dst: 1, src: 2, off: 32 }))); // no movsx32 from 32
  assert.equal(checkInstruction(makeInsn({ code: 0x3f, dst: 1, src: 2, off: 1 })), undefined); // sdiv
  assert.ok(checkInstruction(makeInsn({ code: 0x3f, dst: 1, src: 2, off: 2 })));
  assert.ok(checkInstruction(makeInsn({ code: 0xd4, dst: 1, imm: 8 })));
  assert.equal(checkInstruction(makeInsn({ code: 0xd7, dst: 1, imm: 64 })), undefined);
  assert.ok(checkInstruction(makeInsn({ code: 0xdb, dst: 1, src: 2, imm: 0x02 })));
  assert.equal(checkInstruction(makeInsn({ code: 0xdb, dst: 1, src: 2, imm: 0xf1 })), undefined);
  assert.ok(checkInstruction(makeInsn({ code: 0x85, src: 3, imm: 1 })));
  assert.equal(checkInstruction(makeInsn({ code: 0x8d, dst: 2 })), undefined);
  assert.ok(checkInstruction(makeInsn({ code: 0x95, imm: 1 })));
  assert.match(checkInstruction(makeInsn({ code: 0xff }))!, /unknown opcode 0xff/);
});

test('checkProgram: jump targets', () => {
  const prog = assignPcs([
    makeInsn({ code: 0x18, dst: 0, imm: 1 }),
    makeInsn({ code: 0x05, off: -3 }), // pc 2 -> pc 0: fine
    makeInsn({ code: 0x95 }),
  ]);
  assert.equal(checkProgram(prog), undefined);
  prog[1]!.off = -2; // into lddw's second slot
  assert.deepEqual(checkProgram(prog), { pc: 2, message: 'jump target 1 is the second half of an lddw' });
  prog[1]!.off = 5;
  assert.match(checkProgram(prog)!.message, /outside the program/);
});
