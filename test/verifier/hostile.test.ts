/**
 * Hostile sizes: state explosion and the 1M-instruction budget end in the kernel's refusal, with the
 * number of remembered states bounded (the kernel's is_state_visited heuristics), and states are
 * remembered at the kernel's prune points only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { ProgType } from '../../src/uapi/types.js';
import { verifyInstructions } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';

/** 2^k paths, each leaving a different r6, which a decided comparison at the end reads. */
function branchy(k: number): string {
  const lines = ['r6 = 0', 'r7 = *(u32 *)(r1 + 0)'];
  for (let i = 0; i < k; i++) lines.push(`if r7 & ${1 << i} goto +1`, `r6 += ${1 << i}`);
  lines.push(`if r6 > ${1 << (k + 1)} goto +0`, 'r0 = 0', 'exit');
  return lines.join('\n');
}

test('state explosion: 2^22 paths end at the 1M budget with the kernel message and bounded states', (t) => {
  if (!needs(t, { long: true })) return;
  const v = verifyInstructions(assemble(branchy(22)), { type: ProgType.SOCKET_FILTER });
  assert.equal(v.accepted, false);
  assert.equal(v.message, 'BPF program is too large. Processed 1000001 insn');
  assert.equal(v.stats.processed, 1_000_001);
  // A new state at most every 8 processed instructions (the kernel's heuristic).
  assert.ok(v.stats.totalStates <= 1_000_001 / 8, `${v.stats.totalStates} states`);
});

test('a few branches: every path walked, far fewer states than prune points visited', () => {
  const v = verifyInstructions(assemble(branchy(6)), { type: ProgType.SOCKET_FILTER });
  assert.equal(v.accepted, true);
  // 64 paths of 2 + 2·6 + 3 instructions at most; shared prefixes make it fewer.
  assert.ok(v.stats.processed <= 64 * 17, `${v.stats.processed} insns`);
  assert.ok(v.stats.totalStates < v.stats.processed / 4, `${v.stats.totalStates} states`);
});

test('precision: 2^22 paths whose value nothing relies on collapse into one, as in the kernel (152 insns)', () => {
  const lines = ['r6 = 0', 'r7 = *(u32 *)(r1 + 0)'];
  for (let i = 0; i < 22; i++) lines.push(`if r7 & ${1 << i} goto +1`, `r6 += ${1 << i}`);
  lines.push('r0 = 0', 'exit');
  const v = verifyInstructions(assemble(lines.join('\n')), { type: ProgType.SOCKET_FILTER });
  assert.equal(v.accepted, true);
  // The kernel's figure for this program (Linux 6.18): r6 is never used precisely, so every path that
  // reaches a remembered state is pruned there.
  assert.equal(v.stats.processed, 152);
});

test('precision: a decided comparison backtracks through a fill and its spill (level-2 log)', () => {
  const text = [
    'r6 = *(u32 *)(r1 + 0)',
    'if r6 > 63 goto +8',
    '*(u64 *)(r10 - 8) = r6',
    'r7 = *(u32 *)(r1 + 4)',
    'if r7 == 0 goto +1',
    'r7 = 1',
    'r6 = *(u64 *)(r10 - 8)',
    // Decided by r6's bounds: the kernel's check_cond_jmp_op marks r6 precise.
    'if r6 > 100 goto +0',
    'r0 = 0',
    'exit',
    'r0 = 1',
    'exit',
  ].join('\n');
  const v = verifyInstructions(assemble(text), { type: ProgType.SOCKET_FILTER, logLevel: 2 });
  assert.equal(v.accepted, true);
  // The fill's slot, then the spill's register, are wanted precise on the way back.
  assert.match(v.log, /mark_precise: frame0: regs=r6 stack= before 6: \(79\) r6 = \*\(u64 \*\)\(r10 -8\)/);
  assert.match(v.log, /mark_precise: frame0: regs= stack=-8 before 2: \(7b\) \*\(u64 \*\)\(r10 -8\) = r6/);
  assert.match(v.log, /mark_precise: frame0: regs=r6 stack= before 0: /);
});

test('a straight line of a million instructions: stage 1 and the walk take it whole, as the kernel does', () => {
  const body = assemble('r0 += 1')[0]!;
  const insns = assemble('r0 = 0');
  for (let pc = 1; pc < 999_998; pc++) insns.push({ ...body, pc });
  insns.push({ ...assemble('exit')[0]!, pc: 999_998 });
  const v = verifyInstructions(insns, { type: ProgType.SOCKET_FILTER });
  assert.equal(v.accepted, true, v.message);
  assert.equal(v.stats.processed, 999_999);
  // A jump over the middle leaves half a million instructions unreachable: stage 1 names the first.
  const skip = assemble('r0 = 0\ngoto +1')[1]!;
  insns[1] = { ...skip, off: 499_998, pc: 1 };
  const w = verifyInstructions(insns, { type: ProgType.SOCKET_FILTER });
  assert.equal(w.accepted, false);
  assert.equal(w.message, 'unreachable insn 2');
});
