/**
 * Socket pointers and their references (src/verifier/sock-ptr.ts): bpfkit's verdict on each program of
 * sock-ptr-cases.ts is held to the expectation there, and as root the running kernel judges every
 * program too: same verdict, same instruction, same words, and says which program types have each socket
 * helper. Callbacks that take or give back a socket
 * reference need BTF to load, so the kernel cannot judge them here: bpfkit must say they are not modelled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgType } from '../../src/uapi/types.js';
import { verifyInstructions, type VerifyResult } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant, lastLine } from './expect.js';
import { SOCK_CASES, type SockCase, sockProgram } from './sock-ptr-cases.js';

const verdict = (c: SockCase): VerifyResult =>
  verifyInstructions(sockProgram(c.text), { type: c.type, attachType: c.attach, maps: c.maps ?? [] });

test('socket pointers: bpfkit says what each case expects', () => {
  for (const c of SOCK_CASES) {
    const v = verdict(c);
    assertWant(c.name, v, c.want);
  }
});

test('socket pointers: a leak names every reference held, then what leaks it', () => {
  const c = SOCK_CASES.find((x) => x.name === 'tc: lookup, not released')!;
  const v = verdict(c);
  assert.equal(
    v.message,
    'Unreleased reference id=2 alloc_insn=8\nBPF_EXIT instruction in main prog would lead to reference leak',
  );
});

test('socket pointers: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (!needs(t, { root: true })) return;
  for (const c of SOCK_CASES) {
    const k = kernelVerdictRaw(sockProgram(c.text), c.type, c.maps ?? [], c.attach);
    const v = verdict(c);
    if ('unmodelled' in c.want) {
      assert.equal(v.unmodelled, true, `${c.name}: ${v.message}`);
      continue;
    }
    assertKernelAgrees(c.name, v, k);
    // The lines before the last name the references held, as the kernel's do.
    if (/reference leak$/.test(k.message ?? ''))
      assert.ok(k.log.includes(v.message!.split('\n')[0]!), `${c.name}: ${v.message} / ${k.log.slice(-300)}`);
  }
});

test('socket pointers: a reference taken or given back inside a callback is not modelled', () => {
  const lookup = `r2 = 0\n*(u64 *)(r10 - 8) = r2\n*(u64 *)(r10 - 16) = r2\nr2 = r10\nr2 += -16\nr3 = 12\nr4 = 0\nr5 = 0\ncall 84`;
  // The caller spills the ctx at fp-8 and hands its stack to bpf_loop; the callback finds it through r2.
  const taken = sockProgram(
    `*(u64 *)(r10 - 8) = r1\nr1 = 1\nr2 = func cb\nr3 = r10\nr3 += -8\nr4 = 0\ncall 181\nr0 = 0\nexit\ncb:\nr1 = *(u64 *)(r2 + 0)\n${lookup}\nif r0 == 0 goto out\nr1 = r0\ncall 86\nout:\nr0 = 0\nexit`,
  );
  // The caller looks a socket up and spills it at fp-24; the callback releases it.
  const released = sockProgram(
    `${lookup}\nif r0 == 0 goto out\n*(u64 *)(r10 - 24) = r0\nr1 = 1\nr2 = func cb\nr3 = r10\nr3 += -24\nr4 = 0\ncall 181\nr1 = *(u64 *)(r10 - 24)\ncall 86\nout:\nr0 = 0\nexit\ncb:\nr1 = *(u64 *)(r2 + 0)\ncall 86\nr0 = 0\nexit`,
  );
  for (const [name, insns, pc] of [
    ['taken', taken, 19],
    ['released', released, 23],
  ] as const) {
    const v = verifyInstructions(insns, { type: ProgType.SCHED_CLS, funcInfo: true });
    assert.equal(v.accepted, false, name);
    assert.equal(v.unmodelled, true, `${name}: ${v.message}`);
    assert.equal(v.pc, pc, `${name}: ${v.message}`);
  }
});

test('socket helpers: which program types have them, as the running kernel says, with its words (root)', (t) => {
  if (!needs(t, { root: true })) return;
  // [type, expected attach type]: every type bpfkit models, with an attach type it loads with.
  const types: [number, number?][] = [
    [1],
    [2],
    [3],
    [4],
    [5],
    [6],
    [7],
    [8],
    [9, 2],
    [10],
    [11],
    [12],
    [13, 3],
    [14],
    [16, 7],
    [17],
    [18, 10],
    [21, 39],
    [23, 18],
    [25, 21],
    [25, 22],
    [30, 36],
  ];
  const helpers = [46, 84, 85, 86, 95, 96, 98, 99, 100, 107, 108, 110, 124];
  for (const [type, attach] of types)
    for (const id of helpers) {
      // The arguments are left unset: where the type has the helper, both stop at its first argument.
      const insns = sockProgram(`call ${id}\nr0 = 0\nexit`);
      const k = kernelVerdictRaw(insns, type, [], attach);
      const v = verifyInstructions(insns, { type, attachType: attach });
      const what = `type ${type} (attach ${attach}) helper ${id}`;
      assert.notEqual(v.unmodelled, true, `${what}: ${v.message}`);
      assert.equal(v.accepted, k.accepted, `${what}: kernel ${k.message}`);
      assert.equal(lastLine(v.message), lastLine(k.message), what);
    }
});
