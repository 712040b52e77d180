/**
 * Helpers of one program type's table (src/verifier/hook-helpers.ts) and tp_btf's share of raw_tp's table
 * (calls.ts): bpfkit's verdict on each program of helper-tables-cases.ts is held to the expectation there,
 * and as root the running kernel judges every program too: same verdict, same instruction, same last line.
 */
import { test } from 'node:test';
import { BtfKind } from '../../src/btf/index.js';
import { verifyInstructions } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { TRACE_RAW_TP } from './kfunc-cases.js';
import { TABLE_CASES, type TableCase } from './helper-tables-cases.js';
import { sockProgram } from './sock-ptr-cases.js';

const verdict = (c: TableCase) =>
  verifyInstructions(sockProgram(c.text), {
    type: c.type,
    attachType: c.tp ? TRACE_RAW_TP : c.attach,
    attachBtfName: c.tp ? `btf_trace_${c.tp}` : undefined,
    kernelBtf: kernelBtf(),
    maps: c.maps ?? [],
  });

test('helper tables: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  for (const c of TABLE_CASES) assertWant(c.name, verdict(c), c.want);
});

test('helper tables: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of TABLE_CASES) {
    const tpId = c.tp ? btf.byName(`btf_trace_${c.tp}`, BtfKind.TYPEDEF)!.id : undefined;
    const k = kernelVerdictRaw(sockProgram(c.text), c.type, c.maps ?? [], c.tp ? TRACE_RAW_TP : c.attach, tpId);
    assertKernelAgrees(c.name, verdict(c), k);
  }
});
