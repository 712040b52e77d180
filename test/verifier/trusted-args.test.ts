/**
 * `arg:trusted` global function arguments (src/verifier/trusted-args.ts): bpfkit's verdict on each program
 * of trusted-args-cases.ts is held to the expectation there, and as root the running kernel judges every
 * program too: same verdict, same instruction, same last line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { loadObjectFile } from '../../src/elf/index.js';
import { prepareSpec } from '../../src/loader/load-collection.js';
import { runningKernel } from '../../src/loader/kernel-env.js';
import { verifyProgram } from '../../src/verifier/index.js';
import { hasTool, isRoot } from '../support/env.js';
import { compileCPrograms } from './c-programs.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictObject } from './kernel-oracle.js';
import { assertKernelAgrees, assertWant, lastLine } from './expect.js';
import { TRUSTED_CASES } from './trusted-args-cases.js';

test('trusted arguments: bpfkit says what each case expects, and so does the kernel (compiled C; the kernel as root)', (t) => {
  if (skipWithoutBtf(t)) return;
  if (!hasTool('clang')) {
    t.skip('clang not installed');
    return;
  }
  const root = isRoot();
  if (!root) {
    if (process.env.CI === 'true') assert.fail('the kernel checks need root');
    t.diagnostic('not root: bpfkit is checked against the expectations only');
  }
  const btf = kernelBtf();
  const env = runningKernel();
  const { dir, objects } = compileCPrograms(TRUSTED_CASES);
  try {
    for (const [name, file] of objects) {
      const c = TRUSTED_CASES.find((x) => x.name === name)!;
      // Prepared as a load prepares it: the tp_btf target's id found in the kernel's BTF.
      const spec = prepareSpec(loadObjectFile(file), { engine: 'kernel', programs: ['prog'] }, env);
      const v = verifyProgram(
        spec,
        spec.programs.find((p) => p.name === 'prog')!,
        { kernelBtf: btf },
      );
      assertWant(name, v, 'pc' in c.want && c.want.pc < 0 ? { ...c.want, pc: v.pc ?? -1 } : c.want);
      if (!root) continue;
      const k = kernelVerdictObject(spec, 'prog');
      assertKernelAgrees(name, v, k);
      // A caller refused: the line before says why, in the same words.
      if (/^Caller passes/.test(lastLine(k.message) ?? '')) {
        const why = (log: string) =>
          log
            .trim()
            .split('\n')
            .filter((l) => !/^processed /.test(l))
            .slice(-2)[0];
        assert.equal(why(v.message!), why(k.log), `${name}: why`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
