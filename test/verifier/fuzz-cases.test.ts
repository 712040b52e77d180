/**
 * The fuzz campaign's cases (fuzz-cases.ts): bpfkit gives each the recorded verdict, instruction and last
 * line; as root the running kernel gives them too (a case bpfkit leaves not modelled is one it loads).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyInstructions } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { fuzzCases } from './fuzz-cases.js';

const verdict = (c: ReturnType<typeof fuzzCases>[number]) =>
  verifyInstructions(c.insns, { type: c.type, maps: c.maps, ...(c.funcInfo ? { funcInfo: true } : {}) });

test('fuzz cases: bpfkit says what each case records', () => {
  const cases = fuzzCases();
  assert.ok(cases.length >= 20);
  for (const c of cases) assertWant(c.name, verdict(c), c.want);
});

test('fuzz cases: the running kernel gives the recorded verdicts (root)', (t) => {
  if (!needs(t, { root: true })) return;
  for (const c of fuzzCases()) {
    const k = kernelVerdictRaw(c.insns, c.type, c.maps, undefined, undefined, 0, 'GPL', c.funcInfo);
    if ('unmodelled' in c.want) assert.equal(k.accepted, true, `${c.name}: ${k.message}`);
    else assertKernelAgrees(c.name, verdict(c), k);
  }
});
