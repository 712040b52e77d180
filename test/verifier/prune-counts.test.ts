/**
 * State pruning's fidelity (src/verifier/walk.ts, cfg.ts, prune.ts): for each program of
 * prune-counts-cases.ts bpfkit processes as many instructions and remembers as many states as the kernel.
 * The figures are the kernel's, recorded; as root the running kernel gives them again (log level 4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyInstructions } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { PRUNE_COUNT_CASES, TOO_LARGE_CASE } from './prune-counts-cases.js';
import { sockProgram } from './sock-ptr-cases.js';

test("pruning: bpfkit's processed insns and total_states are the kernel's, as recorded", () => {
  for (const c of PRUNE_COUNT_CASES) {
    const v = verifyInstructions(sockProgram(c.text), { type: c.type, maps: c.maps ?? [], funcInfo: true });
    assert.equal(v.accepted, true, `${c.name}: ${v.message}`);
    assert.deepEqual([v.stats.processed, v.stats.totalStates], [c.processed, c.states], c.name);
  }
});

test('pruning: the running kernel gives the recorded counts (root)', (t) => {
  if (!needs(t, { root: true })) return;
  for (const c of PRUNE_COUNT_CASES) {
    const k = kernelVerdictRaw(sockProgram(c.text), c.type, c.maps ?? [], undefined, undefined, 0, 'GPL', true, 4);
    assert.equal(k.accepted, true, `${c.name}: ${k.message}`);
    const m = /processed (\d+) insns .*total_states (\d+)/.exec(k.log);
    assert.ok(m, `${c.name}: no stats line in ${k.log}`);
    assert.deepEqual([Number(m[1]), Number(m[2])], [c.processed, c.states], c.name);
  }
});

test("pruning: the instruction limit stops at the kernel's instruction, as its log names it", (t) => {
  const c = TOO_LARGE_CASE;
  const v = verifyInstructions(sockProgram(c.text), { type: c.type, funcInfo: true });
  assert.deepEqual([v.accepted, v.pc, v.message], [false, c.pc, c.message]);
  if (!needs(t, { root: true })) return;
  const k = kernelVerdictRaw(sockProgram(c.text), c.type, [], undefined, undefined, 0, 'GPL', true);
  assert.deepEqual([k.accepted, k.pc, k.message], [false, c.pc, c.message]);
});
