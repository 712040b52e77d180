/**
 * Helpers of one program type's table (src/verifier/hook-helpers.ts) and tp_btf's share of raw_tp's table
 * (calls.ts): bpfkit's verdict on each program of helper-tables-cases.ts is held to the expectation there,
 * and as root the running kernel judges every program too: same verdict, same instruction, same last line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelHelperProbe } from '../../src/kernel/index.js';
import { ProgType } from '../../src/uapi/types.js';
import { BtfKind } from '../../src/btf/index.js';
import { verifyInstructions } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { TRACE_RAW_TP } from './kfunc-cases.js';
import { TABLE_CASES, type TableCase, tableProgram } from './helper-tables-cases.js';
import { sockProgram } from './sock-ptr-cases.js';

/** BPF_TRACE_ITER. */
const TRACE_ITER = 28;
const attachOf = (c: TableCase) => (c.tp ? TRACE_RAW_TP : c.iter ? TRACE_ITER : c.attach);
const targetOf = (c: TableCase) => (c.tp ? `btf_trace_${c.tp}` : c.iter ? `bpf_iter_${c.iter}` : undefined);

const verdict = (c: TableCase) =>
  verifyInstructions(tableProgram(kernelBtf(), c.text), {
    type: c.type,
    attachType: attachOf(c),
    attachBtfName: targetOf(c),
    kernelBtf: kernelBtf(),
    maps: c.maps ?? [],
    sleepable: c.sleepable,
  });

test('helper tables: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  for (const c of TABLE_CASES) assertWant(c.name, verdict(c), c.want);
});

test('helper tables: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of TABLE_CASES) {
    const v = verdict(c);
    if (v.unmodelled) {
      assert.ok('unmodelled' in c.want, `${c.name}: not modelled: ${v.message}`);
      continue;
    }
    const target = targetOf(c);
    const tpId = target ? btf.byName(target, c.tp ? BtfKind.TYPEDEF : BtfKind.FUNC)!.id : undefined;
    const k = kernelVerdictRaw(
      tableProgram(btf, c.text),
      c.type,
      c.maps ?? [],
      attachOf(c),
      tpId,
      c.sleepable ? 1 << 4 : 0,
    );
    assertKernelAgrees(c.name, v, k);
  }
});

test('helper tables: a helper bpfkit has no prototype for, which the target kernel refuses the type, in its words', (t) => {
  if (skipWithoutBtf(t)) return;
  // bpf_lwt_seg6_adjust_srh (75): upstream lwt_seg6local's, refused by a kernel built without
  // CONFIG_IPV6_SEG6_BPF (the kernel layer's probe says which).
  const insns = sockProgram('r2 = 0\nr3 = 0\nr4 = 0\ncall 75\nr0 = 0\nexit');
  const no = verifyInstructions(insns, {
    type: ProgType.LWT_SEG6LOCAL,
    helperAvailable: () => false,
    kernelBtf: kernelBtf(),
  });
  assert.equal(no.message, 'program of this type cannot use helper bpf_lwt_seg6_adjust_srh#75');
  assert.equal(no.pc, 3);
  const yes = verifyInstructions(insns, { type: ProgType.LWT_SEG6LOCAL, helperAvailable: () => true });
  assert.equal(yes.unmodelled, true, yes.message);
  // Without the kernel's BTF bpfkit cannot name the helper as the kernel does: not modelled.
  const unnamed = verifyInstructions(insns, { type: ProgType.LWT_SEG6LOCAL, helperAvailable: () => false });
  assert.equal(unnamed.unmodelled, true, unnamed.message);
  if (!needs(t, { root: true })) return;
  const probe = kernelHelperProbe();
  const v = verifyInstructions(insns, { type: ProgType.LWT_SEG6LOCAL, helperAvailable: probe, kernelBtf: kernelBtf() });
  if (v.unmodelled) return; // this kernel has the helper: its prototype is what bpfkit does not model
  assertKernelAgrees('seg6 helper', v, kernelVerdictRaw(insns, ProgType.LWT_SEG6LOCAL, []));
});
