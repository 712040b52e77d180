/**
 * The conntrack kfuncs and bpf_sock_destroy (src/verifier/nfct.ts): bpfkit's verdict on each program of
 * nfct-cases.ts is held to the expectation there, and as root the running kernel judges every program
 * too: same verdict, same instruction, same last line. Programs name kfuncs by their ids in the running
 * kernel's BTF, so these tests need it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BtfKind } from '../../src/btf/index.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { kfuncProgram } from './kfunc-cases.js';
import { compileC } from '../../src/compile/index.js';
import { prepareSpec } from '../../src/loader/load-collection.js';
import { runningKernel } from '../../src/loader/kernel-env.js';
import { verifyProgram } from '../../src/verifier/index.js';
import { kernelVerdictObject } from './kernel-oracle.js';
import { lastLine } from './expect.js';
import { NFCT_CASES, WQ_CASES, WQ_HEADER, attachOf, mapsOf, nfctVerdict } from './nfct-cases.js';

/** BPF_PROG_LOAD's BPF_F_SLEEPABLE. */
const BPF_F_SLEEPABLE = 1 << 4;

test('conntrack and bpf_sock_destroy: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of NFCT_CASES) assertWant(c.name, nfctVerdict(btf, c), c.want);
});

test('conntrack and bpf_sock_destroy: the running kernel agrees, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of NFCT_CASES) {
    const { attachType, attachBtfName } = attachOf(c);
    const kind = c.iter ? BtfKind.FUNC : BtfKind.TYPEDEF;
    const attachId = attachBtfName ? btf.byName(attachBtfName, kind)!.id : undefined;
    const flags = c.sleepable ? BPF_F_SLEEPABLE : 0;
    const k = kernelVerdictRaw(kfuncProgram(btf, c.text), c.type, mapsOf(c), attachType, attachId, flags);
    const v = nfctVerdict(btf, c);
    if (v.unmodelled) {
      assert.ok('unmodelled' in c.want, `${c.name}: not modelled: ${v.message}`);
      continue;
    }
    assertKernelAgrees(c.name, v, k);
  }
});

test('conntrack: a write through a BTF pointer other than an nf_conn is refused as read-only in sched_cls', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  // A task looked up by pid in sched_cls (the generic set), written: conntrack's btf_struct_access refuses it.
  const text =
    'r1 = 1\ncall kfunc bpf_task_from_pid\nif r0 == 0 goto out\nr2 = 1\n*(u32 *)(r0 + 0) = r2\nr1 = r0\ncall kfunc bpf_task_release\nout:\nr0 = 0\nexit';
  const c = { name: 'task written', type: 3, text, want: { pc: 4, re: /^only read is supported$/ } } as const;
  assertWant(c.name, nfctVerdict(btf, c), c.want);
  if (!needs(t, { root: true })) return;
  assertKernelAgrees(c.name, nfctVerdict(btf, c), kernelVerdictRaw(kfuncProgram(btf, text), 3, []));
});

test('bpf_wq_init: a work item of a map value, for its own map, as the kernel says (root, clang)', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] }) || skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of WQ_CASES) {
    const source = `${WQ_HEADER}\nSEC("tc") int prog(void *ctx) { ${c.body} }`;
    const { spec } = await compileC(source, { filename: 'wq-init.bpf.c' });
    // As the loader prepares it (kfunc externs resolved by the running kernel's BTF).
    const ps = prepareSpec(spec, { engine: 'kernel', programs: ['prog'] }, runningKernel());
    const v = verifyProgram(
      ps,
      ps.programs.find((p) => p.name === 'prog')!,
      { kernelBtf: btf },
    );
    assert.notEqual(v.unmodelled, true, `${c.name}: ${v.message}`);
    if (c.want === 'ok') assert.equal(v.accepted, true, `${c.name}: ${v.message}`);
    else assert.match(lastLine(v.message) ?? '', c.want, c.name);
    assertKernelAgrees(c.name, v, kernelVerdictObject(ps, 'prog'));
  }
});
