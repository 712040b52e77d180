/**
 * Open-coded iterators (src/verifier/iter-kfunc.ts): bpfkit's verdict on each program of
 * iter-kfunc-cases.ts is held to the expectation there, and as root the running kernel judges every
 * program too: same verdict, same instruction, same last line. The kfunc calls are relocated by the
 * running kernel's BTF, which the tests skip without (one line).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Btf } from '../../src/btf/index.js';
import { verifyInstructions, type VerifyResult } from '../../src/verifier/index.js';
import { encodeProgram } from '../../src/isa/index.js';
import { loadProgram, VerifierError } from '../../src/kernel/index.js';
import { closeFd } from '../../src/kernel/bpf-syscall.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { ITER_CASES, type IterCase, iterProgram } from './iter-kfunc-cases.js';

/** The kernel's BTF, or undefined when the test was skipped for want of it. */
const btfOrSkip = (t: TestContext): Btf | undefined => (skipWithoutBtf(t) ? undefined : kernelBtf());

const verdict = (btf: Btf, c: IterCase): VerifyResult =>
  verifyInstructions(iterProgram(c.text, btf), { type: c.type, kernelBtf: btf, maps: c.maps ?? [] });

test('iterator kfuncs: bpfkit says what each case expects', (t) => {
  const btf = btfOrSkip(t);
  if (!btf) return;
  for (const c of ITER_CASES) assertWant(c.name, verdict(btf, c), c.want);
});

test('iterator kfuncs: a leak names the iterator reference and the _new that took it', (t) => {
  const btf = btfOrSkip(t);
  if (!btf) return;
  const v = verdict(
    btf,
    ITER_CASES.find((c) => c.name === 'a leaked iterator')!,
  );
  assert.match(v.message!, /^Unreleased reference id=\d+ alloc_insn=4\n/);
});

test('iterator kfuncs: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  const btf = btfOrSkip(t);
  if (!btf || !needs(t, { root: true })) return;
  for (const c of ITER_CASES) {
    const insns = iterProgram(c.text, btf);
    const k = kernelVerdictRaw(insns, c.type, c.maps ?? []);
    const v = verdict(btf, c);
    if (v.unmodelled) {
      assert.ok('unmodelled' in c.want, `${c.name}: not modelled: ${v.message}`);
      continue;
    }
    assertKernelAgrees(c.name, v, k);
  }
});

test('iterator kfuncs: a program that is not GPL may not call them, in the kernel words (the kernel: root)', (t) => {
  const btf = btfOrSkip(t);
  if (!btf) return;
  const insns = iterProgram(
    'r1 = r10\nr1 += -8\nr2 = 0\nr3 = 3\nkcall bpf_iter_num_new\nr1 = r10\nr1 += -8\nkcall bpf_iter_num_destroy\nr0 = 0\nexit',
    btf,
  );
  const v = verifyInstructions(insns, { type: 1, kernelBtf: btf, license: 'MIT' });
  assert.equal(v.accepted, false);
  assert.equal(v.unmodelled, undefined);
  assert.equal(v.message, 'cannot call kernel function from non-GPL compatible program');
  if (!needs(t, { root: true })) return;
  let log = '';
  try {
    closeFd(loadProgram({ name: 'nongpl', type: 1, insns: encodeProgram(insns), license: 'MIT' }).fd);
  } catch (err) {
    if (!(err instanceof VerifierError)) throw err;
    log = err.log;
  }
  assert.ok(log.includes(v.message), log);
});
