/**
 * A sleepable kfunc (KF_SLEEPABLE: bpf_copy_from_user_str, src/verifier/kfunc.ts): only a sleepable
 * program may call it, and not inside an RCU read section or with preemption disabled; its memory, size
 * pair is checked as any kfunc's. Each case is judged by bpfkit, and as root by the running kernel too:
 * same verdict, same instruction, same words.
 */
import { test } from 'node:test';
import type { Btf } from '../../src/btf/index.js';
import { verifyInstructions, type VerifyResult } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant, type Want } from './expect.js';
import { kfuncProgram } from './kfunc-cases.js';

const SOCKET_FILTER = 1;
const SYSCALL = 31;
const BPF_F_SLEEPABLE = 1 << 4;

interface Case {
  name: string;
  type: number;
  text: string;
  want: Want;
}

const at = (pc: number, text: string): Want => ({
  pc,
  re: new RegExp(`^${text.replace(/[()[\]|+*?.{}']/g, '\\$&')}$`),
});
/** bpf_copy_from_user_str(fp-8, SIZE, NULL, 0). */
const copy = (size = 8) => `r1 = r10\nr1 += -8\nr2 = ${size}\nr3 = 0\nr4 = 0\ncall kfunc bpf_copy_from_user_str`;
const END = 'r0 = 0\nexit';

const CASES: readonly Case[] = [
  { name: 'a sleepable program copies a string', type: SYSCALL, text: `${copy()}\n${END}`, want: { ok: true } },
  {
    name: 'a program that may not sleep',
    type: SOCKET_FILTER,
    text: `${copy()}\n${END}`,
    want: at(5, 'program must be sleepable to call sleepable kfunc bpf_copy_from_user_str'),
  },
  {
    name: 'inside bpf_rcu_read_lock',
    type: SYSCALL,
    text: `call kfunc bpf_rcu_read_lock\n${copy()}\ncall kfunc bpf_rcu_read_unlock\n${END}`,
    want: at(6, 'kernel func bpf_copy_from_user_str is sleepable within rcu_read_lock region'),
  },
  {
    name: 'with preemption disabled',
    type: SYSCALL,
    text: `call kfunc bpf_preempt_disable\n${copy()}\ncall kfunc bpf_preempt_enable\n${END}`,
    want: at(6, 'kernel func bpf_copy_from_user_str is sleepable within non-preemptible region'),
  },
  {
    name: 'a size past the stack buffer',
    type: SYSCALL,
    text: `${copy(16)}\n${END}`,
    want: at(5, 'arg#0 arg#1 memory, len pair leads to invalid memory access'),
  },
];

const flagsOf = (c: Case) => (c.type === SYSCALL ? BPF_F_SLEEPABLE : 0);

function verdict(btf: Btf, c: Case): VerifyResult {
  return verifyInstructions(kfuncProgram(btf, c.text), { type: c.type, kernelBtf: btf, sleepable: flagsOf(c) !== 0 });
}

test('sleepable kfuncs: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of CASES) assertWant(c.name, verdict(btf, c), c.want);
});

test('sleepable kfuncs: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of CASES) {
    const k = kernelVerdictRaw(kfuncProgram(btf, c.text), c.type, [], undefined, undefined, flagsOf(c));
    assertKernelAgrees(c.name, verdict(btf, c), k);
  }
});
