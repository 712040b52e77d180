/**
 * Linked scalars (src/verifier/step.ts, memory.ts, alu.ts, jumps.ts, linked-regs.ts): spills and fills
 * that keep a register's link, copies linked a constant apart (linked-scalars-cases.ts) and the cap of six
 * linked at a jump (linked-cap-cases.ts), as those files record the kernel's verdict, instruction, last
 * line and processed count; as root the running kernel gives them again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyInstructions } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { assertWant } from './expect.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { LINKED_CAP_CASES } from './linked-cap-cases.js';
import { LINKED_CASES } from './linked-scalars-cases.js';
import { sockProgram } from './sock-ptr-cases.js';

const CASES = [...LINKED_CASES, ...LINKED_CAP_CASES];

test("linked scalars: bpfkit's verdict and processed count are the kernel's, as recorded", () => {
  for (const c of CASES) {
    const v = verifyInstructions(sockProgram(c.text), { type: c.type, funcInfo: c.funcInfo ?? false });
    assertWant(c.name, v, c.want);
    assert.equal(v.stats.processed, c.processed, `${c.name}: processed`);
  }
});

test('linked scalars: the running kernel gives the recorded verdicts and counts (root)', (t) => {
  if (!needs(t, { root: true })) return;
  for (const c of CASES) {
    const insns = sockProgram(c.text);
    const fi = c.funcInfo ?? false;
    const k = kernelVerdictRaw(insns, c.type, [], undefined, undefined, 0, 'GPL', fi, 4);
    const m = /processed (\d+) insns/.exec(k.log);
    assert.equal(Number(m?.[1]), c.processed, `${c.name}: processed`);
    // Log level 4 names no instruction: the verdict and its instruction come from a level 1 log.
    const k1 = k.accepted ? k : kernelVerdictRaw(insns, c.type, [], undefined, undefined, 0, 'GPL', fi);
    if ('ok' in c.want) assert.equal(k.accepted, true, `${c.name}: ${k.message}`);
    else if ('pc' in c.want) {
      assert.equal(k1.accepted, false, `${c.name}: kernel accepted`);
      assert.equal(k1.pc, c.want.pc, `${c.name}: insn`);
      assert.match(k1.message ?? '', c.want.re, c.name);
    }
  }
});
