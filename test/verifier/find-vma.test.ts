/**
 * bpf_find_vma (src/verifier/find-vma.ts) and stores through kernel objects in the program types that
 * have no btf_struct_access (memory.ts): the callback gets the task, a plain vm_area_struct pointer and
 * the context, returns 0 or 1 and may run more than once as far as the verifier knows; a store through
 * either object is refused. Each case is judged by bpfkit, and as root by the running kernel too: same
 * verdict, same instruction, same words.
 */
import { test } from 'node:test';
import { verifyInstructions, type VerifyResult } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant, type Want } from './expect.js';
import { kfuncProgram } from './kfunc-cases.js';
import type { Btf } from '../../src/btf/index.js';

const SOCKET_FILTER = 1;
const KPROBE = 2;
const TRACEPOINT = 5;
const PERF_EVENT = 7;
const RAW_TRACEPOINT = 17;

interface Case {
  name: string;
  type: number;
  /** kfunc-cases.ts's syntax: labels, `r2 = func label`, `off(struct.member)`. */
  text: string;
  want: Want;
  license?: string;
}

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({
  pc,
  re: new RegExp(`^${text.replace(/[()[\]|+*?.{}']/g, '\\$&')}$`),
});

/** r6 = the current task (trusted), 8 zero bytes at fp-8 (the context), then bpf_find_vma(r6, 0, cb, CTX, 0). */
const call = (ctx = 'r10') =>
  `call 158\nr6 = r0\nr1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r6\nr2 = 0\nr3 = func cb\nr4 = ${ctx}\n${ctx === 'r10' ? 'r4 += -8\n' : ''}r5 = 0\ncall 180`;
/** The program: the call, 0 back, then the callback's body. */
const prog = (cb: string, ctx?: string, after = '') => `${call(ctx)}\n${after}r0 = 0\nexit\ncb:\n${cb}`;

const CASES: readonly Case[] = [
  {
    name: 'the callback reads vma->vm_pgoff and the task',
    type: RAW_TRACEPOINT,
    text: prog(
      'r0 = *(u64 *)(r2 + off(vm_area_struct.vm_pgoff))\nr0 = *(u32 *)(r1 + off(task_struct.pid))\nr0 = 0\nexit',
    ),
    want: OK,
  },
  {
    name: 'the callback writes vma->vm_pgoff',
    type: RAW_TRACEPOINT,
    text: prog('r3 = 1\n*(u64 *)(r2 + off(vm_area_struct.vm_pgoff)) = r3\nr0 = 0\nexit'),
    want: at(15, 'only read is supported'),
  },
  {
    name: 'the callback stores an immediate into the task',
    type: KPROBE,
    text: prog('*(u32 *)(r1 + off(task_struct.pid)) = 7\nr0 = 0\nexit'),
    want: at(14, 'only read is supported'),
  },
  {
    name: 'the callback returns 3',
    type: RAW_TRACEPOINT,
    text: prog('r0 = 3\nexit'),
    want: at(15, 'At callback return the register R0 has smin=3 smax=3 should have been in [0, 1]'),
  },
  {
    name: "the callback's r4 is not set",
    type: RAW_TRACEPOINT,
    text: prog('r0 = r4\nr0 = 0\nexit'),
    want: at(14, 'R4 !read_ok'),
  },
  {
    name: "the callback's r3 is the context on the stack",
    type: PERF_EVENT,
    text: prog('r0 = *(u64 *)(r3 + 0)\nr0 = 0\nexit'),
    want: OK,
  },
  {
    name: "the callback's r3 is a NULL context",
    type: TRACEPOINT,
    text: prog('r0 = *(u64 *)(r3 + 0)\nr0 = 0\nexit', '0'),
    want: at(13, "R3 invalid mem access 'scalar'"),
  },
  {
    name: 'the callback may run twice: a counter in the context reaches 2',
    type: RAW_TRACEPOINT,
    text: prog(
      'r1 = *(u64 *)(r3 + 0)\nr1 += 1\n*(u64 *)(r3 + 0) = r1\nr0 = 0\nexit',
      undefined,
      'r1 = *(u64 *)(r10 - 8)\nif r1 != 2 goto +1\nr0 = *(u64 *)(r1 + 0)\n',
    ),
    want: at(14, "R1 invalid mem access 'scalar'"),
  },
  {
    name: 'a NULL task, in a program whose license is not GPL',
    type: SOCKET_FILTER,
    text: 'r1 = 0\nr2 = 0\nr3 = func cb\nr4 = 0\nr5 = 0\ncall 180\nr0 = 0\nexit\ncb:\nr0 = 0\nexit',
    license: 'MIT',
    want: at(6, 'R1 type=scalar expected=ptr_, trusted_ptr_, rcu_ptr_'),
  },
  {
    // A plain vm_area_struct's pointer fields are on the kernel's lists bpfkit does not model.
    name: 'a socket filter walks vma->vm_mm',
    type: SOCKET_FILTER,
    text: prog('r0 = *(u64 *)(r2 + off(vm_area_struct.vm_mm))\nr0 = 0\nexit'),
    want: { unmodelled: true },
  },
  // Stores through the current task, outside any callback, in each type without btf_struct_access.
  ...[SOCKET_FILTER, KPROBE, TRACEPOINT, PERF_EVENT, RAW_TRACEPOINT].map((type): Case => ({
    name: `type ${type}: a store into the current task`,
    type,
    text: 'call 158\nr1 = 0\n*(u64 *)(r0 + off(task_struct.mm)) = r1\nr0 = 0\nexit',
    want: at(2, 'only read is supported'),
  })),
];

function verdict(btf: Btf, c: Case): VerifyResult {
  return verifyInstructions(kfuncProgram(btf, c.text), {
    type: c.type,
    kernelBtf: btf,
    funcInfo: true,
    ...(c.license ? { license: c.license } : {}),
  });
}

test('bpf_find_vma: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of CASES) assertWant(c.name, verdict(btf, c), c.want);
});

test('bpf_find_vma: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of CASES) {
    if ('unmodelled' in c.want) continue;
    const k = kernelVerdictRaw(kfuncProgram(btf, c.text), c.type, [], undefined, undefined, 0, c.license, true);
    assertKernelAgrees(c.name, verdict(btf, c), k);
  }
});
