/**
 * `arg:trusted` global function arguments (src/verifier/trusted-args.ts): bpfkit's verdict on each program
 * of trusted-args-cases.ts is held to the expectation there, and as root the running kernel judges every
 * program too: same verdict, same instruction, same last line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareSpec } from '../../src/loader/load-collection.js';
import { runningKernel } from '../../src/loader/kernel-env.js';
import { judgeCPrograms } from './c-programs.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { lastLine } from './expect.js';
import { TRUSTED_CASES } from './trusted-args-cases.js';

test('trusted arguments: bpfkit says what each case expects, and so does the kernel (compiled C; the kernel as root)', (t) => {
  if (skipWithoutBtf(t)) return;
  const env = runningKernel();
  // Prepared as a load prepares it: the tp_btf target's id found in the kernel's BTF.
  judgeCPrograms(t, TRUSTED_CASES, {
    prepare: (spec) => prepareSpec(spec, { engine: 'kernel', programs: ['prog'] }, env),
    opts: { kernelBtf: kernelBtf() },
    // A caller refused: the line before says why, in the same words.
    more: (name, v, k) => {
      if (!/^Caller passes/.test(lastLine(k.message) ?? '')) return;
      const why = (log: string) =>
        log
          .trim()
          .split('\n')
          .filter((l) => !/^processed /.test(l))
          .slice(-2)[0];
      assert.equal(why(v.message!), why(k.log), `${name}: why`);
    },
  });
});
