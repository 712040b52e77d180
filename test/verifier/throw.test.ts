/**
 * BPF exceptions (src/verifier/throw.ts): bpfkit's verdict on each program of throw-cases.ts is held to
 * the expectation there, and as root the running kernel judges every program too (same verdict, same
 * instruction when its log names one, same last line). The programs are C, compiled with clang; kfunc
 * calls are relocated by the running kernel's BTF, so these tests need it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileC } from '../../src/compile/index.js';
import { kernelHelperProbe } from '../../src/kernel/index.js';
import { prepareSpec } from '../../src/loader/load-collection.js';
import { runningKernel } from '../../src/loader/kernel-env.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { ProgType } from '../../src/uapi/types.js';
import { type VerifyResult, verifyInstructions, verifyProgram } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictObject } from './kernel-oracle.js';
import { sockProgram } from './sock-ptr-cases.js';
import { assertKernelAgrees, lastLine } from './expect.js';
import {
  EXCEPTION_CB_SOURCE,
  THROW_CASES,
  TAIL_SOURCE,
  THROW_SOURCE,
  type ThrowCase,
  caseCallback,
  withExceptionCallback,
} from './throw-cases.js';

/** Each case's object, linked for its program (the callback appended where libbpf would), and the verdict. */
async function verdicts(): Promise<{ c: ThrowCase; spec: ObjectSpec; v: VerifyResult }[]> {
  const env = runningKernel();
  const objects = new Map<string, ObjectSpec>();
  for (const [name, source] of [
    ['throw', THROW_SOURCE],
    ['exception-cb', EXCEPTION_CB_SOURCE],
    ['tail', TAIL_SOURCE],
  ] as const)
    objects.set(source, (await compileC(source, { filename: `${name}.bpf.c` })).spec);
  const probe = kernelHelperProbe();
  return THROW_CASES.map((c) => {
    const cb = caseCallback(c);
    const obj = cb ? withExceptionCallback(objects.get(c.source)!, c.prog, cb) : objects.get(c.source)!;
    const spec = prepareSpec(obj, { engine: 'kernel', programs: [c.prog] }, env);
    const prog = spec.programs.find((p) => p.name === c.prog)!;
    return { c, spec, v: verifyProgram(spec, prog, { helperAvailable: probe, kernelBtf: env.btf() }) };
  });
}

test('exceptions: bpfkit says what each case expects', async (t) => {
  if (!needs(t, { tools: ['clang'] }) || skipWithoutBtf(t)) return;
  for (const { c, v } of await verdicts()) {
    assert.notEqual(v.unmodelled, true, `${c.prog}: not modelled: ${v.message}`);
    if (c.want === 'ok') assert.equal(v.accepted, true, `${c.prog}: refused at ${v.pc}: ${v.message}`);
    else {
      assert.equal(v.accepted, false, `${c.prog}: accepted`);
      assert.match(lastLine(v.message)!, c.want, c.prog);
    }
  }
});

test('exceptions: the running kernel gives the same verdict, at the same insn, in the same words (root)', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] }) || skipWithoutBtf(t)) return;
  for (const { c, spec, v } of await verdicts()) {
    const k = kernelVerdictObject(spec, c.prog);
    // Linux 6.18 prints "cannot call exception cb directly" without its newline, glued to the last line.
    if (k.message) k.message = k.message.replace(/directlyprocessed .*$/, 'directly');
    assertKernelAgrees(c.prog, v, k);
    // A leak names every reference held, as the kernel's log does.
    if (/reference leak$/.test(k.message ?? ''))
      for (const line of v.message!.split('\n').slice(0, -1)) assert.ok(k.log.includes(line), `${c.prog}: ${line}`);
  }
});

test('exceptions: a throw in a callback is refused at the throw, after the walk, and only then', async (t) => {
  if (!needs(t, { tools: ['clang'] }) || skipWithoutBtf(t)) return;
  const all = await verdicts();
  const loop = all.find((x) => x.c.prog === 'tc_loop_cb_throw')!.v;
  // The walk ends first: the log holds the whole walk, then the refusal.
  assert.match(loop.log, /processed \d+ insns/);
  assert.ok(loop.stats.processed > 5, `walked ${loop.stats.processed}`);
  // Not walked as a callback (a throw after bpf_loop returned) is fine.
  assert.equal(all.find((x) => x.c.prog === 'tc_throw_after_loop')!.v.accepted, true);
});

test("exceptions: a kfunc call the walk never reached, without the kernel's BTF, is not modelled", () => {
  // The kernel's pass after the walk would look at it (is it bpf_throw, in a callback?): bpfkit cannot say.
  const insns = sockProgram('r0 = 0\nif r0 != 0 goto dead\nexit\ndead:\nr1 = 0\ncall kfunc 7\nr0 = 0\nexit');
  const v = verifyInstructions(insns, { type: ProgType.SCHED_CLS });
  assert.equal(v.unmodelled, true, v.message);
  assert.match(v.message!, /^kfunc call \(btf_id 7\): bpfkit tells bpf_throw by the kernel's BTF/);
  assert.equal(v.pc, 4);
});
