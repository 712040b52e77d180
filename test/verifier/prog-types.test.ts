/**
 * syscall, flow_dissector, cgroup_device, raw_tracepoint_writable and lwt_seg6local programs
 * (src/verifier/ctx-more.ts, the lwt_* rules, the helper tables): bpfkit's verdict on each program of
 * prog-types-cases.ts is held to the expectation there, and as root the running kernel judges every
 * program too: same verdict, same instruction, same words; and says which helpers of bpfkit's tables each
 * of these types may call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgType } from '../../src/uapi/types.js';
import { HELPER_PROTOS } from '../../src/verifier/helpers.js';
import { verifyInstructions, type VerifyResult } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant, lastLine } from './expect.js';
import { existsSync } from 'node:fs';
import type { Btf } from '../../src/btf/index.js';
import { runningKernel } from '../../src/loader/kernel-env.js';
import { NETFILTER, PROG_TYPE_CASES, type ProgTypeCase } from './prog-types-cases.js';
import { sockProgram } from './sock-ptr-cases.js';

const SLEEPABLE = 1 << 4;

/** netfilter programs are checked by the kernel's BTF: their cases run only where the kernel has one. */
const haveBtf = existsSync('/sys/kernel/btf/vmlinux');
let btf: Btf | undefined;
const kernelBtf = (): Btf => (btf ??= runningKernel().btf()!);
const cases = PROG_TYPE_CASES.filter((c) => haveBtf || c.type !== NETFILTER);

const verdict = (c: ProgTypeCase): VerifyResult =>
  verifyInstructions(sockProgram(c.text), {
    type: c.type,
    attachType: c.attach,
    maps: c.maps ?? [],
    sleepable: ((c.flags ?? 0) & SLEEPABLE) !== 0,
    ...(c.type === NETFILTER ? { kernelBtf: kernelBtf() } : {}),
  });

test('program types: bpfkit says what each case expects', () => {
  for (const c of cases) assertWant(c.name, verdict(c), c.want);
});

test('program types: a netfilter program without the kernel BTF, or its attach type, is not modelled', () => {
  const insns = sockProgram('r0 = 1\nexit');
  const noBtf = verifyInstructions(insns, { type: NETFILTER, attachType: 45 });
  assert.equal(noBtf.unmodelled, true, noBtf.message);
  if (!haveBtf) return;
  const noAttach = verifyInstructions(insns, { type: NETFILTER, kernelBtf: kernelBtf() });
  assert.equal(noAttach.unmodelled, true, noAttach.message);
});

test('program types: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (!needs(t, { root: true })) return;
  for (const c of cases) {
    const k = kernelVerdictRaw(sockProgram(c.text), c.type, c.maps ?? [], c.attach, undefined, c.flags ?? 0);
    const v = verdict(c);
    assertKernelAgrees(c.name, v, k);
  }
});

test('program types: a program naming an arena map is not modelled (its pointers are not)', () => {
  const arena = { name: 'arena', type: 33, keySize: 0, valueSize: 0, maxEntries: 1, readOnly: false };
  const v = verifyInstructions(sockProgram('r1 = map 0\nr0 = 0\nexit'), { type: 31, sleepable: true, maps: [arena] });
  assert.equal(v.unmodelled, true, v.message);
  assert.equal(v.pc, 0);
});

test('program types: a sleepable program of a type that cannot sleep is refused (can_be_sleepable)', () => {
  const v = verifyInstructions(sockProgram('r0 = 0\nexit'), { type: ProgType.SCHED_CLS, sleepable: true });
  assert.equal(v.unmodelled, undefined, v.message);
  assert.match(
    v.message!,
    /^Only fentry\/fexit\/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable$/,
  );
});

test('program types: which of the helpers bpfkit lists each type may call, as the running kernel says (root)', (t) => {
  if (!needs(t, { root: true })) return;
  // [type, expected attach type, prog_flags]
  const types: [number, number | undefined, number][] = [
    [31, undefined, SLEEPABLE],
    [ProgType.FLOW_DISSECTOR, undefined, 0],
    [ProgType.CGROUP_DEVICE, 6, 0],
    [ProgType.CGROUP_DEVICE, undefined, 0],
    [24, undefined, 0],
    [ProgType.LWT_SEG6LOCAL, undefined, 0],
    // lwt_in, lwt_out and lwt_xmit share lwt_seg6local's table (bpf_ktime_get_coarse_ns was missing from it).
    [ProgType.LWT_IN, undefined, 0],
    [ProgType.LWT_OUT, undefined, 0],
    [ProgType.LWT_XMIT, undefined, 0],
    ...(haveBtf ? [[NETFILTER, 45, 0] as [number, number, number]] : []),
  ];
  const refused = /cannot use helper/;
  for (const [type, attach, flags] of types)
    for (const id of HELPER_PROTOS.keys()) {
      // r1 is the ctx, the other arguments unset: both stop at an argument when the type has the helper.
      const insns = sockProgram(`call ${id}\nr0 = 0\nexit`);
      const v = verifyInstructions(insns, {
        type,
        attachType: attach,
        sleepable: flags !== 0,
        ...(type === NETFILTER ? { kernelBtf: kernelBtf() } : {}),
      });
      const what = `type ${type} (attach ${attach}) helper ${id}`;
      // The helpers a type gets in a prototype bpfkit does not list are not modelled: no verdict to compare.
      if (v.unmodelled) continue;
      const k = kernelVerdictRaw(insns, type, [], attach, undefined, flags);
      assert.equal(
        refused.test(lastLine(v.message) ?? ''),
        refused.test(lastLine(k.message) ?? ''),
        `${what}: kernel ${k.message}, bpfkit ${v.message}`,
      );
      assert.equal(v.accepted, k.accepted, `${what}: kernel ${k.message}, bpfkit ${v.message}`);
    }
});
