/**
 * `__ksym` ldimm64s (src/verifier/ksyms.ts): bpfkit's verdict on each program of ksyms-cases.ts is held to
 * the expectation there for this kernel's symbol table, and as root the running kernel judges every
 * program too: same verdict, same instruction, same last line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BtfKind } from '../../src/btf/index.js';
import { ProgType } from '../../src/uapi/types.js';
import { verifyInstructions } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { TRACE_RAW_TP } from './kfunc-cases.js';
/** BPF_F_SLEEPABLE. */
const BPF_F_SLEEPABLE = 1 << 4;
import { KSYM_CASES, ksymProgram, ksymVerdict, wantOf } from './ksyms-cases.js';

test('ksyms: bpfkit says what each case expects on this kernel', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of KSYM_CASES) assertWant(c.name, ksymVerdict(btf, c), wantOf(c));
});

test('ksyms: without word from the symbol table, a ksym is not modelled; with it, a variable still is not', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  const insns = ksymProgram(btf, 'r1 = ksym bpf_task_acquire\nr0 = 0\nexit');
  const unknown = verifyInstructions(insns, { type: ProgType.KPROBE, kernelBtf: btf });
  assert.equal(unknown.unmodelled, true, unknown.message);
  const missing = verifyInstructions(insns, { type: ProgType.KPROBE, kernelBtf: btf, ksymFound: () => false });
  assert.equal(missing.message, "ldimm64 failed to find the address for kernel symbol 'bpf_task_acquire'.");
  const variable = ksymProgram(btf, 'r1 = ksym bpf_prog_active\nr0 = 0\nexit');
  const found = verifyInstructions(variable, { type: ProgType.KPROBE, kernelBtf: btf, ksymFound: () => true });
  assert.equal(found.unmodelled, true, found.message);
  // Without the kernel's BTF the id names nothing bpfkit can look up.
  assert.equal(verifyInstructions(insns, { type: ProgType.KPROBE, ksymFound: () => true }).unmodelled, true);
});

test('ksyms: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of KSYM_CASES) {
    const v = ksymVerdict(btf, c);
    if (v.unmodelled) {
      assert.ok('unmodelled' in wantOf(c), `${c.name}: not modelled: ${v.message}`);
      continue;
    }
    const tpId = c.tp ? btf.byName(`btf_trace_${c.tp}`, BtfKind.TYPEDEF)!.id : undefined;
    const k = kernelVerdictRaw(
      ksymProgram(btf, c.text),
      c.type,
      c.maps ?? [],
      c.tp ? TRACE_RAW_TP : undefined,
      tpId,
      c.sleepable ? BPF_F_SLEEPABLE : 0,
    );
    assertKernelAgrees(c.name, v, k);
  }
});
