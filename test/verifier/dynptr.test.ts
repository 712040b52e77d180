/**
 * Dynptrs made and used by helpers (src/verifier/dynptr.ts): bpfkit's verdict on each program of
 * dynptr-cases.ts is held to the expectation there, and as root the running kernel judges every program
 * too: same verdict, same instruction, same last line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapType } from '../../src/uapi/types.js';
import { verifyInstructions, type VerifierMap, type VerifyResult } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant, lastLine } from './expect.js';
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
    assertKernelAgrees(c.name, v, k);
    if (/reference leak$/.test(k.message ?? ''))
      assert.ok(k.log.includes(v.message!.split('\n')[0]!), `${c.name}: ${v.message} / ${k.log.slice(-300)}`);
  }
});

test('dynptrs: a user_ringbuf_drain callback gets a const dynptr it may only read through helpers', () => {
  // Callbacks need BTF to load, so these follow the kernel's verdicts on the selftests' user_ringbuf_fail
  // programs (the sweep compares them): the same rules, on programs small enough to read.
  const maps: VerifierMap[] = [
    { name: 'urb', type: MapType.USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, readOnly: false },
    ...DYNPTR_MAPS,
  ];
  const drain = (body: string, ret = 0) =>
    sockProgram(`r1 = map 0\nr2 = func cb\nr3 = 0\nr4 = 0\ncall 209\nr0 = 0\nexit\ncb:\n${body}\nr0 = ${ret}\nexit`);
  const run = (body: string, ret = 0) =>
    verifyInstructions(drain(body, ret), { type: DYNPTR_PROG_TYPE, maps, funcInfo: true });
  const read = (r3: string) => `r3 = r1\n${r3}\nr1 = r10\nr1 += -8\nr2 = 8\nr4 = 0\nr5 = 0\ncall 201`;
  assert.equal(run(read('')).accepted, true, run(read('')).message);
  const cases: [string, VerifyResult, number, string][] = [
    ['a load through it', run('r0 = *(u64 *)(r1 + 0)'), 9, "R1 invalid mem access 'dynptr_ptr'"],
    ['moved up', run(read('r3 += 16')), 16, 'dereference of modified dynptr_ptr ptr R3 off=16 disallowed'],
    ['moved down', run(read('r3 += -16')), 16, 'negative offset dynptr_ptr ptr R3 off=-16 disallowed'],
    ['submitted', run('r2 = 0\ncall 199'), 10, 'cannot release unowned const bpf_dynptr'],
    [
      'made again',
      run('r4 = r1\nr1 = map 1\nr2 = 8\nr3 = 0\ncall 198'),
      14,
      'Dynptr has to be an uninitialized dynptr',
    ],
    ['returning 2', run('', 2), 10, 'At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]'],
    ['the context read when none was given', run('r0 = *(u64 *)(r2 + 0)'), 9, "R2 invalid mem access 'scalar'"],
  ];
  for (const [name, v, pc, line] of cases) {
    assert.equal(v.accepted, false, name);
    assert.notEqual(v.unmodelled, true, `${name}: ${v.message}`);
    assert.equal(lastLine(v.message), line, name);
    assert.equal(v.pc, pc, `${name}: ${v.message}`);
  }
});

test('dynptrs: a ring buffer dynptr given back inside a callback is not modelled', () => {
  const p = sockProgram(
    `r1 = map 0\nr2 = 8\nr3 = 0\nr4 = r10\nr4 += -16\ncall 198\nr1 = 1\nr2 = func cb\nr3 = r10\nr3 += -16\nr4 = 0\ncall 181\nr1 = r10\nr1 += -16\nr2 = 0\ncall 200\nr0 = 0\nexit\ncb:\nr1 = r2\nr2 = 0\ncall 200\nr0 = 0\nexit`,
  );
  const v = verifyInstructions(p, { type: DYNPTR_PROG_TYPE, maps: DYNPTR_MAPS, funcInfo: true });
  assert.equal(v.unmodelled, true, v.message);
  assert.match(v.message!, /released inside a callback: bpfkit does not model it/);
});
