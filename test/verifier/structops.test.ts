/**
 * struct_ops programs (src/verifier/struct-ops.ts): bpfkit's verdict on each program of
 * structops-cases.ts is held to the expectation there, and as root the running kernel judges every
 * program too: same verdict, same instruction, same last line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import {
  STORAGE_MAP,
  STRUCT_OPS,
  STRUCT_OPS_CASES,
  flagsOf,
  structOpsProgram,
  structOpsVerdict,
  target,
} from './structops-cases.js';

test('struct_ops: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of STRUCT_OPS_CASES) assertWant(c.name, structOpsVerdict(btf, c), c.want);
});

test('struct_ops: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of STRUCT_OPS_CASES) {
    const { structId, index } = target(btf, c);
    const maps = c.storage ? [STORAGE_MAP] : [];
    const k = kernelVerdictRaw(structOpsProgram(btf, c.text), STRUCT_OPS, maps, index, structId, flagsOf(c), c.license);
    const v = structOpsVerdict(btf, c);
    assert.notEqual(v.unmodelled, true, `${c.name}: not modelled: ${v.message}`);
    assertKernelAgrees(c.name, v, k);
  }
});
