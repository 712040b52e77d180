/**
 * Untrusted memory (untrusted-mem-cases.ts): bpfkit's verdict on each case is held to the expectation
 * there, and as root the running kernel judges every program too: same verdict, instruction and last line.
 */
import { test } from 'node:test';
import { BtfKind } from '../../src/btf/index.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { attachOf, kfuncProgram, kfuncVerdict } from './kfunc-cases.js';
import { UNTRUSTED_MEM_CASES } from './untrusted-mem-cases.js';

test('untrusted memory: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of UNTRUSTED_MEM_CASES) assertWant(c.name, kfuncVerdict(btf, c), c.want);
});

test('untrusted memory: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of UNTRUSTED_MEM_CASES) {
    const tpId = btf.byName(`btf_trace_${c.tp!}`, BtfKind.TYPEDEF)!.id;
    assertKernelAgrees(
      c.name,
      kfuncVerdict(btf, c),
      kernelVerdictRaw(kfuncProgram(btf, c.text), c.type, [], attachOf(c), tpId),
    );
  }
});
