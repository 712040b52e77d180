// loadCollection's options that name programs: a name nobody would act on is refused, never skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadObjectFile } from '../../src/elf/index.js';
import { loadCollection, prepareSpec } from '../../src/loader/load-collection.js';
import type { KernelEnv } from '../../src/loader/kernel-env.js';
import { BpfkitError } from '../../src/util/errors.js';
import { repoPath } from '../support/env.js';

const spec = () => loadObjectFile(repoPath('examples', 'tunnel-monitor', 'tunnel-monitor.o'));

test('verify.programs naming a program that is not loaded is refused (it loaded unverified before)', async () => {
  const s = spec();
  const name = s.programs[0]!.name;
  await assert.rejects(
    loadCollection(s, { engine: 'vm', verify: { programs: ['no_such_program'] } }),
    (err: unknown) =>
      err instanceof BpfkitError &&
      err.exitCode === 2 &&
      /verify\.programs names 'no_such_program', which is not among the programs loaded \(/.test(err.message),
  );
  // one the object has, but left out by `programs` (not tail-called by `name`), is not loaded either
  const kept = prepareSpec(s, { engine: 'vm', programs: [name] }, {} as KernelEnv).programs.map((p) => p.name);
  const other = s.programs.find((p) => !kept.includes(p.name))!.name;
  await assert.rejects(
    loadCollection(s, { engine: 'vm', programs: [name], verify: { programs: [other] } }),
    new RegExp(`verify\\.programs names '${other}'`),
  );
  (await loadCollection(s, { engine: 'vm', programs: [name], verify: { programs: [name] } })).close();
});

test('programs and kernel.programs naming different programs for a kernel load are refused (kernel.programs was dropped)', () => {
  const s = spec();
  const [a, b] = [s.programs[0]!.name, s.programs[1]!.name];
  assert.throws(
    () => prepareSpec(s, { engine: 'kernel', programs: [a], kernel: { programs: [b] } }, {} as KernelEnv),
    (err: unknown) =>
      err instanceof BpfkitError &&
      err.exitCode === 2 &&
      /and kernel\.programs \(.*\) name different programs/.test(err.message),
  );
  // the same list twice, or kernel.programs on a VM load (only the chosen engine's options are read), is fine
  prepareSpec(s, { engine: 'kernel', programs: [a], kernel: { programs: [a] } }, {} as KernelEnv);
  prepareSpec(s, { engine: 'vm', programs: [a], kernel: { programs: [b] } }, {} as KernelEnv);
});
