/**
 * The loader fuzzer: seeded mutations of every committed object file (examples/, test fixtures, the URL
 * sniffer's objects) go through parseObject and validateSpec in process, and each must end in an
 * ObjectSpec or an InputError with a one-line message — the CLI's exit 2. Anything else (a RangeError, a
 * TypeError: exit 70) fails with the object, the seed, the iteration and the exact edits, which
 * reproduce it. Then a few mutated files go through the CLI itself (`objdump`, `run`).
 *
 * Mutations per object: $BPFKIT_FUZZ_MUTATIONS, else 50,000 under CI=true and 3,000 elsewhere.
 * The seed: $BPFKIT_FUZZ_SEED (default fixed). `npm run fuzz:loaders` runs a longer campaign.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseObject } from '../../src/elf/object.js';
import { readElf } from '../../src/elf/elf-file.js';
import { parseBtf } from '../../src/btf/btf.js';
import { validateSpec } from '../../src/engine/validate-spec.js';
import { InputError } from '../../src/util/errors.js';
import { inCI, repoPath } from '../support/env.js';
import { applyMutation, drawMutation, rng, targetsOf } from './mutate.js';

const SEED = Number(process.env.BPFKIT_FUZZ_SEED ?? 0xb9f0);
const MUTATIONS = Number(process.env.BPFKIT_FUZZ_MUTATIONS ?? (inCI ? 50_000 : 3_000));

/** Every committed object file (git's list, so a new example is fuzzed without editing this test). */
function committedObjects(): string[] {
  const listed = execFileSync('git', ['ls-files', '*.o'], { cwd: repoPath(), encoding: 'utf8' }).trim().split('\n');
  return listed.filter((f) => f !== '').sort();
}

/** A stable per-file seed, so adding an object does not change the others' mutations. */
function fileSeed(name: string): number {
  let h = SEED >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** parseObject then validateSpec: what every command does with an object before any engine runs it. */
function load(bytes: Uint8Array, path: string): 'spec' | 'error' {
  try {
    validateSpec(parseObject(bytes, { path }));
    return 'spec';
  } catch (err) {
    if (err instanceof InputError && !err.message.includes('\n')) return 'error';
    throw err;
  }
}

const objects = committedObjects();

test('the fuzzer finds the committed objects', () => {
  for (const dir of ['examples/', 'test/fixtures/', 'src/apps/http/bpf/']) {
    assert.ok(
      objects.some((f) => f.startsWith(dir)),
      `an object under ${dir}`,
    );
  }
});

for (const name of objects) {
  test(`fuzz ${name}: ${MUTATIONS} seeded mutations end in an ObjectSpec or a one-line InputError`, (t) => {
    const original = new Uint8Array(readFileSync(repoPath(name)));
    const targets = targetsOf(original);
    const next = rng(fileSeed(name));
    const scratch = new Uint8Array(original.length);
    const outcomes = { spec: 0, error: 0 };
    const started = process.hrtime.bigint();
    for (let i = 0; i < MUTATIONS; i++) {
      const edits = drawMutation(targets, next);
      const bytes = applyMutation(original, edits, targets.little, scratch);
      try {
        outcomes[load(bytes, name)]++;
      } catch (err) {
        const what = err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err);
        assert.fail(`${name}, BPFKIT_FUZZ_SEED=${SEED}, mutation ${i}, edits ${JSON.stringify(edits)}: ${what}`);
      }
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(outcomes.error > 0, 'some mutations are refused');
    t.diagnostic(
      `${name}: ${MUTATIONS} mutations in ${ms.toFixed(0)} ms (${((ms * 1000) / MUTATIONS).toFixed(1)} µs each), ${outcomes.spec} specs, ${outcomes.error} input errors`,
    );
  });
}

/** The two reproducers of issue 20, plus seeded mutations, through the CLI: exit 2 and one line on stderr. */
test('CLI: objdump and run on mutated objects exit 2 with one line, never 70', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-fuzz-'));
  try {
    const cases: { file: string; label: string }[] = [];
    const write = (label: string, bytes: Uint8Array) => {
      const file = join(dir, `case${cases.length}.o`);
      writeFileSync(file, bytes);
      cases.push({ file, label });
    };
    // A section's type byte changed: the legacy `maps` section of mark-stats becomes SHT_NULL (no data).
    const mark = new Uint8Array(readFileSync(repoPath('examples', 'mark-stats', 'mark-stats.o')));
    const markElf = readElf(mark);
    const shoff = Number(new DataView(mark.buffer).getBigUint64(40, true));
    const nulled = mark.slice();
    nulled[shoff + markElf.sectionByName('maps')!.index * 64 + 4] = 0;
    write('maps section type -> SHT_NULL', nulled);
    // A map size byte changed: the top byte of the size of percpu_hash's value struct in maps.o's BTF.
    const maps = new Uint8Array(readFileSync(repoPath('test', 'fixtures', 'elf', 'maps.o')));
    const btf = readElf(maps).sectionByName('.BTF')!;
    const valueType = parseObject(maps).maps.find((m) => m.name === 'percpu_hash')!.btfValueTypeId;
    const huge = maps.slice();
    huge[btf.offset + parseBtf(btf.data).types[valueType]!.recordAt + 8 + 3] = 0x7f;
    write('map size byte', huge);
    // Seeded mutations that the in-process fuzzer sees refused: the CLI must refuse them the same way.
    const next = rng(SEED);
    for (const name of [
      'examples/proto-count/proto-count.o',
      'test/fixtures/elf/btf-kinds.o',
      'test/fixtures/elf/legacy.o',
    ]) {
      const original = new Uint8Array(readFileSync(repoPath(name)));
      const targets = targetsOf(original);
      let found = 0;
      for (let i = 0; i < 500 && found < 2; i++) {
        const bytes = applyMutation(original, drawMutation(targets, next), targets.little).slice();
        if (load(bytes, name) === 'error') {
          write(`${name} mutation ${i}`, bytes);
          found++;
        }
      }
    }
    for (const c of cases) {
      for (const args of [
        ['objdump', c.file],
        ['run', c.file, '--mem', '00'.repeat(64)],
      ]) {
        const r = spawnSync(process.execPath, [repoPath('bin', 'bpfkit.js'), ...args], { encoding: 'utf8' });
        if (args[0] === 'objdump' && r.status === 0) continue; // objdump shows what it can of an object no engine would load
        assert.equal(r.status, 2, `${c.label}: bpfkit ${args[0]} exits 2 (stderr: ${r.stderr})`);
        assert.equal(r.stderr.trim().split('\n').length, 1, `${c.label}: one line: ${r.stderr}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
