/**
 * Helpers given or giving kernel objects by BTF id (src/verifier/btf-args.ts): bpfkit's verdict on each
 * program of btfargs-cases.ts is held to the expectation there, and as root the running kernel judges
 * every program too: same verdict, same instruction, same last line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BtfKind } from '../../src/btf/index.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { attachOf, kfuncProgram, kfuncVerdict } from './kfunc-cases.js';
import { BTFARGS_CASES } from './btfargs-cases.js';

test('BTF helper arguments: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of BTFARGS_CASES) assertWant(c.name, kfuncVerdict(btf, c), c.want);
});

test('BTF helper arguments: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of BTFARGS_CASES) {
    const tpId = c.tp ? btf.byName(`btf_trace_${c.tp}`, BtfKind.TYPEDEF)!.id : undefined;
    const k = kernelVerdictRaw(kfuncProgram(btf, c.text), c.type, [], attachOf(c), tpId);
    const v = kfuncVerdict(btf, c);
    assert.notEqual(v.unmodelled, true, `${c.name}: not modelled: ${v.message}`);
    assertKernelAgrees(c.name, v, k);
  }
});
