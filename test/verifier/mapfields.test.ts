/**
 * Timers and kptrs in map values (mapfields-cases.ts): bpfkit's verdict, instruction and last log line
 * against the expectation, and as root the running kernel's against the same program, so the expectation
 * itself is checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runningKernel } from '../../src/loader/kernel-env.js';
import { verifyInstructions } from '../../src/verifier/index.js';
import { isRoot } from '../support/env.js';
import { judgeCPrograms } from './c-programs.js';
import { assertWant, lastLine } from './expect.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { build } from './boundary-programs.js';
import { KPTR_CASES, MAP_FIELD_CASES, XCHG_CASES, XCHG_MAP } from './mapfields-cases.js';
import { kfuncProgram } from './kfunc-cases.js';
import { ProgType } from '../../src/uapi/types.js';

test('map fields: timers and kptrs get the kernel verdict, insn and words', (t) => judgeCPrograms(t, MAP_FIELD_CASES));

test('map fields: kptr accesses get the kernel verdict, insn and words', (t) => {
  // A kptr's load is typed by the kernel's BTF: without it, the cases are judged without the loads.
  const kernelBtf = existsSync('/sys/kernel/btf/vmlinux') ? runningKernel().btf() : undefined;
  if (!kernelBtf) t.diagnostic('no kernel BTF: kptr loads are not judged');
  for (const c of KPTR_CASES) {
    if (!kernelBtf && c.text.includes('r1 = *(u64 *)(r0 + ')) continue;
    const insns = build(c.text);
    const v = verifyInstructions(insns, { type: c.type, maps: c.maps, kernelBtf });
    assertWant(c.name, v, c.want);
    if ('unmodelled' in c.want) assert.doesNotMatch(v.message!, /\n/, `${c.name}: one line`);
    if (!isRoot() || 'unmodelled' in c.want) continue;
    const k = kernelVerdictRaw(insns, c.type, c.maps);
    assert.equal(k.accepted, v.accepted, `${c.name}: kernel ${k.accepted ? 'accepted' : `refused: ${k.message}`}`);
    if (k.accepted) continue;
    assert.equal(lastLine(k.message), lastLine(v.message), `${c.name}: kernel's words`);
    assert.equal(k.pc, v.pc, `${c.name}: kernel's insn`);
  }
});

test('map fields: bpf_kptr_xchg gets the kernel verdict, insn and words', (t) => {
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    t.skip('no kernel BTF');
    return;
  }
  const btf = runningKernel().btf()!;
  for (const c of XCHG_CASES) {
    const insns = kfuncProgram(btf, c.text);
    const v = verifyInstructions(insns, { type: ProgType.SCHED_CLS, maps: [XCHG_MAP], kernelBtf: btf });
    assertWant(c.name, v, c.want);
    if (!isRoot()) continue;
    const k = kernelVerdictRaw(insns, ProgType.SCHED_CLS, [XCHG_MAP]);
    assert.equal(k.accepted, v.accepted, `${c.name}: kernel ${k.accepted ? 'accepted' : `refused: ${k.message}`}`);
    if (k.accepted) continue;
    assert.equal(lastLine(k.message), lastLine(v.message), `${c.name}: kernel's words`);
    assert.equal(k.pc, v.pc, `${c.name}: kernel's insn`);
  }
});

test('map fields: a value whose fields the kernel may not record is not judged', () => {
  // btf_parse_fields fails past 11 fields, on a second timer, on a kptr of no struct: the map then has
  // no fields for the kernel (cpumask_failure's test_invalid_nested_array: "R1 has no valid kptr").
  const base = XCHG_MAP;
  const many = Array.from({ length: 12 }, (_, i) => ({ off: i * 8, size: 8, what: '__kptr', target: 'task_struct' }));
  const variants = [
    { ...base, valueSize: 96, kernelFields: many },
    {
      ...base,
      kernelFields: [
        { off: 0, size: 16, what: 'struct bpf_timer' },
        { off: 16, size: 16, what: 'struct bpf_timer' },
      ],
    },
    { ...base, kernelFields: [{ off: 8, size: 8, what: '__kptr' }] },
    { ...base, kernelFields: [{ off: 8, size: 8, what: 'tag user' }] },
  ];
  for (const m of variants) {
    const v = verifyInstructions(build(KPTR_CASES[0]!.text), { type: ProgType.SCHED_CLS, maps: [m] });
    assert.equal(v.unmodelled, true, `${JSON.stringify(m.kernelFields?.[0])}: ${v.message}`);
    assert.match(v.message!, /whether the kernel records its fields is not modelled/);
  }
});
