/**
 * Object shapes from other projects that libbpf (1.4+) opens and bpfkit's reader once refused outright
 * (found by the kernel selftests sweep): test/loader/corpus/shapes/*.c, our own C compiled now with clang.
 * Each parses; what bpfkit cannot model is refused in one line when the program is loaded, naming it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseObject } from '../../src/elf/object.js';
import { prepareSpec } from '../../src/loader/load-collection.js';
import type { KernelEnv } from '../../src/loader/kernel-env.js';
import { BpfkitError } from '../../src/util/errors.js';
import { verifyProgram } from '../../src/verifier/index.js';
import { needs, repoPath } from '../support/env.js';

const work = mkdtempSync(join(tmpdir(), `bpfkit-corpus-shapes-${process.pid}-`));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

function compile(name: string, clang = 'clang') {
  const out = join(work, name.replace(/\.c$/, '.o'));
  const src = repoPath('test', 'loader', 'corpus', 'shapes', name);
  execFileSync(clang, ['-g', '-O2', '-target', 'bpf', '-c', src, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  return parseObject(readFileSync(out), { path: out });
}

/** prepareSpec's refusal of one program (the programs here need nothing from the running kernel). */
function refusal(spec: ReturnType<typeof compile>, program: string): BpfkitError {
  try {
    prepareSpec(spec, { engine: 'vm', programs: [program] }, {} as KernelEnv);
  } catch (err) {
    if (err instanceof BpfkitError) return err;
    throw err;
  }
  assert.fail(`program '${program}' was not refused`);
}

test("map_extra given with __ulong (an enum of one value, libbpf 1.4's way) is read as __uint's", (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const spec = compile('ulong-map-extra.c');
  assert.equal(spec.maps.find((m) => m.name === 'bloom')?.mapExtra, 3);
});

test('map_extra above 32 bits with __ulong (ENUM64, clang 15+; clang-19 when installed) is read exactly', (t) => {
  if (!needs(t, { tools: ['clang-19'] })) return;
  const spec = compile('ulong-map-extra-64.c', 'clang-19');
  assert.equal(spec.maps.find((m) => m.name === 'bloom')?.mapExtra, 2 ** 40 + 3);
});

test("an arena global ('.addr_space.1'): the object opens, its users are refused in one line", (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const spec = compile('arena-global.c');
  assert.equal(spec.programs.find((p) => p.name === 'plain')?.unsupported, undefined);
  const err = refusal(spec, 'bumps');
  assert.equal(err.exitCode, 2);
  assert.match(err.message, /'bumps' uses arena global variable 'counter' \(section '\.addr_space\.1'\)/);
  assert.ok(!err.message.includes('\n'));
});

test('an lddw with src 1 and no relocation (a raw fd): the object opens, that program is refused in one line', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const spec = compile('raw-map-fd.c');
  assert.equal(spec.programs.find((p) => p.name === 'plain')?.unsupported, undefined);
  const err = refusal(spec, 'raw_fd');
  assert.equal(err.exitCode, 2);
  assert.match(err.message, /'raw_fd' pc 0: lddw names map fd 5 \(src 1\) with no relocation/);
  assert.ok(!err.message.includes('\n'));
  // nor does the verifier judge it (its imm read as a map index would name one of the object's maps)
  const judged = verifyProgram(
    spec,
    spec.programs.find((p) => p.name === 'raw_fd')!,
  );
  assert.equal(judged.accepted, false);
  assert.equal(judged.unmodelled, true);
  assert.match(judged.message ?? '', /^program 'raw_fd': .*lddw names map fd 5 \(src 1\) with no relocation/);
  assert.equal(
    verifyProgram(
      spec,
      spec.programs.find((p) => p.name === 'plain')!,
    ).accepted,
    true,
  );
});

test('a pointer stored in global data (a .rel.data relocation no loader fills in): its users are refused in one line', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const spec = compile('data-pointer.c');
  assert.equal(spec.programs.find((p) => p.name === 'plain')?.unsupported, undefined);
  // before: loaded and run with the pointer 0, as libbpf leaves it
  const err = refusal(spec, 'reads_pointer');
  assert.equal(err.exitCode, 2);
  assert.match(
    err.message,
    /'reads_pointer' uses '\.data', whose bytes at \+0x[0-9a-f]+ are a pointer to 'x' \(relocation R_BPF_64_ABS64\)/,
  );
  assert.ok(!err.message.includes('\n'));
});
