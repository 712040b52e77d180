/**
 * tp_btf pointer arguments by Linux 6.18's raw_tp_null_args (src/verifier/tp-null.ts): bpfkit's verdict on
 * each program of tp-null-cases.ts is held to the expectation there, and as root on a 6.18 kernel the
 * running kernel judges every program too (same verdict, instruction and last line) and the probe that made
 * the table, run again, finds what the table says. On another release bpfkit keeps its short lists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BtfKind } from '../../src/btf/index.js';
import { verifyInstructions } from '../../src/verifier/index.js';
import { releaseSeries, tpNullFacts } from '../../src/verifier/tp-null.js';
import { TP_NULL_RELEASE, TP_NULL_TABLE } from '../../src/verifier/tp-null-table.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { TRACE_RAW_TP, TRACING, attachOf, kfuncProgram, kfuncVerdict } from './kfunc-cases.js';
import { TP_NULL_CASES } from './tp-null-cases.js';

/** bpfkit's verdict on a case, for a kernel of `release`. */
function verdictOn(release: string, tp: string, text: string) {
  const btf = kernelBtf();
  return verifyInstructions(kfuncProgram(btf, text), {
    type: TRACING,
    attachType: TRACE_RAW_TP,
    kernelBtf: btf,
    attachBtfName: `btf_trace_${tp}`,
    kernelRelease: release,
  });
}

/** Whether the running kernel is of the table's series (its BTF says: the loader stamps its release). */
const on618 = () => releaseSeries(kernelBtf().kernelRelease ?? '') === releaseSeries(TP_NULL_RELEASE);

test('tp_btf NULL-ness: the release series decides whether the table applies', () => {
  assert.equal(releaseSeries('6.18.44-fc-v1300'), '6.18');
  assert.equal(releaseSeries('6.18'), '6.18');
  assert.equal(releaseSeries('6.180.1'), '6.180');
  assert.equal(releaseSeries('weird'), undefined);
  assert.deepEqual(tpNullFacts('kfree_skb', '6.18.1'), { nullArgs: [3], errArgs: [], unknownArgs: [] });
  assert.deepEqual(tpNullFacts('signal_generate', '6.18.0-rc1'), { nullArgs: [], errArgs: [1], unknownArgs: [] });
  assert.deepEqual(tpNullFacts('block_rq_insert', '6.18.44'), { nullArgs: [], errArgs: [], unknownArgs: [] });
  for (const other of ['6.17.9', '6.19.0', '6.1.18', '', undefined])
    assert.equal(tpNullFacts('kfree_skb', other), undefined);
  assert.equal(tpNullFacts('no_such_tracepoint', '6.18.44'), undefined);
  // Every line is a name and its marks.
  for (const line of TP_NULL_TABLE.trim().split('\n')) assert.match(line, /^\w+( \d+[?!~])*$/);
});

test('tp_btf NULL-ness: bpfkit says what each case expects on 6.18', (t) => {
  if (skipWithoutBtf(t)) return;
  for (const c of TP_NULL_CASES) assertWant(c.name, verdictOn('6.18.44', c.tp!, c.text), c.want);
});

test('tp_btf NULL-ness: on another release the table is not used (short lists, else not modelled)', (t) => {
  if (skipWithoutBtf(t)) return;
  const read = 'r1 = *(u64 *)(r1 + 0)\nr2 = *(u32 *)(r1 + off(request.cmd_flags))\nr0 = 0\nexit';
  for (const release of ['6.17.3', '6.19.0', '7.0.0']) {
    const v = verdictOn(release, 'block_rq_insert', read);
    assertWant(`block_rq_insert on ${release}`, v, { unmodelled: true });
    assert.match(
      v.message ?? '',
      /raw_tp_null_args\) is not modelled by bpfkit \(it carries Linux 6\.18's table only\)/,
    );
    // sched_switch is on the short list of trusted tracepoints bpfkit keeps for any release.
    const sw = verdictOn(
      release,
      'sched_switch',
      'r1 = *(u64 *)(r1 + 8)\nr2 = *(u32 *)(r1 + off(task_struct.pid))\nr0 = 0\nexit',
    );
    assertWant(`sched_switch on ${release}`, sw, { ok: true });
  }
  // The release comes from the running kernel's BTF when none is given.
  const btf = kernelBtf();
  assert.equal(typeof btf.kernelRelease, 'string');
});

test('tp_btf NULL-ness: the running 6.18 kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  if (!on618()) {
    t.skip(`the running kernel is not ${releaseSeries(TP_NULL_RELEASE)}`);
    return;
  }
  const btf = kernelBtf();
  for (const c of TP_NULL_CASES) {
    const tpId = btf.byName(`btf_trace_${c.tp}`, BtfKind.TYPEDEF)!.id;
    const k = kernelVerdictRaw(kfuncProgram(btf, c.text), c.type, [], attachOf(c), tpId);
    const v = kfuncVerdict(btf, c);
    assert.notEqual(v.unmodelled, true, `${c.name}: not modelled: ${v.message}`);
    assertKernelAgrees(c.name, v, k);
  }
});

test('tp_btf NULL-ness: tools/tp-btf-probe.js run again on this kernel finds the table (root, same release)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  if (kernelBtf().kernelRelease !== TP_NULL_RELEASE) {
    t.skip(`the table is of ${TP_NULL_RELEASE}`);
    return;
  }
  const tool = fileURLToPath(new URL('../../../tools/tp-btf-probe.js', import.meta.url));
  const out = execFileSync(process.execPath, [tool], { encoding: 'utf8' }).trim().split('\n');
  const mark: Record<string, string> = { null: '?', err: '!' };
  const found = new Map<string, string[]>();
  for (const line of out.slice(1)) {
    const [name, arg, verdict] = line.split(' ');
    found.set(name!, [...(found.get(name!) ?? []), `${arg}${mark[verdict!] ?? '~'}`]);
  }
  const table = new Map<string, string[]>();
  for (const line of TP_NULL_TABLE.trim().split('\n')) {
    const [name, ...marks] = line.split(' ');
    if (marks.length) table.set(name!, marks);
  }
  assert.deepEqual(found, table);
});
