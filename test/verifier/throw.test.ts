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
  PRELUDE,
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

test('exceptions: the ELF reader appends the exception callback a program names, as libbpf does', async (t) => {
  if (!needs(t, { tools: ['clang'] }) || skipWithoutBtf(t)) return;
  // The callback is a global function of .text that nothing calls; a second program names one that is
  // static, which is left to the kernel to refuse (libbpf refuses it before).
  const source = `${PRELUDE}
__noinline int on_throw(u64 cookie) { return cookie & 1; }
static __noinline int on_throw_static(u64 cookie) { return 0; }
SEC("tc") exception_cb(on_throw) int tc_throws(struct __sk_buff *ctx) { if (ctx->len > 100) bpf_throw(1); return 0; }
SEC("tc") exception_cb(on_throw_static) int tc_static_cb(struct __sk_buff *ctx) { bpf_throw(0); return on_throw_static(0); }
`;
  const env = runningKernel();
  const parsed = (await compileC(source, { filename: 'exc-link.bpf.c' })).spec;
  const spec = prepareSpec(parsed, { engine: 'kernel', programs: ['tc_throws', 'tc_static_cb'] }, env);
  const prog = spec.programs.find((p) => p.name === 'tc_throws')!;
  // Two functions in func_info: the program, then its callback, placed after it.
  assert.equal(prog.funcInfo?.length, 2);
  assert.ok(prog.funcInfo[1]!.pc > 0);
  const v = verifyProgram(spec, prog, { kernelBtf: env.btf() });
  assert.equal(v.accepted, true, v.message);
  const other = spec.programs.find((p) => p.name === 'tc_static_cb')!;
  const w = verifyProgram(spec, other, { kernelBtf: env.btf() });
  assert.match(lastLine(w.message) ?? '', /^exception callback 'on_throw_static' could not be found in BTF$/);
  if (!needs(t, { root: true })) return;
  assertKernelAgrees('tc_throws', v, kernelVerdictObject(spec, 'tc_throws'));
  assertKernelAgrees('tc_static_cb', w, kernelVerdictObject(spec, 'tc_static_cb'));
});
