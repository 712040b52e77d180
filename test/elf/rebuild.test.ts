/**
 * The committed fixture objects are what their sources build to: rebuild them all with clang into a
 * temporary directory (test/fixtures/elf/build.sh) and check every fresh object parses to the same
 * programs, maps, license and version as the committed one. (Bytes differ: DWARF records paths.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseObject, type ParsedObject } from '../../src/elf/object.js';
import { needs } from '../support/env.js';
import { fixture } from './object-oracle.js';

const essence = (o: ParsedObject) => ({
  endian: o.endian,
  license: o.license,
  kernelVersion: o.kernelVersion,
  // line_info names the source by absolute path (and its string offsets move with it): compare lines only.
  programs: o.programs.map((p) => ({
    ...p,
    lineInfo: p.lineInfo?.map((l) => ({ pc: l.pc, line: l.line, column: l.column, source: l.source })),
  })),
  maps: o.maps,
  relocationCounts: o.relocationCounts,
});

test('fixtures rebuilt from source with clang parse like the committed objects', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const out = mkdtempSync(join(tmpdir(), 'bpfkit-elf-'));
  try {
    execFileSync('sh', [fixture('build.sh'), out], { stdio: 'pipe' });
    const committed = readdirSync(fixture(''))
      .filter((f) => f.endsWith('.o'))
      .sort();
    assert.deepEqual(
      readdirSync(out)
        .filter((f) => f.endsWith('.o'))
        .sort(),
      committed,
      'build.sh makes every committed object',
    );
    for (const name of committed) {
      const fresh = parseObject(readFileSync(join(out, name)), { path: name });
      const old = parseObject(readFileSync(fixture(name)), { path: name });
      assert.deepEqual(essence(fresh), essence(old), name);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
