// The done-when: every file of the shared conformance suite passes, through the API and through
// the CLI, on every engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { conformanceDir, needs } from '../support/env.js';
import { collectDataFiles, runFile } from '../../src/conformance/runner.js';
import { ENGINES } from '../../src/vm/interpreter.js';
import { cliScript } from '../support/cli-script.js';

const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function cli(args: string[], input?: string) {
  const script = cliScript(mainJs);
  return spawnSync(process.execPath, ['-e', script, '--', ...args], { encoding: 'utf8', input });
}

test('the suite is there and has 205 files', (t) => {
  if (!needs(t, { conformance: true })) return;
  assert.equal(collectDataFiles([conformanceDir]).length, 205);
});

for (const engine of ENGINES) {
  test(`every conformance file passes through the API (${engine})`, (t) => {
    if (!needs(t, { conformance: true })) return;
    const failures: string[] = [];
    for (const file of collectDataFiles([conformanceDir])) {
      const o = runFile(file, engine);
      if (!o.pass) failures.push(o.line);
    }
    assert.deepEqual(failures, []);
  });

  test(`every conformance file passes through the CLI (${engine})`, (t) => {
    if (!needs(t, { conformance: true })) return;
    const r = cli(['conformance', '--engine', engine, conformanceDir]);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.at(-1), '205 passed, 0 failed', r.stderr);
    assert.equal(lines.length, 206);
    assert.ok(lines.slice(0, -1).every((l) => l.startsWith('PASS ')));
    assert.equal(r.status, 0);
  });
}

test('conformance: a failing case prints FAIL with expected/got and exits 1', async (t) => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/bpfkit-conf-');
  writeFileSync(`${dir}/wrong.data`, '-- asm\nmov %r0, 2\nexit\n-- result\n0x3\n');
  writeFileSync(`${dir}/right.data`, '-- raw\n0x00000002000000b7\n0x0000000000000095\n-- result\n2\n');
  const r = cli(['conformance', dir]);
  assert.equal(r.stdout, 'PASS right\nFAIL wrong: expected 0x3 got 0x2\n1 passed, 1 failed\n');
  assert.equal(r.status, 1);
  t.after(async () => (await import('node:fs')).rmSync(dir, { recursive: true }));
});

test('conformance: malformed files are input errors with file:line (exit 2)', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/bpfkit-conf-');
  t.after(() => rmSync(dir, { recursive: true }));
  writeFileSync(`${dir}/badhex.data`, '-- asm\nexit\n-- mem\n00 zz\n-- result\n0\n');
  let r = cli(['conformance', `${dir}/badhex.data`]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /badhex\.data:4: bad hex byte 'zz'/);
  assert.equal(r.stdout.trimEnd().split('\n').at(-1), '0 passed, 1 failed');
  writeFileSync(`${dir}/noresult.data`, '-- asm\nexit\n');
  r = cli(['conformance', `${dir}/noresult.data`]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /noresult\.data:1: no '-- result' or '-- error' section/);
  writeFileSync(`${dir}/badasm.data`, '# c\n-- asm\nmov %r0, 1\nfrobnicate %r1\nexit\n-- result\n0\n');
  r = cli(['conformance', `${dir}/badasm.data`]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /badasm\.data:4:/);
  r = cli(['conformance']);
  assert.equal(r.status, 2);
  r = cli(['conformance', '--engine', 'warp', dir]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--engine must be/);
});

test('conformance: -- error expects the run to fail with that text', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/bpfkit-conf-');
  t.after(() => rmSync(dir, { recursive: true }));
  writeFileSync(
    `${dir}/oob.data`,
    '-- asm\nldxw %r0, [%r1+8]\nexit\n-- mem\n00 00 00 00\n-- error\nruns past the end\n',
  );
  writeFileSync(`${dir}/noerr.data`, '-- asm\nmov %r0, 0\nexit\n-- error\nsomething\n');
  const r = cli(['conformance', '--engine', 'all', dir]);
  assert.match(r.stdout, /FAIL noerr \[jit\]: expected error 'something' got 0x0/);
  assert.match(r.stdout, /PASS oob \[jit\]\nPASS oob \[interpreter\]\nPASS oob \[wasm\]/);
  assert.equal(r.stdout.trimEnd().split('\n').at(-1), '3 passed, 3 failed');
});

test('conformance-plugin: hex program on stdin, memory as hex argument, r0 in hex', () => {
  // ldxw r0, [r1+0]; exit  -- as the bpf_conformance runner writes it (hex text)
  let r = cli(['conformance-plugin', '01 02 03 04'], '6110000000000000\n9500000000000000\n');
  assert.equal(r.stdout, '4030201\n');
  assert.equal(r.status, 0);
  // lddw r0, -1; exit via --program, no memory
  r = cli(['conformance-plugin', '', '--program', '18000000ffffffff00000000ffffffff9500000000000000'], '');
  assert.equal(r.stdout, 'ffffffffffffffff\n');
  // out-of-bounds: error on stderr, non-zero exit, nothing on stdout
  r = cli(['conformance-plugin', '01020304', '--engine', 'interpreter'], '6110080000000000 9500000000000000');
  assert.equal(r.stdout, '');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /pc 0 .*read of 4 bytes at 0x[0-9a-f]{8} runs past the end of region 'input'/);
  // raw bytecode on stdin is accepted too
  const raw = Buffer.from('b700000007000000' + '9500000000000000', 'hex').toString('latin1');
  const rb = spawnSync(process.execPath, ['-e', cliScript(mainJs), '--', 'conformance-plugin'], {
    input: Buffer.from(raw, 'latin1'),
  });
  assert.equal(rb.stdout.toString(), '7\n');
});
