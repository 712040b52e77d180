/**
 * Allocated objects, lists and rbtrees (graph-cases.ts): bpfkit's verdict and last log line against the
 * expectation, and as root the running kernel's against bpfkit's on the same prepared object (verdict,
 * instruction, last line), so each expectation is checked too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileC } from '../../src/compile/index.js';
import { prepareSpec } from '../../src/loader/load-collection.js';
import { runningKernel } from '../../src/loader/kernel-env.js';
import { verifyProgram } from '../../src/verifier/index.js';
import { isRoot, needs } from '../support/env.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { GRAPH_CASES, GRAPH_HEADER } from './graph-cases.js';
import { kernelVerdictObject } from './kernel-oracle.js';
import { skipWithoutBtf } from './kernel-btf.js';

test('graph kfuncs: allocated objects, lists and rbtrees get the kernel verdict, insn and words', async (t) => {
  if (!needs(t, { tools: ['clang'] }) || skipWithoutBtf(t)) return;
  if (!isRoot()) {
    if (process.env.CI === 'true') assert.fail('the kernel checks need root');
    t.diagnostic('not root: bpfkit is checked against the expectations only');
  }
  const kernel = runningKernel();
  for (const c of GRAPH_CASES) {
    const source = `${GRAPH_HEADER}${c.source}\nchar LICENSE[] SEC("license") = "GPL";\n`;
    const { spec } = await compileC(source, { filename: `graph-${c.name}.bpf.c` });
    // As the kernel engine loads it: kfunc externs and the local type ids (CO-RE) resolved.
    const ps = prepareSpec(spec, { engine: 'kernel', programs: ['prog'] }, kernel);
    const prog = ps.programs.find((p) => p.name === 'prog')!;
    const v = verifyProgram(ps, prog, { kernelBtf: kernel.btf() });
    // Instruction numbers of compiled C depend on clang: pc -1 leaves them to the kernel's check below.
    assertWant(c.name, v, 'pc' in c.want && c.want.pc < 0 ? { ...c.want, pc: v.pc ?? -1 } : c.want);
    if ('unmodelled' in c.want) assert.doesNotMatch(v.message!, /\n/, `${c.name}: one line`);
    if (!isRoot() || 'unmodelled' in c.want) continue;
    assertKernelAgrees(c.name, v, kernelVerdictObject(ps, 'prog'));
  }
});
