/**
 * A store through a stack pointer with a variable offset that reaches a whole slot holding a spilled
 * register (src/verifier/stack-var.ts, check_stack_write_var_off): the spill is erased and the slot's
 * bytes become "anything", a zero written too, unless the spill is a scalar known to be 0 (not modelled,
 * as a store reaching part of a spilled slot). Each case is judged by bpfkit, and as root by the running
 * kernel too: same verdict, same instruction, same words.
 */
import { test } from 'node:test';
import { verifyInstructions, type VerifyResult } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { build } from './boundary-programs.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant, type Want } from './expect.js';

const SOCKET_FILTER = 1;

interface Case {
  name: string;
  text: string;
  want: Want;
}

const at = (pc: number, re: RegExp): Want => ({ pc, re });
const SCALAR_DEREF = /^R3 invalid mem access 'scalar'$/;

/**
 * r6 = the context, spilled at fp-16 (`spill` may spill something else); r2 = fp-16 or fp-12 (skb->len
 * & 4 added), then `store` (4 bytes at r2: the slot at fp-16 whole, as far as the verifier knows), then
 * r3 filled from fp-16 and `use`d.
 */
const prog = (store: string, use: string, spill = '*(u64 *)(r10 - 16) = r6', base = -16) =>
  `r6 = r1\nr7 = *(u32 *)(r6 + 0)\nr7 &= 4\nr7 += ${base}\nr2 = r10\nr2 += r7\n${spill}\n${store}\nr3 = *(u64 *)(r10 - 16)\n${use}\nr0 = 0\nexit`;
const DEREF = 'r0 = *(u32 *)(r3 + 0)';

const CASES: readonly Case[] = [
  {
    name: 'a zero immediate over a spilled pointer, then its fill read',
    text: prog('*(u32 *)(r2 + 0) = 0', DEREF),
    want: at(9, SCALAR_DEREF),
  },
  {
    name: 'a zero register over a spilled pointer, then its fill read',
    text: prog('r8 = 0\n*(u32 *)(r2 + 0) = r8', DEREF),
    want: at(10, SCALAR_DEREF),
  },
  {
    name: 'a nonzero over a spilled pointer, then its fill read',
    text: prog('*(u32 *)(r2 + 0) = 9', DEREF),
    want: at(9, SCALAR_DEREF),
  },
  {
    name: 'a zero over a spilled pointer: the fill is a scalar, used as a stack offset',
    text: prog('*(u32 *)(r2 + 0) = 0', 'r3 &= 1\nr1 = r10\nr1 += r3\nr0 = *(u8 *)(r1 - 16)'),
    want: { ok: true },
  },
  {
    name: 'a zero over a spilled nonzero constant: the fill is no pointer',
    text: prog('*(u32 *)(r2 + 0) = 0', DEREF, 'r4 = 8\n*(u64 *)(r10 - 16) = r4'),
    want: at(10, SCALAR_DEREF),
  },
  {
    name: 'a zero over a spilled constant 0 (the kernel keeps the spill): not modelled',
    text: prog('*(u32 *)(r2 + 0) = 0', DEREF, 'r4 = 0\n*(u64 *)(r10 - 16) = r4'),
    want: { unmodelled: true },
  },
  {
    name: 'a store reaching part of a spilled pointer: not modelled',
    text: prog('*(u32 *)(r2 + 0) = 0', DEREF, '*(u64 *)(r10 - 16) = r6', -12),
    want: { unmodelled: true },
  },
];

function verdict(c: Case): VerifyResult {
  return verifyInstructions(build(c.text), { type: SOCKET_FILTER });
}

test('variable-offset stores over a whole spilled slot: bpfkit says what each case expects', () => {
  for (const c of CASES) assertWant(c.name, verdict(c), c.want);
});

test('variable-offset stores over a whole spilled slot: the running kernel agrees (root)', (t) => {
  if (!needs(t, { root: true })) return;
  for (const c of CASES) {
    if ('unmodelled' in c.want) continue;
    assertKernelAgrees(c.name, verdict(c), kernelVerdictRaw(build(c.text), SOCKET_FILTER, []));
  }
});
