// The wasm engine's module cache (src/vm/wasm/module-cache.ts) and its file store
// (src/loader/module-cache-files.ts): a hit gives the very module a miss compiles, and the same results,
// maps, faults and instruction counts as no cache on the repository's examples, a faulting program, tail
// calls and budgets running out; the key follows every code-generation input; damaged entries are
// compiled again; the store keeps its directory private and bounded, survives concurrent writers, and
// the CLI uses it unless BPFKIT_MODULE_CACHE=off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { loadVmCollection } from '../../src/vm/collection.js';
import { Vm } from '../../src/vm/interpreter.js';
import { VmError } from '../../src/vm/vm-error.js';
import { MapType } from '../../src/uapi/types.js';
import { configureVmHost, vmHost } from '../../src/vm/host-environment.js';
import { compileToWasm } from '../../src/vm/wasm/compile.js';
import {
  codegenInput,
  compileCached,
  readEntry,
  writeEntry,
  type ModuleCache,
} from '../../src/vm/wasm/module-cache.js';
import { FileModuleCache, moduleCacheDir, useModuleCacheFiles } from '../../src/loader/module-cache-files.js';
import { mapSpec } from '../support/map-spec.js';
import { repoPath } from '../support/env.js';
import { cliScript } from '../support/cli-script.js';
import { frames } from '../programs/packets.js';
import { asm, MAP, tcProgram } from './support.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u32 = (n: number) => Uint8Array.of(n, n >>> 8, n >>> 16, n >>> 24);

/** A store in memory that counts what it answered. */
class CountingCache implements ModuleCache {
  readonly entries = new Map<string, Uint8Array>();
  hits = 0;
  misses = 0;
  get(input: Uint8Array): Uint8Array | undefined {
    const e = this.entries.get(hex(input));
    if (e) this.hits++;
    else this.misses++;
    return e;
  }
  set(input: Uint8Array, entry: Uint8Array): void {
    this.entries.set(hex(input), entry);
  }
}

/** Run with `cache` as the host's store, then put back what was there. */
function withCache<T>(cache: ModuleCache | undefined, f: () => T): T {
  const before = vmHost.moduleCache;
  configureVmHost({ moduleCache: cache });
  try {
    return f();
  } finally {
    configureVmHost({ moduleCache: before });
  }
}

/** A run's retval and instruction count, or its fault (kind, pc, program, message). */
function outcome(f: () => { retval: number; instructions: number }): string {
  try {
    const r = f();
    return `retval ${r.retval} in ${r.instructions}`;
  } catch (err) {
    if (!(err instanceof VmError)) throw err;
    return `${err.kind} at ${err.pc} in ${err.program}: ${err.message}`;
  }
}

const FRAMES = [frames.http(), frames.https(), frames.udpDns(), frames.vxlan(), frames.gre(), frames.arp()];

/** Every program of `spec` on every frame (twice, repeat 1 and 3) on 'wasm', then every map's contents. */
function session(spec: ObjectSpec, budget?: number): string[] {
  const c = loadVmCollection(spec, { cpus: 1, execution: 'wasm', ...(budget ? { budget } : {}) });
  const out: string[] = [];
  for (const p of spec.programs)
    for (const data of FRAMES)
      for (const repeat of [1, 3]) out.push(`${p.name}: ${outcome(() => c.program(p.name).run({ data, repeat }))}`);
  for (const m of spec.maps) {
    const map = c.map(m.name);
    if (m.type === MapType.PROG_ARRAY || m.type === MapType.PERF_EVENT_ARRAY || m.type === MapType.RINGBUF) continue;
    const rows = [...map.keys()].map((k) => `${hex(k)}=${hex(map.lookup(k) ?? new Uint8Array(0))}`);
    out.push(`${m.name}: ${rows.sort().join(' ')}`);
  }
  c.close();
  return out;
}

/** The same session with no cache, with an empty one (misses, then stored) and with the stored entries (hits only). */
function agreeWithCache(spec: ObjectSpec, budget?: number): string[] {
  const reference = withCache(undefined, () => session(spec, budget));
  const cache = new CountingCache();
  assert.deepEqual(
    withCache(cache, () => session(spec, budget)),
    reference,
    'a miss differs from no cache',
  );
  assert.ok(cache.entries.size > 0, 'nothing was stored');
  cache.hits = cache.misses = 0;
  assert.deepEqual(
    withCache(cache, () => session(spec, budget)),
    reference,
    'a hit differs from no cache',
  );
  assert.ok(cache.hits > 0 && cache.misses === 0, `hits ${cache.hits}, misses ${cache.misses}`);
  return reference;
}

const PROGS = MAP + 1;

/** A tc object with an array map and a prog array whose slots name `slots`. */
function tcObject(programs: Record<string, string>, slots: string[] = []): ObjectSpec {
  const progs = mapSpec('progs', MapType.PROG_ARRAY, 4, 4, 4);
  progs.contents = slots.map((p, i) => ({ key: u32(i), value: { program: p } }));
  const maps = [mapSpec('arr', MapType.ARRAY, 4, 8, 8), progs];
  return {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps,
    programs: Object.entries(programs).map(([name, text]) => tcProgram(name, text, maps)),
  };
}

const ENTRY = `
mov %r6, %r1
stdw [%r10-8], 0x55
stw [%r10-12], 0
mov %r2, %r10
add %r2, -12
lddw %r1, ${MAP}
call 1
jeq %r0, 0, +2
mov %r1, 1
lock add [%r0+0], %r1
mov %r1, %r6
lddw %r2, ${PROGS}
mov %r3, 0
call 12
mov %r0, 1000
exit`;
const TAIL = `
ldxdw %r0, [%r10-8]
ldxw %r5, [%r1+0]
add %r0, %r5
lddw %r2, ${PROGS}
mov %r3, 1
call 12
exit`;
const FAULT = `
ldxw %r2, [%r1+0]
mov %r0, %r2
ldxdw %r0, [%r10+8]
exit`;

test('module cache: the repository examples give the same results and maps on a hit as without a cache', () => {
  for (const name of ['proto-count', 'port-demux', 'mark-stats', 'tunnel-monitor']) {
    const spec = loadObjectFile(repoPath('examples', name, `${name}.o`));
    const out = agreeWithCache(spec);
    assert.ok(
      out.some((o) => o.includes('retval')),
      name,
    );
  }
});

test('module cache: tail calls, a fault and budgets running out agree with no cache', () => {
  const spec = tcObject({ entry: ENTRY, tail: TAIL, fault: FAULT }, ['tail', 'entry']);
  const out = agreeWithCache(spec);
  assert.ok(
    out.some((o) => o.startsWith('fault: ') && !o.includes('retval')),
    'the faulting program faults',
  );
  // a budget that runs out in the first stage, and one that runs out a few stages into the chain
  for (const budget of [5, 40]) {
    const small = agreeWithCache(spec, budget);
    assert.ok(
      small.some((o) => o.includes('budget') || o.includes('instruction')),
      `budget ${budget}: ${small[0]}`,
    );
  }
});

test('module cache: an entry holds exactly what compileToWasm writes, and a hit hands it over', () => {
  const vm = new Vm({ engine: 'wasm' });
  const p = vm.load(asm('mov %r0, 1\nldxw %r2, [%r10-4]\njeq %r2, 7, +1\nmov %r0, 2\nexit'), { name: 'x' });
  for (const floor of [0, 64]) {
    const direct = compileToWasm(p, floor);
    assert.ok(typeof direct !== 'string');
    const cache = new CountingCache();
    const miss = compileCached(p, floor, cache);
    const hit = compileCached(p, floor, cache);
    assert.equal(cache.hits, 1);
    for (const got of [miss, hit]) {
      assert.ok(typeof got !== 'string');
      assert.equal(hex(got.bytes), hex(direct.bytes));
      assert.deepEqual([...got.blockOf], [...direct.blockOf]);
      assert.equal(got.stackBytes, direct.stackBytes);
    }
  }
});

test('module cache: the key follows the instructions, the resolved map handles, the program id and the stack floor', () => {
  const vm = new Vm({ engine: 'wasm' });
  const text = (imm: number, handle: number) => `lddw %r1, ${handle}\nmov %r0, ${imm}\nexit`;
  const a = vm.load(asm(text(1, MAP)), { name: 'a' });
  const keys = new Set<string>([
    hex(codegenInput(a, 0)),
    hex(codegenInput(vm.load(asm(text(2, MAP)), { name: 'b' }), 0)), // another immediate
    hex(codegenInput(vm.load(asm(text(1, MAP + 1)), { name: 'c' }), 0)), // another map
    hex(codegenInput(vm.load(asm(text(1, MAP).replace('mov %r0', 'add %r0')), { name: 'd' }), 0)), // opcode
    hex(codegenInput(vm.load(asm(text(1, MAP).replace('%r0', '%r3')), { name: 'e' }), 0)), // register
    hex(codegenInput(a, 64)), // the stack floor
  ]);
  assert.equal(keys.size, 6);
  // the same instructions loaded as another program (another id) are another entry
  const again = vm.load(asm(text(1, MAP)), { name: 'f' });
  assert.notEqual(hex(codegenInput(again, 0)), hex(codegenInput(a, 0)));
  // what the module reads at run time (the budget, the name) is not in it
  const other = new Vm({ engine: 'wasm', budget: 7 });
  assert.equal(hex(codegenInput(other.load(asm(text(1, MAP)), { name: 'zzz' }), 0)), hex(codegenInput(a, 0)));
});

test('module cache: entries for another input, cut short, damaged in their head or foreign are misses', () => {
  const vm = new Vm({ engine: 'wasm' });
  const p = vm.load(asm('mov %r0, 3\nexit'), { name: 'p' });
  const q = vm.load(asm('mov %r0, 4\nexit'), { name: 'q' });
  const input = codegenInput(p, 0);
  const out = compileToWasm(p, 0);
  assert.ok(typeof out !== 'string');
  const entry = writeEntry(input, out);
  assert.ok(readEntry(entry, input));
  assert.equal(readEntry(entry, codegenInput(q, 0)), undefined, 'another input');
  assert.equal(readEntry(entry.subarray(0, entry.length - 1), input), undefined, 'one byte short');
  assert.equal(readEntry(new Uint8Array(0), input), undefined, 'empty');
  assert.equal(readEntry(new Uint8Array(entry.length), input), undefined, 'zeros');
  // (the head's fields and the input; the output's own bytes are the store's to keep whole: the file
  // store checks a SHA-256 of each entry, tested below)
  for (const at of [0, 4, 8, 16, 20, 24, 40]) {
    const bad = entry.slice();
    bad[at] = (bad[at] as number) ^ 0x41;
    assert.equal(readEntry(bad, input), undefined, `byte ${at} changed`);
  }
  // an unaligned view of a whole entry is read (a store may return one)
  const shifted = new Uint8Array(entry.length + 1);
  shifted.set(entry, 1);
  assert.ok(readEntry(shifted.subarray(1), input));
  // a store that throws or returns nonsense is no store
  const broken: ModuleCache = {
    get: () => {
      throw new Error('disk on fire');
    },
    set: () => {
      throw new Error('disk on fire');
    },
  };
  const liar = { get: () => 'entry' as unknown as Uint8Array, set: () => undefined };
  for (const c of [broken, liar]) {
    const got = compileCached(p, 0, c);
    assert.ok(typeof got !== 'string');
    assert.equal(hex(got.bytes), hex(out.bytes));
  }
});

test('returnCalls is asked only by the tail call (codegenInput keys on it only for programs with one)', () => {
  const dir = fileURLToPath(new URL('../../../src/vm/wasm/', import.meta.url));
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const uses = readFileSync(join(dir, f), 'utf8').match(/\breturnCalls\(/g)?.length ?? 0;
    const allowed = f === 'tail-call.ts' ? 2 : f === 'module-cache.ts' ? 1 : 0;
    assert.equal(uses, allowed, `${f} calls returnCalls(): codegenInput must key on its answer there too`);
  }
});

/** A fresh directory for a store, removed after the test. */
function scratch(t: { after: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-mc-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('module cache files: a hit after a miss, damaged files compiled and written again, a private directory', async (t) => {
  const dir = join(scratch(t), 'wasm');
  const cache = new FileModuleCache(dir);
  assert.equal(await cache.ready(), true);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const spec = tcObject({ entry: ENTRY, tail: TAIL, fault: FAULT }, ['tail']);
  const reference = withCache(undefined, () => session(spec));
  assert.deepEqual(
    withCache(cache, () => session(spec)),
    reference,
  );
  const files = () => readdirSync(dir).filter((n) => n.endsWith('.bin'));
  const stored = files();
  assert.equal(stored.length, 3);
  const whole = new Map(stored.map((n) => [n, readFileSync(join(dir, n))]));
  for (const n of stored) assert.equal(statSync(join(dir, n)).mode & 0o777, 0o600);
  // damage every file a different way: each is a miss, compiled again, and written whole again
  const damage: ((b: Buffer) => Buffer)[] = [
    (b) => b.subarray(0, b.length - 3), // truncated
    (b) => {
      const c = Buffer.from(b);
      c[c.length - 5] = (c[c.length - 5] as number) ^ 1; // one bit of the module
      return c;
    },
    () => Buffer.from('not an entry at all'),
  ];
  for (let round = 0; round < damage.length; round++) {
    stored.forEach((n, i) => writeFileSync(join(dir, n), damage[(i + round) % damage.length]!(whole.get(n)!)));
    assert.deepEqual(
      withCache(cache, () => session(spec)),
      reference,
      `round ${round}`,
    );
    for (const n of stored) assert.equal(hex(readFileSync(join(dir, n))), hex(whole.get(n)!), `${n} written again`);
  }
  // a file the store cannot read (a directory in its place) is a miss too
  rmSync(join(dir, stored[0]!));
  mkdirSync(join(dir, stored[0]!));
  assert.deepEqual(
    withCache(cache, () => session(spec)),
    reference,
  );
  // a directory others may write is closed before use
  const open = join(scratch(t), 'wasm');
  mkdirSync(open, { mode: 0o777 });
  chmodSync(open, 0o777);
  assert.equal(await new FileModuleCache(open).ready(), true);
  assert.equal(statSync(open).mode & 0o777, 0o700);
});

test('module cache files: the directory stays under its bound, oldest entries going first', async (t) => {
  const dir = join(scratch(t), 'wasm');
  const cache = new FileModuleCache(dir, 64 * 1024);
  await cache.ready();
  const payload = new Uint8Array(5000);
  for (let i = 0; i < 40; i++) {
    payload[0] = i;
    cache.set(Uint8Array.of(i), payload);
  }
  const sizes = readdirSync(dir)
    .filter((n) => n.endsWith('.bin'))
    .map((n) => statSync(join(dir, n)).size);
  assert.ok(sizes.reduce((a, b) => a + b, 0) <= 64 * 1024, `${sizes.length} files`);
  assert.ok(cache.get(Uint8Array.of(39)), 'the newest entry stays');
  assert.equal(cache.get(Uint8Array.of(0)), undefined, 'the oldest went');
  // an entry larger than a quarter of the bound is not kept
  cache.set(Uint8Array.of(99), new Uint8Array(20000));
  assert.equal(cache.get(Uint8Array.of(99)), undefined);
});

test('module cache files: the code version changes with any code-generator file, the kept manifest never hiding one', (t) => {
  // a copy of the compiled sources, its code generator edited under the store
  const src = join(scratch(t), 'src');
  cpSync(fileURLToPath(new URL('../../src', import.meta.url)), src, { recursive: true });
  const entry = join(src, 'vm', 'wasm', 'module-cache.js');
  const dir = join(scratch(t), 'wasm');
  const key = Uint8Array.of(1, 2, 3);
  const payload = new Uint8Array(100).fill(7);
  const manifest = () => {
    const name = readdirSync(dir).find((n) => n.startsWith('code-') && n.endsWith('.json'));
    assert.ok(name, 'a code manifest is kept');
    return JSON.parse(readFileSync(join(dir, name), 'utf8')) as { files: string[]; stamps?: string[] };
  };
  const found = (c: FileModuleCache) => Buffer.from(c.get(key) ?? []).equals(payload);
  /** A store as a fresh process has it (keeping stamps of files just written when `stamps`). */
  const store = (stamps = false) => new FileModuleCache(dir, undefined, entry, stamps ? -60_000 : undefined);
  store(true).set(key, payload);
  assert.ok(found(store(true)), 'a later process finds the entry');
  const listed = manifest();
  assert.equal(listed.files[0], entry);
  assert.equal(listed.stamps?.length, listed.files.length, 'stamps kept');
  assert.ok(found(store(true)), 'found again through the stamps');
  // a file deep in the closure (not the entry) edited: a miss, and just changed, its stamp is not kept
  const deep = listed.files.find((f) => f.includes(`${sep}isa${sep}`));
  assert.ok(deep, 'the closure reaches src/isa');
  writeFileSync(deep, `${readFileSync(deep, 'utf8')}\n// edited\n`);
  assert.equal(store().get(key), undefined, 'an edited code-generator file is a new code version');
  assert.equal(manifest().stamps, undefined, 'stamps of files changed just now are not kept');
  // an import added to a listed file, then only the new file edited (same size, in place): still a new version
  store().set(key, payload);
  const added = join(dirname(deep), 'added-for-test.js');
  writeFileSync(added, 'export const added = 1;\n');
  writeFileSync(deep, `${readFileSync(deep, 'utf8')}import './added-for-test.js';\n`);
  store().set(key, payload);
  assert.ok(found(store()));
  assert.ok(manifest().files.includes(added), 'the new import is listed');
  writeFileSync(added, 'export const added = 2;\n');
  assert.equal(store().get(key), undefined, 'a file the old manifest did not list, edited: a new code version');
  // a file outside the closure changes nothing
  store().set(key, payload);
  writeFileSync(join(src, 'cli', 'main.js'), '// not the code generator\n');
  assert.ok(found(store()));
});

test('BPFKIT_MODULE_CACHE: off turns the store off, a directory moves it, XDG_CACHE_HOME is the default place', async () => {
  assert.equal(moduleCacheDir({ BPFKIT_MODULE_CACHE: 'off' }), undefined);
  assert.equal(moduleCacheDir({ BPFKIT_MODULE_CACHE: '0' }), undefined);
  assert.equal(moduleCacheDir({ BPFKIT_MODULE_CACHE: '/x/y' }), '/x/y/wasm');
  assert.equal(moduleCacheDir({ XDG_CACHE_HOME: '/c' }), '/c/bpfkit/wasm');
  assert.equal(moduleCacheDir({ XDG_CACHE_HOME: '/c', BPFKIT_CACHE_DIR: '/d' }), '/d/wasm');
  assert.match(moduleCacheDir({ XDG_CACHE_HOME: 'relative' })!, /\/\.cache\/bpfkit\/wasm$/);
  const before = vmHost.moduleCache;
  try {
    await useModuleCacheFiles({ BPFKIT_MODULE_CACHE: 'off' });
    assert.equal(vmHost.moduleCache, undefined);
  } finally {
    configureVmHost({ moduleCache: before });
  }
});

const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** `bpfkit` in a child process with `env` added; resolves with its exit status and output. */
function bpfkit(env: Record<string, string>, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['-e', cliScript(mainJs), '--', ...args], {
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, out, err }));
  });
}

test('bpfkit run: the cache is used by default, off with BPFKIT_MODULE_CACHE=off, and concurrent runs agree', async (t) => {
  const home = scratch(t);
  const args = [
    'run',
    repoPath('examples', 'proto-count', 'proto-count.o'),
    '--pcap',
    repoPath('test', 'fixtures', 'packet', 'lo-http.pcap'),
    '--vm-engine',
    'wasm',
    '--json',
  ];
  // (BPFKIT_CACHE_DIR would move it: emptied so the test sees the XDG place)
  const env = { XDG_CACHE_HOME: home, BPFKIT_CACHE_DIR: '' };
  const off = await bpfkit({ ...env, BPFKIT_MODULE_CACHE: 'off' }, ...args);
  assert.equal(off.code, 0, off.err);
  assert.deepEqual(readdirSync(home), [], 'nothing written with the cache off');
  // four processes at once on an empty cache: every one right, one whole entry left, no temporary file
  const runs = await Promise.all([1, 2, 3, 4].map(() => bpfkit(env, ...args)));
  for (const r of runs) {
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, off.out);
  }
  const dir = join(home, 'bpfkit', 'wasm');
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const names = readdirSync(dir).filter((n) => !n.startsWith('code-')); // (less the code manifest)
  assert.equal(names.length, 1, names.join(' '));
  assert.match(names[0]!, /^[0-9a-f]{40}\.bin$/);
  const hit = await bpfkit(env, ...args);
  assert.equal(hit.out, off.out);
  assert.deepEqual(
    readdirSync(dir).filter((n) => !n.startsWith('code-')),
    names,
  );
});
