/**
 * tp_btf's and iterators' helper table (calls.ts, hook-helpers.ts's TP_BTF_MORE): bpfkit's verdict on each
 * program of tp-helpers-cases.ts is held to the expectation there, and as root the running kernel judges
 * every program too: same verdict, same instruction, same last line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BtfKind } from '../../src/btf/index.js';
import { verifyInstructions } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { TRACE_RAW_TP } from './kfunc-cases.js';
import { type TableCase, tableProgram } from './helper-tables-cases.js';
import { TP_HELPER_CASES, type TpHelperCase } from './tp-helpers-cases.js';

/** BPF_TRACE_ITER. */
const TRACE_ITER = 28;
const attachOf = (c: TableCase) => (c.tp ? TRACE_RAW_TP : TRACE_ITER);
const targetOf = (c: TableCase) => (c.tp ? `btf_trace_${c.tp}` : `bpf_iter_${c.iter}`);

const verdict = (c: TpHelperCase, release?: string) =>
  verifyInstructions(tableProgram(kernelBtf(), c.text), {
    type: c.type,
    attachType: attachOf(c),
    attachBtfName: targetOf(c),
    kernelBtf: kernelBtf(),
    maps: c.maps ?? [],
    ...(c.license ? { license: c.license } : {}),
    ...(release ? { kernelRelease: release } : {}),
  });

test('tp_btf helpers: bpfkit says what each case expects on 6.18', (t) => {
  if (skipWithoutBtf(t)) return;
  for (const c of TP_HELPER_CASES) assertWant(c.name, verdict(c, '6.18.44'), c.want);
});

test('tp_btf helpers: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of TP_HELPER_CASES) {
    const v = verdict(c);
    assert.notEqual(v.unmodelled, true, `${c.name}: not modelled: ${v.message}`);
    const id = btf.byName(targetOf(c), c.tp ? BtfKind.TYPEDEF : BtfKind.FUNC)!.id;
    const k = kernelVerdictRaw(tableProgram(btf, c.text), c.type, c.maps ?? [], attachOf(c), id, 0, c.license);
    assertKernelAgrees(c.name, v, k);
  }
});

/** `call id; r0 = 0; exit` in a tp_btf program (sched_switch) or an iterator (task): the context in r1 only. */
const bareCall = (id: number, iter: boolean): TableCase => ({
  name: `helper #${id} in ${iter ? 'an iterator' : 'tp_btf'}`,
  type: 26,
  ...(iter ? { iter: 'task' } : { tp: 'sched_switch' }),
  text: `call ${id}\nr0 = 0\nexit`,
  want: { ok: true },
});

/**
 * What bpfkit leaves not modelled of a bare call in these programs on 6.18: helpers the kernel gives them
 * whose prototype there bpfkit lacks (find_vma's and user_ringbuf_drain's callbacks),
 * bpf_probe_write_user (the kernel's lockdown decides) and the user ring buffer's callback.
 */
const BARE_UNMODELLED = new Set([36, 180, 209]);

test('tp_btf helpers: a bare call of every helper, as the running kernel judges it (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const iter of [false, true]) {
    const id0 = btf.byName(
      iter ? 'bpf_iter_task' : 'btf_trace_sched_switch',
      iter ? BtfKind.FUNC : BtfKind.TYPEDEF,
    )!.id;
    for (let id = 1; id <= 212; id++) {
      const c = bareCall(id, iter);
      const v = verdict(c);
      const byTable = /does not model its prototype there/.test(v.message ?? '');
      assert.equal(byTable, BARE_UNMODELLED.has(id), `${c.name}: ${v.message}`);
      // What bpfkit leaves not modelled for its arguments (a timer given the context) the kernel may judge.
      if (v.unmodelled) continue;
      const k = kernelVerdictRaw(tableProgram(btf, c.text), c.type, [], attachOf(c), id0);
      assertKernelAgrees(c.name, v, k);
    }
  }
});

test('tp_btf helpers: on another release the 6.18 refusals are not modelled', (t) => {
  if (skipWithoutBtf(t)) return;
  const c = bareCall(26, false);
  assert.equal(verdict(c, '6.18.2').message, 'program of this type cannot use helper bpf_skb_load_bytes#26');
  const other = verdict(c, '6.19.0');
  assert.equal(other.unmodelled, true, other.message);
  assert.match(
    other.message ?? '',
    /^helper bpf_skb_load_bytes#26 in a tp_btf program: bpfkit does not model tracing's helper table of this release/,
  );
});
