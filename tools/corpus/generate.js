#!/usr/bin/env node
// Corpus generator launcher (the code is TypeScript in test/http/corpus/, compiled by `npm run build`).
//   sudo node tools/corpus/generate.js OUTDIR [SCENARIOS=basic] [HOSTS=127.0.0.1,::1] [--rewrites]
// Writes OUTDIR/capture.pcap + capture.truth.jsonl (the server's log), and with --rewrites the rewritten
// variants (reordered, duplicated, vlan, qinq, fragments, ...) each with its own truth file.
const args = process.argv.slice(2);
const { runGenerator } = await import('../../dist/test/http/corpus/cli.js');
process.exit(await runGenerator(args));
