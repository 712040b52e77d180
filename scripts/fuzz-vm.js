#!/usr/bin/env node
// A longer run of the VM's differential fuzzer than the test suite's (dist/test/vm/differential-fuzz.test.js):
// many more random objects, on both engines and both packet paths, from a fresh seed unless given — printed
// first, and any failing case names its own seed, so it reproduces with BPFKIT_FUZZ_SEED=<seed>.
//   npm run fuzz:vm [-- SECONDS [SEED]]     (default 300 seconds, a random seed)
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

const seconds = process.argv[2] ?? '300';
const seed = process.argv[3] ?? String(randomInt(1, 0x7fffffff));
console.log(`vm differential fuzz: ${seconds} s, BPFKIT_FUZZ_SEED=${seed}`);
const r = spawnSync(process.execPath, ['--test', 'dist/test/vm/differential-fuzz.test.js'], {
  stdio: 'inherit',
  env: { ...process.env, BPFKIT_FUZZ_SEED: seed, BPFKIT_FUZZ_CASES: '1000000000', BPFKIT_FUZZ_SECONDS: seconds },
});
process.exit(r.status ?? 1);
