/**
 * What a kernel-checked verifier case expects, and the one check of bpfkit's verdict against it that the
 * case-table tests (sockets, tp_btf, iterators, helpers) share.
 */
import assert from 'node:assert/strict';
import type { VerifyResult } from '../../src/verifier/index.js';
import type { KernelVerdict } from './kernel-oracle.js';

/** A case's expected verdict: accepted, refused at `pc` with a last line matching `re`, or not modelled. */
export type Want = { ok: true } | { pc: number; re: RegExp } | { unmodelled: true };

/** The last line of a verifier message (the kernel's, or bpfkit's): the one both word alike. */
export const lastLine = (m: string | undefined): string | undefined => (m ?? '').trim().split('\n').pop();

/** Assert that bpfkit's verdict `v` on the case `name` is what `want` says. */
export function assertWant(name: string, v: VerifyResult, want: Want): void {
  if ('ok' in want) {
    assert.equal(v.accepted, true, `${name}: bpfkit refused at ${v.pc}: ${v.message}`);
    return;
  }
  assert.equal(v.accepted, false, `${name}: bpfkit accepted`);
  if ('unmodelled' in want) {
    assert.equal(v.unmodelled, true, `${name}: ${v.message}`);
    return;
  }
  assert.notEqual(v.unmodelled, true, `${name}: ${v.message}`);
  assert.match(lastLine(v.message)!, want.re, name);
  assert.equal(v.pc, want.pc, `${name}: insn`);
}

/**
 * Assert that bpfkit's verdict `v` on the case `name` is the running kernel's `k`: both accept, or both
 * refuse with the same last line, at the same instruction when the kernel's log names one.
 */
export function assertKernelAgrees(name: string, v: VerifyResult, k: KernelVerdict): void {
  const said = (r: { accepted: boolean; pc?: number; message?: string }) =>
    r.accepted ? 'accepts' : `refuses at ${r.pc}: ${r.message}`;
  assert.equal(v.accepted, k.accepted, `${name}: kernel ${said(k)}; bpfkit ${said(v)}`);
  if (k.accepted) return;
  assert.equal(lastLine(v.message), lastLine(k.message), `${name}: words`);
  if (k.pc !== undefined) assert.equal(v.pc, k.pc, `${name}: insn`);
}

/**
 * A compiled C case's expectation held to bpfkit's verdict `v`: clang decides instruction numbers, so a
 * refusal written at pc -1 takes bpfkit's pc (the kernel's check then holds the instruction).
 */
export function clangWant(want: Want, v: VerifyResult): Want {
  return 'pc' in want && want.pc < 0 ? { ...want, pc: v.pc ?? -1 } : want;
}
