/**
 * Sleepable iterator programs (`iter.s/`, BPF_F_SLEEPABLE; src/verifier/sleepable.ts, btf-ptr.ts): they run
 * outside an RCU read section, so a walk to a field of the kernel's RCU lists from the trusted iterated
 * object gives an untrusted pointer (an RCU one inside bpf_rcu_read_lock, untrusted again after the
 * unlock); helpers that may sleep are allowed, but not inside the section; a helper's returned object is
 * typed as in any program. Each case is judged by bpfkit, and as root by the running kernel too: same
 * verdict, same instruction, same words. `sleepable: false` runs the same text as a plain iterator, to
 * show the flag is what changes the verdict.
 */
import { test } from 'node:test';
import { type Btf, BtfKind } from '../../src/btf/index.js';
import { verifyInstructions, type VerifyResult } from '../../src/verifier/index.js';
import type { Instruction } from '../../src/isa/instruction.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant, type Want } from './expect.js';
import { kfuncProgram } from './kfunc-cases.js';

const TRACING = 26;
const TRACE_ITER = 28;
const BPF_F_SLEEPABLE = 1 << 4;

interface Case {
  name: string;
  /** The iterator target (`bpf_iter_<target>`): its object is the context's second slot. */
  target: 'task' | 'cgroup';
  sleepable: boolean;
  /** Program text (kfunc-cases.ts's syntax: `call kfunc NAME`, `off(struct.member)`). */
  text: string;
  want: Want;
}

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({
  pc,
  re: new RegExp(`^${text.replace(/[()[\]|+*?.{}']/g, '\\$&')}$`),
});
const exitWith = (what: string) => `At program exit the register R0 is not a known value (${what})`;

/** r6 = the iterated object; to `out` (return 0) when NULL (the iterator's last call). */
const OBJ = 'r6 = *(u64 *)(r1 + 8)\nif r6 == 0 goto out';
const END = 'out:\nr0 = 0\nexit';
/** bpf_copy_from_user(fp-8, 8, NULL): a helper that may sleep. */
const COPY = '*(u64 *)(r10 - 8) = 0\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 148';

const CASES: readonly Case[] = [
  {
    name: 'cgroup->kn outside an RCU read section is untrusted',
    target: 'cgroup',
    sleepable: true,
    text: `${OBJ}\nr0 = *(u64 *)(r6 + off(cgroup.kn))\nexit\n${END}`,
    want: at(3, exitWith('untrusted_ptr_')),
  },
  {
    name: 'cgroup->kn in a plain iterator is an RCU pointer',
    target: 'cgroup',
    sleepable: false,
    text: `${OBJ}\nr0 = *(u64 *)(r6 + off(cgroup.kn))\nexit\n${END}`,
    want: at(3, exitWith('rcu_ptr_')),
  },
  {
    name: 'cgroup->kn->id read outside an RCU read section',
    target: 'cgroup',
    sleepable: true,
    text: `${OBJ}\nr2 = *(u64 *)(r6 + off(cgroup.kn))\nr0 = *(u64 *)(r2 + off(kernfs_node.id))\n${END}`,
    want: OK,
  },
  {
    name: 'cgroup->kn loaded inside bpf_rcu_read_lock, returned after the unlock',
    target: 'cgroup',
    sleepable: true,
    text: `${OBJ}\ncall kfunc bpf_rcu_read_lock\nr6 = *(u64 *)(r6 + off(cgroup.kn))\ncall kfunc bpf_rcu_read_unlock\nr0 = r6\nexit\n${END}`,
    want: at(6, exitWith('untrusted_ptr_')),
  },
  {
    name: 'task->real_parent outside an RCU read section is untrusted',
    target: 'task',
    sleepable: true,
    text: `${OBJ}\nr0 = *(u64 *)(r6 + off(task_struct.real_parent))\nexit\n${END}`,
    want: at(3, exitWith('untrusted_ptr_')),
  },
  {
    name: 'task->group_leader outside an RCU read section is untrusted',
    target: 'task',
    sleepable: true,
    text: `${OBJ}\nr0 = *(u64 *)(r6 + off(task_struct.group_leader))\nexit\n${END}`,
    want: at(3, exitWith('untrusted_ptr_')),
  },
  {
    name: 'task->mm is untrusted, sleepable or not',
    target: 'task',
    sleepable: true,
    text: `${OBJ}\nr0 = *(u64 *)(r6 + off(task_struct.mm))\nexit\n${END}`,
    want: at(3, exitWith('untrusted_ptr_')),
  },
  {
    name: 'bpf_copy_from_user in a sleepable iterator',
    target: 'task',
    sleepable: true,
    text: `${COPY}\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: 'bpf_copy_from_user in a plain iterator',
    target: 'task',
    sleepable: false,
    text: `${COPY}\nr0 = 0\nexit`,
    want: at(5, 'helper call might sleep in a non-sleepable prog'),
  },
  {
    name: 'bpf_copy_from_user inside bpf_rcu_read_lock',
    target: 'task',
    sleepable: true,
    text: `call kfunc bpf_rcu_read_lock\n${COPY}\ncall kfunc bpf_rcu_read_unlock\nr0 = 0\nexit`,
    want: at(6, 'sleepable helper bpf_copy_from_user#148 in rcu_read_lock region'),
  },
  {
    name: 'bpf_task_pt_regs of the iterated task, read',
    target: 'task',
    sleepable: true,
    text: `${OBJ}\nr1 = r6\ncall 175\nif r0 == 0 goto out\nr0 = *(u64 *)(r0 + 0)\n${END}`,
    want: OK,
  },
  {
    name: 'bpf_task_pt_regs given the iterated task before its NULL check',
    target: 'task',
    sleepable: true,
    text: `r1 = *(u64 *)(r1 + 8)\ncall 175\n${END}`,
    want: at(1, 'R1 type=trusted_ptr_or_null_ expected=ptr_, trusted_ptr_, rcu_ptr_'),
  },
];

function insns(btf: Btf, c: Case): Instruction[] {
  return kfuncProgram(btf, c.text);
}

function bpfkitVerdict(btf: Btf, c: Case): VerifyResult {
  return verifyInstructions(insns(btf, c), {
    type: TRACING,
    attachType: TRACE_ITER,
    kernelBtf: btf,
    attachBtfName: `bpf_iter_${c.target}`,
    sleepable: c.sleepable,
  });
}

test('sleepable iterators: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of CASES) assertWant(c.name, bpfkitVerdict(btf, c), c.want);
});

test('sleepable iterators: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of CASES) {
    const f = btf.byName(`bpf_iter_${c.target}`, BtfKind.FUNC);
    if (!f) throw new Error(`no bpf_iter_${c.target} in the kernel's BTF`);
    const flags = c.sleepable ? BPF_F_SLEEPABLE : 0;
    const k = kernelVerdictRaw(insns(btf, c), TRACING, [], TRACE_ITER, f.id, flags);
    assertKernelAgrees(c.name, bpfkitVerdict(btf, c), k);
  }
});
