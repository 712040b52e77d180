// The URL filter's WebAssembly stays on V8's baseline tier, and only it: a module made afterwards gets
// the optimizing tier when asked for it (the flag was set back).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const engine = fileURLToPath(new URL('../../src/apps/http/filter-engine.js', import.meta.url));

// (a module of one function, `f`, returning 42)
const TINY = [
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 6, 1, 4, 0, 65, 42, 11,
];

const script = `
const { loadFilterObject } = await import(${JSON.stringify(engine)});
const f = await loadFilterObject('full', 'vm');
console.log('--- filter loaded');
const m = new WebAssembly.Module(new Uint8Array(${JSON.stringify(TINY)}));
console.log('tiny says', new WebAssembly.Instance(m).exports.f());
f.close();
`;

test('full mode in the VM: the filter module is compiled by Liftoff only; a later module still gets TurboFan', () => {
  // Function 0 of every module is compiled by TurboFan from the start (--wasm-tier-mask-for-testing),
  // unless Liftoff only is in force: the filter's function 0 is an import, the tiny module's is `f`.
  const r = spawnSync(
    process.execPath,
    [
      '--trace-wasm-compilation-times',
      '--wasm-tier-mask-for-testing=1',
      '--no-wasm-lazy-compilation',
      '--input-type=module',
      '-e',
      script,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const [before, after] = r.stdout.split('--- filter loaded');
  const compiled = (s: string, tier: string) => s.split('\n').filter((l) => l.includes(`using ${tier}`)).length;
  assert.ok(compiled(before!, 'Liftoff') > 5, 'the filter module was compiled');
  assert.equal(compiled(before!, 'TurboFan'), 0, 'no function of the filter module on TurboFan');
  assert.equal(compiled(after!, 'TurboFan'), 1, 'the later module is compiled by TurboFan as asked');
  assert.match(after!, /tiny says 42/);
});
