#!/usr/bin/env node
// A longer loader fuzzing campaign than the test suite's: the same fuzzer (dist/test/elf/fuzz-loaders.test.js)
// with more mutations per committed object and, unless given, a fresh seed — printed first, so any
// failure reproduces with BPFKIT_FUZZ_SEED=<seed>.
//   npm run fuzz:loaders [-- MUTATIONS [SEED]]     (default 500000 mutations per object, a random seed)
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

const mutations = process.argv[2] ?? '500000';
const seed = process.argv[3] ?? String(randomInt(1, 0x7fffffff));
console.log(`loader fuzz: ${mutations} mutations per object, BPFKIT_FUZZ_SEED=${seed}`);
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', 'dist/test/elf/fuzz-loaders.test.js'], {
  stdio: 'inherit',
  env: { ...process.env, BPFKIT_FUZZ_MUTATIONS: mutations, BPFKIT_FUZZ_SEED: seed },
});
process.exit(r.status ?? 1);
