// The one table of instruction semantics (src/vm/insn-semantics.ts): it defines exactly the instructions
// src/isa knows, both engines are built from it, and the VM's execution paths spell no opcode in hex.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { opcodeTable, describeOpcode } from '../../src/isa/index.js';
import { ALL_SEMANTICS, SEMANTICS, choose, chooseExpr, pick } from '../../src/vm/insn-semantics.js';
import { CASE_OF, interpreterSource } from '../../src/vm/interpreter-switch.js';
import { repoPath } from '../support/env.js';

test('every opcode of the isa table has exactly one definition, and nothing else has one', () => {
  assert.deepEqual(
    ALL_SEMANTICS.map((s) => s.code),
    opcodeTable.map((o) => o.code),
  );
  for (const s of ALL_SEMANTICS) assert.equal(SEMANTICS[s.code], s);
  // the kinds line up with the isa's view of each opcode
  const expected: Record<string, string> = {
    alu: 'alu',
    neg: 'alu',
    end: 'alu',
    jump: 'jump',
    ja: 'ja',
    ja32: 'ja',
    call: 'call',
    callx: 'callx',
    exit: 'exit',
    lddw: 'lddw',
    'ld-abs': 'packet',
    'ld-ind': 'packet',
    ldx: 'load',
    ldxsx: 'load',
    st: 'store',
    stx: 'store',
    atomic: 'atomic',
  };
  for (const o of opcodeTable) assert.equal(SEMANTICS[o.code]?.kind, expected[o.kind], `${o.name} (${o.code})`);
});

test("the interpreter's step() has a case for every instruction, generated from the table", () => {
  const source = interpreterSource();
  const step = source.slice(0, source.indexOf('return function interpret'));
  for (const o of opcodeTable)
    assert.ok(step.includes(`case ${CASE_OF[o.code]}: /* ${describeOpcode(o.code)?.name} */`), o.name);
});

test('templates decide known fields at generation time and test runtime ones', () => {
  assert.equal(pick(1, 1, 'A', 'B'), 'A');
  assert.equal(pick(0, 1, 'A', 'B'), 'B');
  assert.equal(pick('off', 1, 'A;', 'B;'), 'if (off === 1) { A; } else { B; }');
  assert.equal(
    choose(
      16,
      [
        [8, 'a'],
        [16, 'b'],
      ],
      'c',
    ),
    'b',
  );
  assert.equal(
    choose(
      64,
      [
        [8, 'a'],
        [16, 'b'],
      ],
      'c',
    ),
    'c',
  );
  assert.equal(
    choose(
      'imm',
      [
        [8, 'a'],
        [16, 'b'],
      ],
      'c',
    ),
    'if (imm === 8) { a } else if (imm === 16) { b } else { c }',
  );
  assert.equal(
    chooseExpr(
      'off',
      [
        [8, 'a'],
        [16, 'b'],
      ],
      'c',
    ),
    '(off === 8 ? a : (off === 16 ? b : c))',
  );
});

test('no opcode is spelled in hex in the engines (they use src/isa names and the table)', () => {
  const dir = repoPath('src', 'vm');
  const files = readdirSync(dir).filter(
    (f) => /^(interpreter|jit|insn-semantics|packet-access)/.test(f) && f.endsWith('.ts'),
  );
  assert.ok(files.length >= 8, files.join(' '));
  for (const f of files) {
    const src = readFileSync(`${dir}/${f}`, 'utf8');
    assert.doesNotMatch(src, /case 0x[0-9a-f]+\s*:/i, f);
    assert.doesNotMatch(src, /(code|op)\S* (===|!==) 0x[0-9a-f]{2}\b/i, f);
  }
});
