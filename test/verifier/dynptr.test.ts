/**
 * Dynptrs made and used by helpers (src/verifier/dynptr.ts): bpfkit's verdict on each program of
 * dynptr-cases.ts is held to the expectation there, and as root the running kernel judges every program
 * too: same verdict, same instruction, same last line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyInstructions, type VerifyResult } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertWant, lastLine } from './expect.js';
import { DYNPTR_CASES, DYNPTR_MAPS, DYNPTR_PROG_TYPE, type DynptrCase } from './dynptr-cases.js';
import { sockProgram } from './sock-ptr-cases.js';

const verdict = (c: DynptrCase): VerifyResult =>
  verifyInstructions(sockProgram(c.text), { type: c.type ?? DYNPTR_PROG_TYPE, maps: DYNPTR_MAPS });

test('dynptrs: bpfkit says what each case expects', () => {
  for (const c of DYNPTR_CASES) assertWant(c.name, verdict(c), c.want);
});

test('dynptrs: a leaked ring buffer dynptr names its reference and the call that took it', () => {
  const c = DYNPTR_CASES.find((x) => x.name.startsWith('ringbuf: reserve, never released'))!;
  assert.equal(
    verdict(c).message,
    'Unreleased reference id=2 alloc_insn=6\nBPF_EXIT instruction in main prog would lead to reference leak',
  );
});

test('dynptrs: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (!needs(t, { root: true })) return;
  for (const c of DYNPTR_CASES) {
    const k = kernelVerdictRaw(sockProgram(c.text), c.type ?? DYNPTR_PROG_TYPE, DYNPTR_MAPS);
    const v = verdict(c);
    assert.equal(
      v.accepted,
      k.accepted,
      `${c.name}: kernel ${k.accepted ? 'accepts' : `refuses at ${k.pc}: ${k.message}`}; bpfkit ${v.accepted ? 'accepts' : `refuses at ${v.pc}: ${v.message}`}`,
    );
    if (k.accepted) continue;
    assert.equal(lastLine(v.message), lastLine(k.message), `${c.name}: words`);
    if (k.pc !== undefined) assert.equal(v.pc, k.pc, `${c.name}: insn`);
    if (/reference leak$/.test(k.message ?? ''))
      assert.ok(k.log.includes(v.message!.split('\n')[0]!), `${c.name}: ${v.message} / ${k.log.slice(-300)}`);
  }
});
