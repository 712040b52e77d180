/**
 * The kernel as the oracle for the 32-bit bounds (root): programs heavy in ALU32 and JMP32
 * (alu32-programs.ts) are loaded with BPF_PROG_LOAD and verified by bpfkit. No program may be accepted
 * by bpfkit and refused by the kernel (a side bpfkit proves dead that the kernel walks, or a bound
 * tighter than the kernel's); the kernel's acceptances and the instruction of its refusals are held to
 * the oracle's usual targets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyInstructions } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { alu32Programs } from './alu32-programs.js';
import { kernelVerdictRaw } from './kernel-oracle.js';

test('oracle: ALU32/JMP32-heavy programs (seeded), bpfkit against BPF_PROG_LOAD', (t) => {
  if (!needs(t, { root: true })) return;
  const unsafe: string[] = [];
  const missed: string[] = [];
  const otherPc: string[] = [];
  let kernelAccepted = 0;
  let kernelRefused = 0;
  let sameKind = 0;
  // A message's kind: the last line with register names and numbers blanked (as oracle.test.ts).
  const kind = (m = ''): string =>
    (m.trim().split('\n').pop() ?? '')
      .split(/, |\(/)[0]!
      .replace(/\bR\d+/g, 'R#')
      .replace(/-?\d+/g, 'N')
      .trim();
  for (const p of alu32Programs(600)) {
    const k = kernelVerdictRaw(p.insns, p.type, p.maps);
    const v = verifyInstructions(p.insns, { type: p.type, maps: p.maps });
    if (k.accepted) {
      kernelAccepted++;
      if (!v.accepted) missed.push(`${p.name}: bpfkit refused at ${v.pc}: ${v.message?.split('\n').pop()}`);
    } else {
      kernelRefused++;
      if (v.accepted) unsafe.push(`${p.name}: kernel refused at ${k.pc}: ${k.message}`);
      else if (kind(v.message) === kind(k.message)) sameKind++;
      else if (v.pc !== k.pc)
        otherPc.push(`${p.name}: kernel ${k.pc} '${k.message}', bpfkit ${v.pc} '${v.message?.split('\n').pop()}'`);
    }
  }
  t.diagnostic(
    `ALU32/JMP32 programs: kernel accepted ${kernelAccepted}, refused ${kernelRefused}; (a) bpfkit accepts, kernel refuses: ${unsafe.length}; ` +
      `kernel's acceptances refused by bpfkit: ${missed.length}; refusals at another insn: ${otherPc.length}; ` +
      `refusals of the same kind: ${sameKind}`,
  );
  for (const d of [...unsafe, ...missed, ...otherPc].slice(0, 20)) t.diagnostic(d);
  assert.deepEqual(unsafe, []);
  assert.ok(kernelAccepted > 100 && kernelRefused > 100, 'both verdicts are common');
  assert.ok(missed.length <= 0.05 * kernelAccepted, 'kernel acceptances accepted');
  assert.ok(otherPc.length <= 0.1 * kernelRefused, 'refusals at the same insn');
});
