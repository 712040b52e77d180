/**
 * One hook's helpers (src/verifier/hook-helpers.ts): bpfkit's verdict on each program of
 * hook-helpers-cases.ts is held to the expectation there, and as root the running kernel judges every
 * program too: same verdict, same instruction, same last log line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { loadObjectFile } from '../../src/elf/index.js';
import { verifyInstructions, verifyProgram, type VerifyResult } from '../../src/verifier/index.js';
import { hasTool, isRoot, needs } from '../support/env.js';
import { compileCPrograms } from './c-programs.js';
import { kernelVerdictObject, kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { sockProgram } from './sock-ptr-cases.js';
import { HOOK_CASES, HOOK_C_CASES, type HookCase } from './hook-helpers-cases.js';

const verdict = (c: HookCase): VerifyResult =>
  verifyInstructions(sockProgram(c.text), { type: c.type, attachType: c.attach, maps: [] });

test('hook helpers: bpfkit says what each case expects', () => {
  for (const c of HOOK_CASES) assertWant(c.name, verdict(c), c.want);
});

test('hook helpers: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (!needs(t, { root: true })) return;
  for (const c of HOOK_CASES) {
    const k = kernelVerdictRaw(sockProgram(c.text), c.type, [], c.attach);
    assertKernelAgrees(c.name, verdict(c), k);
  }
});

test('hook helpers: global functions of each hook take its context (compiled C; the kernel too as root)', (t) => {
  if (!hasTool('clang')) {
    t.skip('clang not installed');
    return;
  }
  const root = isRoot();
  if (!root) {
    if (process.env.CI === 'true') assert.fail('the kernel checks need root');
    t.diagnostic('not root: bpfkit is checked against the expectations only');
  }
  const { dir, objects } = compileCPrograms(HOOK_C_CASES);
  try {
    for (const [name, file] of objects) {
      const c = HOOK_C_CASES.find((x) => x.name === name)!;
      const spec = loadObjectFile(file);
      const v = verifyProgram(
        spec,
        spec.programs.find((p) => p.name === 'prog')!,
      );
      // The instruction numbers of compiled C depend on clang: pc -1 holds bpfkit to the kernel's alone.
      assertWant(name, v, 'pc' in c.want && c.want.pc < 0 ? { ...c.want, pc: v.pc ?? -1 } : c.want);
      if (root) assertKernelAgrees(name, v, kernelVerdictObject(spec, 'prog'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
