/** `bpfkit objdump`: text and JSON views of an object, and one-line errors with exit status 2. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fixture } from './object-oracle.js';
import { cliScript } from '../support/cli-script.js';

const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
function bpfkit(...args: string[]) {
  const r = spawnSync(process.execPath, ['-e', cliScript(mainJs), '--', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('objdump --json lists programs, maps with contents, relocations', () => {
  const r = bpfkit('objdump', fixture('maps.o'), '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.license, 'GPL');
  assert.deepEqual(
    j.programs.map((p: any) => [p.name, p.typeName, p.instructions]),
    [
      ['stage_one', 'sched_cls', 2],
      ['stage_two', 'sched_cls', 5],
      ['entry', 'sched_cls', 103],
    ],
  );
  const jumps = j.maps.find((m: any) => m.name === 'jumps');
  assert.deepEqual(jumps.contents, [
    { key: '01000000', value: { program: 'stage_one' } },
    { key: '03000000', value: { program: 'stage_two' } },
  ]);
  assert.equal(j.maps.find((m: any) => m.name === 'outer').innerMap.name, 'outer.inner');
  assert.deepEqual(j.relocations, { R_BPF_64_64: 12 });
});

test('objdump text output: tables of programs and maps', () => {
  const r = bpfkit('objdump', fixture('legacy.o'), '--contents', '--default-type', 'sched_cls');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {2}cls_main +cls +sched_cls +- +40 +map_stats,map_sessions,map_outer,jmp_tc$/m);
  assert.match(r.stdout, /^ {2}map_sessions +hash +8 +4 +1024 +0x1 +object +0 +maps$/m);
  assert.match(r.stdout, /^ {2}key 01000000: program tail_one$/m);
  assert.match(r.stdout, /relocations applied to code: R_BPF_64_64 4/);
});

test('objdump errors: one line, exit 2', () => {
  const bad = bpfkit('objdump', fixture('basic.c'));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^bpfkit objdump: .*basic\.c@0x0: not an ELF file/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  const usage = bpfkit('objdump');
  assert.equal(usage.code, 2);
  const type = bpfkit('objdump', fixture('basic.o'), '--default-type', 'nope');
  assert.equal(type.code, 2);
  assert.match(type.stderr, /unknown program type 'nope'/);
});
