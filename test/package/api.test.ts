/**
 * The public API is what package.json's `exports` reach. api/bpfkit.api.md is its snapshot (names and
 * declarations of every entry point); any change to the public surface must show up as a diff of that file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SNAPSHOT_PATH, entryPoints, lineDifference, renderApi } from '../../scripts/api-snapshot.js';

/** Rendering loads every declaration file into a TypeScript program: once for all three tests. */
const current = renderApi(process.cwd());

test('the public API matches its snapshot (api/bpfkit.api.md)', () => {
  const saved = readFileSync(SNAPSHOT_PATH, 'utf8');
  if (current !== saved) {
    assert.fail(
      `the public API differs from ${SNAPSHOT_PATH} (- snapshot, + build). If the change is meant, run ` +
        `\`npm run api:update\` and commit the snapshot:\n${lineDifference(saved, current).join('\n')}`,
    );
  }
});

test('every entry point of the exports map has a declaration file and exports something', () => {
  const entries = entryPoints(process.cwd());
  assert.deepEqual(
    entries.map(([name]) => name),
    [
      'bpfkit',
      'bpfkit/isa',
      'bpfkit/asm',
      'bpfkit/elf',
      'bpfkit/engine',
      'bpfkit/vm',
      'bpfkit/kernel',
      'bpfkit/packet',
      'bpfkit/http',
      'bpfkit/cbpf',
      'bpfkit/btf',
      'bpfkit/pcap-filter',
      'bpfkit/tc',
      'bpfkit/compile',
      'bpfkit/trace',
      'bpfkit/verifier',
    ],
  );
  for (const [name] of entries)
    assert.match(current, new RegExp(`^## ${name}\\n\\n\`\`\`ts\\n[^\`]`, 'm'), `${name} exports nothing`);
});

test('the test helpers and the conformance harness are not public API', () => {
  for (const internal of [
    'registerTestHelpers',
    'TEST_HELPERS',
    'runCase',
    'parseConformanceData',
    'collectDataFiles',
  ]) {
    assert.doesNotMatch(current, new RegExp(`\\b${internal}\\b`), internal);
  }
});
