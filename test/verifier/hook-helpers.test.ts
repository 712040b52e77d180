/**
 * One hook's helpers (src/verifier/hook-helpers.ts): bpfkit's verdict on each program of
 * hook-helpers-cases.ts is held to the expectation there, and as root the running kernel judges every
 * program too: same verdict, same instruction, same last log line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runningKernel } from '../../src/loader/kernel-env.js';
import { ProgType } from '../../src/uapi/types.js';
import { verifyInstructions, type VerifyResult } from '../../src/verifier/index.js';
import { isRoot, needs } from '../support/env.js';
import { judgeCPrograms } from './c-programs.js';
import { attachOf, kfuncProgram, kfuncVerdict } from './kfunc-cases.js';
import { type Btf, BtfKind } from '../../src/btf/index.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { sockProgram } from './sock-ptr-cases.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { HELPER_PROTOS } from '../../src/verifier/helpers.js';
import { ksymUnmodelled, mightSleepFault } from '../../src/verifier/hook-helpers.js';
import type { State } from '../../src/verifier/state.js';
import {
  HOOK_CASES,
  HOOK_C_CASES,
  LD_ABS_C_CASES,
  ITER_OPT_CASES,
  MAP_PTR_CASES,
  NONNULL_C_CASES,
  TRUSTED_FIELD_CASES,
  type HookCase,
} from './hook-helpers-cases.js';

const BPF_F_SLEEPABLE = 1 << 4;
const ARRAY_MAP = { name: 'm', type: 2, keySize: 4, valueSize: 8, maxEntries: 4, readOnly: false };

const verdict = (c: HookCase): VerifyResult =>
  verifyInstructions(sockProgram(c.text), { type: c.type, attachType: c.attach, maps: [], sleepable: c.sleepable });

test('hook helpers: bpfkit says what each case expects', () => {
  for (const c of HOOK_CASES) assertWant(c.name, verdict(c), c.want);
});

test('hook helpers: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (!needs(t, { root: true })) return;
  for (const c of HOOK_CASES) {
    const k = kernelVerdictRaw(sockProgram(c.text), c.type, [], c.attach, undefined, c.sleepable ? BPF_F_SLEEPABLE : 0);
    assertKernelAgrees(c.name, verdict(c), k);
  }
});

test('hook helpers: global functions of each hook take its context, LD_ABS returns early from a subprogram, arg:nonnull (compiled C; the kernel too as root)', (t) =>
  judgeCPrograms(t, [...HOOK_C_CASES, ...LD_ABS_C_CASES, ...NONNULL_C_CASES]));

test('hook helpers: a helper that may sleep, in an RCU or non-preemptible section of a sleepable program', () => {
  // The kernel's words (Linux 6.18, a sleepable syscall program calling bpf_copy_from_user after
  // bpf_rcu_read_lock or bpf_preempt_disable); whole programs reach them in kfunc-grammar.test.ts, which
  // the kernel judges too.
  const proto = HELPER_PROTOS.get(148)!;
  const st = (extra: Partial<State>): State => ({ frames: [], refs: new Map(), ...extra });
  assert.equal(mightSleepFault(proto, false, st({})), 'helper call might sleep in a non-sleepable prog');
  assert.equal(mightSleepFault(proto, true, st({})), undefined);
  assert.equal(
    mightSleepFault(proto, true, st({ rcu: true })),
    'sleepable helper bpf_copy_from_user#148 in rcu_read_lock region',
  );
  assert.equal(
    mightSleepFault(proto, true, st({ preempt: 1 })),
    'sleepable helper bpf_copy_from_user#148 in non-preemptible region',
  );
  assert.equal(mightSleepFault(HELPER_PROTOS.get(5)!, false, st({ rcu: true })), undefined);
});

test('map pointers: loads through them walk the map struct by the kernel BTF (the kernel too as root)', (t) => {
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    t.skip('no kernel BTF');
    return;
  }
  const kernelBtf = runningKernel().btf()!;
  const root = isRoot();
  for (const c of MAP_PTR_CASES) {
    const insns = sockProgram(c.text);
    const v = verifyInstructions(insns, { type: ProgType.SOCKET_FILTER, maps: [c.map], kernelBtf });
    assertWant(c.name, v, c.want);
    if (root && !('unmodelled' in c.want))
      assertKernelAgrees(c.name, v, kernelVerdictRaw(insns, ProgType.SOCKET_FILTER, [c.map]));
  }
  // Without the kernel's BTF the struct is unknown: not modelled.
  const v = verifyInstructions(sockProgram(MAP_PTR_CASES[0]!.text), {
    type: ProgType.SOCKET_FILTER,
    maps: [ARRAY_MAP],
  });
  assert.equal(v.unmodelled, true, v.message);
});

test('trusted fields: the allow lists bpfkit knows, from tp_btf arguments (the kernel too as root)', (t) => {
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    t.skip('no kernel BTF');
    return;
  }
  const btf = runningKernel().btf()!;
  const root = isRoot();
  for (const c of TRUSTED_FIELD_CASES) {
    const v = kfuncVerdict(btf, c);
    assertWant(c.name, v, c.want);
    if (!root) continue;
    const tpId = btf.byName(`btf_trace_${c.tp!}`, BtfKind.TYPEDEF)!.id;
    assertKernelAgrees(c.name, v, kernelVerdictRaw(kfuncProgram(btf, c.text), c.type, [], attachOf(c), tpId));
  }
});

test('kernel variables: the refusal says what bpfkit does not model, naming the variable by the kernel BTF', () => {
  // An ldimm64 of BTF id 1 (a kernel variable in a real program), with no BTF and with one that names it.
  const lddw = sockProgram('r1 = 0 ll\nr0 = 0\nexit');
  lddw[0] = { ...lddw[0]!, src: 3, imm: 1 };
  const v = verifyInstructions(lddw, { type: ProgType.SOCKET_FILTER });
  assert.equal(v.unmodelled, true, v.message);
  assert.match(v.message!, /^ldimm64 of kernel variable \(btf_id 1\): bpfkit does not model ksyms/);
  const named = {
    types: [undefined, { name: 'runqueues', kind: BtfKind.VAR }, { name: 'bpf_task_acquire', kind: BtfKind.FUNC }],
  } as unknown as Btf;
  assert.match(ksymUnmodelled(1, named), /^ldimm64 of kernel variable 'runqueues' \(btf_id 1\)/);
  assert.match(ksymUnmodelled(2, named), /^ldimm64 of kernel function 'bpf_task_acquire' \(btf_id 2\)/);
});

test('iterators: the tcp and unix iterators set and get socket options (the kernel too as root)', (t) => {
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    t.skip('no kernel BTF');
    return;
  }
  const btf = runningKernel().btf()!;
  const root = isRoot();
  for (const c of ITER_OPT_CASES) {
    const f = btf.byName(`bpf_iter_${c.target}`, BtfKind.FUNC);
    if (!f) continue;
    const insns = sockProgram(c.text);
    const v = verifyInstructions(insns, {
      type: 26,
      attachType: 28,
      kernelBtf: btf,
      attachBtfName: `bpf_iter_${c.target}`,
    });
    assertWant(c.name, v, c.want);
    if (root && !('unmodelled' in c.want)) assertKernelAgrees(c.name, v, kernelVerdictRaw(insns, 26, [], 28, f.id));
  }
});
