#!/usr/bin/env node
// Thin launcher: the CLI is compiled from src/cli by `npm run build`.
import('../dist/src/cli/main.js')
  .then((m) => m.main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`bpfkit: ${err && err.message ? err.message : err}\n`);
      process.exitCode = 70;
    },
  );
