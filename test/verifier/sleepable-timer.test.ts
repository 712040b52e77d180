/**
 * Timers in sleepable programs (src/verifier/timer.ts, sleepable-calls.ts): bpfkit's verdict on each
 * program of sleepable-timer-cases.ts is held to the expectation there, and as root the running kernel
 * judges every program too: same verdict, same instruction, same last line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { loadObjectFile } from '../../src/elf/index.js';
import { verifyProgram } from '../../src/verifier/index.js';
import { hasTool, isRoot } from '../support/env.js';
import { compileCPrograms } from './c-programs.js';
import { kernelVerdictObject } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant } from './expect.js';
import { SLEEP_TIMER_CASES } from './sleepable-timer-cases.js';

test('sleepable timers: bpfkit says what each case expects, and so does the kernel (compiled C; the kernel as root)', (t) => {
  if (!hasTool('clang')) {
    t.skip('clang not installed');
    return;
  }
  const root = isRoot();
  if (!root) {
    if (process.env.CI === 'true') assert.fail('the kernel checks need root');
    t.diagnostic('not root: bpfkit is checked against the expectations only');
  }
  const { dir, objects } = compileCPrograms(SLEEP_TIMER_CASES);
  try {
    for (const [name, file] of objects) {
      const c = SLEEP_TIMER_CASES.find((x) => x.name === name)!;
      const spec = loadObjectFile(file);
      const v = verifyProgram(
        spec,
        spec.programs.find((p) => p.name === 'prog')!,
      );
      assertWant(name, v, 'pc' in c.want && c.want.pc < 0 ? { ...c.want, pc: v.pc ?? -1 } : c.want);
      if (root) assertKernelAgrees(name, v, kernelVerdictObject(spec, 'prog'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
