/**
 * The loader corpus (test/loader/corpus/*.c): C written for these tests, compiled now with clang, one
 * object per section family, extern kind and map family. `bpftool prog loadall` (libbpf) is the oracle:
 * bpfkit's kernel engine loads an object exactly when bpftool does. Sources whose section names came after
 * bpftool's libbpf (tcx, netkit, netfilter... in libbpf 1.2/1.3) are refused by that bpftool for the name
 * alone; for them bpfkit must load and bpftool must refuse with "failed to guess program type".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseObject } from '../../src/elf/object.js';
import { BtfKind, parseBtf } from '../../src/btf/btf.js';
import { verifyProgram } from '../../src/verifier/index.js';
import { loadCollection } from '../../src/loader/index.js';
import { prepareSpec } from '../../src/loader/load-collection.js';
import { runningKernel, type KernelEnv } from '../../src/loader/kernel-env.js';
import type { KernelCollection } from '../../src/kernel/collection.js';
import { mapInfo } from '../../src/kernel/objects.js';
import { BpfkitError } from '../../src/util/errors.js';
import { lockdownMode } from '../../src/kernel/lockdown.js';
import { programTypeByName } from '../../src/elf/section-types.js';
import { ProgType } from '../../src/uapi/types.js';
import { needs, repoPath } from '../support/env.js';

const work = mkdtempSync(join(tmpdir(), `bpfkit-loader-corpus-${process.pid}-`));
const pinRoot = `/sys/fs/bpf/bpfkit-corpus-${process.pid}`;
process.on('exit', () => {
  rmSync(work, { recursive: true, force: true });
  rmSync(pinRoot, { recursive: true, force: true });
});

function compile(name: string): string {
  const out = join(work, name.replace(/\.c$/, '.o'));
  if (!existsSync(out))
    execFileSync(
      'clang',
      ['-g', '-O2', '-target', 'bpf', '-c', repoPath('test', 'loader', 'corpus', name), '-o', out],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
  return out;
}

/** bpftool's libbpf version as [major, minor]. */
function libbpfVersion(): [number, number] {
  const text = execFileSync('bpftool', ['version'], { encoding: 'utf8' });
  const m = /libbpf v(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}
const atLeast = (v: [number, number], want: string) => {
  const [a, b] = want.split('.').map(Number) as [number, number];
  return v[0] > a || (v[0] === a && v[1] >= b);
};

function bpftoolLoads(obj: string, tag: string, extra: string[] = []): { ok: boolean; stderr: string } {
  const dir = `${pinRoot}/bpftool-${tag}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(pinRoot, { recursive: true });
  const r = spawnSync('bpftool', ['prog', 'loadall', obj, dir, ...extra], { encoding: 'utf8' });
  return { ok: r.status === 0, stderr: r.stderr };
}

async function bpfkitLoads(obj: string): Promise<{ ok: boolean; error?: BpfkitError }> {
  try {
    const c = await loadCollection(parseObject(readFileSync(obj), { path: obj }), { engine: 'kernel' });
    c.close();
    return { ok: true };
  } catch (err) {
    if (!(err instanceof BpfkitError)) throw err;
    return { ok: false, error: err };
  }
}

/** bpftool 7.1 after libbpf loaded an object whose `?` programs it left out, as it should. */
const PIN_LEFT_OUT = /prog '(\w+)': can't pin program that wasn't loaded/;

interface Case {
  file: string;
  /** Whether it loads on this machine's kernel (6.18, lockdown integrity, no kprobes, no lirc). */
  loads: boolean;
  /** The libbpf version that first knew the object's section names, when newer than 1.0. */
  libbpf?: string;
  /** Exit status of bpfkit's refusal (2 input, 3 kernel or its policy), when it is refused. */
  exit?: number;
  /** What bpfkit's one-line refusal says. */
  says?: RegExp;
  /**
   * Programs in `?` sections: libbpf loads the others, then bpftool 7.1's pinning fails on the ones it
   * left out ("can't pin program that wasn't loaded"); that failure comes after a successful load.
   */
  autoloadOff?: boolean;
}

const lockdown = lockdownMode();
const CASES: Case[] = [
  { file: 'sections-net.c', loads: true },
  { file: 'sections-trace.c', loads: true },
  { file: 'sections-newer.c', loads: true, libbpf: '1.3' },
  { file: 'maps.c', loads: true },
  // Legacy `maps` (libbpf 1.x refuses the section) and ID/KEY sections that name no program type.
  {
    file: 'tail-calls-legacy.c',
    loads: false,
    exit: 2,
    says: /section '7\/0' is not a section name libbpf knows.*--type/,
  },
  { file: 'internal-maps.c', loads: true },
  { file: 'autoload-off.c', loads: true, autoloadOff: true },
  { file: 'global-data-static.c', loads: true },
  // A hidden global subprogram: static for the kernel (libbpf's rule), so checked in its caller's context.
  { file: 'hidden-subprog.c', loads: true },
  {
    file: 'map-in-map-late-inner.c',
    loads: false,
    exit: 2,
    says: /map 'outer_by_id' is a map of maps without an inner map template/,
  },
  { file: 'map-in-map-btf.c', loads: true },
  { file: 'externs.c', loads: true },
  { file: 'externs-weak.c', loads: true },
  { file: 'externs-virtual.c', loads: true },
  { file: 'extern-missing-kconfig.c', loads: false, exit: 2, says: /CONFIG_BPFKIT_NOT_A_CONFIG': not set in / },
  {
    file: 'extern-bad-kconfig.c',
    loads: false,
    exit: 2,
    says: /value '"\(none\)"' is a string, which needs a char array/,
  },
  { file: 'extern-missing-ksym.c', loads: false, exit: 2, says: /no variable of that name in the kernel's BTF/ },
  { file: 'tp-btf-missing.c', loads: false, exit: 2, says: /no typedef 'btf_trace_no_such_tracepoint_bpfkit'/ },
  {
    file: 'unknown-section.c',
    loads: false,
    exit: 2,
    says: /section 'my_custom_section' is not a section name libbpf knows.*--type/,
  },
  { file: 'lirc.c', loads: false, exit: 3, says: /does not support program type lirc_mode2/ },
  ...(lockdown
    ? [
        { file: 'sections-fentry.c', loads: false, exit: 3, says: /not supported by this kernel \(lockdown: / },
        { file: 'lsm.c', loads: false, exit: 3, says: /'lsm_open' \(lsm\): not supported by this kernel \(lockdown: / },
        {
          file: 'arena.c',
          loads: false,
          exit: 3,
          says: /creating map 'arena' \(arena\): not supported by this kernel \(lockdown: /,
        },
      ]
    : [
        { file: 'sections-fentry.c', loads: true },
        { file: 'lsm.c', loads: true },
      ]),
];

test('every corpus source is in the table', () => {
  const sources = readdirSync(repoPath('test', 'loader', 'corpus')).filter((f) => f.endsWith('.c'));
  const listed = new Set(CASES.map((c) => c.file));
  for (const f of sources) if (f !== 'arena.c' || lockdown) assert.ok(listed.has(f), `${f} is not in CASES`);
});

for (const c of CASES) {
  test(`corpus ${c.file}: bpfkit ${c.loads ? 'loads it' : 'refuses it'}, as bpftool prog loadall does`, async (t) => {
    if (!needs(t, { root: true, tools: ['clang', 'bpftool'] })) return;
    const obj = compile(c.file);
    const kit = await bpfkitLoads(obj);
    assert.equal(kit.ok, c.loads, kit.error ? kit.error.message : 'loaded');
    if (!c.loads) {
      assert.equal(kit.error!.exitCode, c.exit);
      if (c.says) assert.match(kit.error!.message, c.says);
      if (!/verifier/.test(kit.error!.message)) assert.ok(!kit.error!.message.includes('\n'), 'one line');
    }
    const tool = bpftoolLoads(obj, c.file.replace(/\.c$/, ''));
    if (c.libbpf && !atLeast(libbpfVersion(), c.libbpf)) {
      assert.equal(tool.ok, false, 'a libbpf older than the section names refuses them');
      assert.match(tool.stderr, /failed to guess program type/);
    } else {
      const loaded = tool.ok || (c.autoloadOff === true && PIN_LEFT_OUT.test(tool.stderr));
      assert.equal(loaded, kit.ok, `bpftool ${tool.ok ? 'loads' : 'refuses'} it:\n${tool.stderr}`);
    }
  });
}

for (const [file, pinned] of [
  ['externs.c', 'externs_kconfig'],
  ['externs-virtual.c', 'externs_kconfig'],
] as const)
  test(`corpus ${file}: the .kconfig map holds what libbpf writes into it, byte for byte`, async (t) => {
    if (!needs(t, { root: true, tools: ['clang', 'bpftool'] })) return;
    const obj = compile(file);
    const maps = `${pinRoot}/kconfig-maps-${file.slice(0, -2)}`;
    const tool = bpftoolLoads(obj, `kconfig-${file.slice(0, -2)}`, ['pinmaps', maps]);
    assert.ok(tool.ok, tool.stderr);
    const dump = JSON.parse(
      execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', `${maps}/${pinned}`], { encoding: 'utf8' }),
    ) as {
      value: string[];
    }[];
    const libbpf = Uint8Array.from(dump[0]!.value.map((h) => Number(h)));
    const c = (await loadCollection(parseObject(readFileSync(obj), { path: obj }), {
      engine: 'kernel',
    })) as KernelCollection;
    const ourPins = `${pinRoot}/kconfig-ours-${file.slice(0, -2)}`;
    try {
      const ours = c.maps.get('.kconfig')!.lookup(new Uint8Array(4))!;
      assert.deepEqual([...ours], [...libbpf]);
      // libbpf creates it with its DATASEC as the value's BTF type (bpftool map dump shows the externs by name).
      mkdirSync(ourPins, { recursive: true });
      c.pinAll(ourPins);
      const show = (path: string) =>
        JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'pinned', path], { encoding: 'utf8' })) as {
          btf_id?: number;
        };
      assert.ok(show(`${maps}/${pinned}`).btf_id, 'libbpf gives .kconfig BTF');
      assert.ok(show(`${ourPins}/${pinned}`).btf_id, 'so does bpfkit');
      // ... and pins every map under the name bpf_object__pin_maps gives it (internal maps: the kernel name).
      const ourMaps = readdirSync(ourPins).filter((f) => !c.programs.has(f));
      assert.deepEqual(ourMaps.sort(), readdirSync(maps).sort());
    } finally {
      c.close();
      rmSync(ourPins, { recursive: true, force: true });
    }
  });

test('global-data-static.c: an internal map is mmapable exactly when its DATASEC has a non-static variable (libbpf 1.1.2 on)', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const spec = parseObject(readFileSync(compile('global-data-static.c')), { path: 'global-data-static.o' });
  const flags = Object.fromEntries(spec.maps.map((m) => [m.name, m.flags]));
  // What libbpf 1.1.2 (Debian's libbpf.so.1) gives the kernel for this object, read back with bpftool map show.
  assert.deepEqual(flags, { '.data': 0x400, '.bss': 0, '.rodata': 0x80 });
});

test('hidden-subprog.c: a hidden global subprogram is static in the BTF the kernel gets, and verified in context', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const spec = parseObject(readFileSync(compile('hidden-subprog.c')), { path: 'hidden-subprog.o' });
  const btf = parseBtf(spec.btf!);
  const linkage = (name: string) => btf.types.find((x) => x.kind === BtfKind.FUNC && x.name === name)?.vlen;
  assert.equal(linkage('store_through'), 0, 'BTF_FUNC_STATIC, as libbpf gives the kernel');
  assert.equal(linkage('hidden_subprog'), 1, 'the program itself stays global');
  const prog = spec.programs[0]!;
  const v = verifyProgram(spec, prog);
  assert.ok(v.accepted, v.message);
});

test('map-in-map-late-inner.c: a map of maps without an inner template parses (its loader sets one at run time)', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const spec = parseObject(readFileSync(compile('map-in-map-late-inner.c')), { path: 'map-in-map-late-inner.o' });
  const outer = spec.maps.find((m) => m.name === 'outer_by_id')!;
  assert.equal(outer.innerMap, undefined);
  assert.deepEqual([outer.keySize, outer.valueSize, outer.maxEntries], [8, 4, 16]);
  assert.deepEqual(
    spec.programs[0]!.mapRefs.map((r) => r.map),
    ['outer_by_id'],
  );
});

test("autoload-off.c: programs in '?' sections keep their type and load only when asked for, as libbpf's autoload", async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const obj = compile('autoload-off.c');
  const spec = parseObject(readFileSync(obj), { path: obj });
  const typeOf = (n: string) => spec.programs.find((p) => p.name === n)!;
  assert.equal(typeOf('optional_tc').type, ProgType.SCHED_CLS);
  assert.equal(typeOf('optional_raw_tp').type, ProgType.RAW_TRACEPOINT);
  assert.equal(typeOf('optional_tc').autoload, false);
  assert.equal(typeOf('always').autoload, undefined);
  if (!needs(t, { root: true, tools: ['bpftool'] })) return;
  // libbpf (bpftool prog loadall) loads the autoloaded program alone; bpftool 7.1 then fails to pin the
  // first one it left out (newer ones pin what was loaded)
  const tool = bpftoolLoads(obj, 'autoload');
  if (!tool.ok) assert.equal(PIN_LEFT_OUT.exec(tool.stderr)?.[1], 'optional_tc', tool.stderr);
  else assert.deepEqual(readdirSync(`${pinRoot}/bpftool-autoload`), ['always']);
  const all = await loadCollection(spec, { engine: 'kernel' });
  try {
    assert.deepEqual([...all.programs.keys()], ['always']);
    // every map is still created, as libbpf creates them
    assert.deepEqual([...all.maps.keys()], ['only_optional']);
  } finally {
    all.close();
  }
  const asked = await loadCollection(spec, { engine: 'kernel', programs: ['optional_tc'] });
  try {
    assert.deepEqual([...asked.programs.keys()], ['optional_tc']);
  } finally {
    asked.close();
  }
});

test("internal-maps.c: the spec's kernel names for internal maps are the names libbpf gives the kernel", async (t) => {
  if (!needs(t, { root: true, tools: ['clang', 'bpftool'] })) return;
  const obj = compile('internal-maps.c');
  const tool = bpftoolLoads(obj, 'internal-names');
  assert.ok(tool.ok, tool.stderr);
  const prog = JSON.parse(
    execFileSync('bpftool', ['-j', 'prog', 'show', 'pinned', `${pinRoot}/bpftool-internal-names/globals`], {
      encoding: 'utf8',
    }),
  ) as { map_ids: number[] };
  const libbpf = prog.map_ids
    .map(
      (id) =>
        (
          JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'id', String(id)], { encoding: 'utf8' })) as {
            name: string;
          }
        ).name,
    )
    .sort();
  const spec = parseObject(readFileSync(obj), { path: obj });
  const ours = spec.maps.map((m) => m.kernelName ?? m.name).sort();
  assert.deepEqual(ours, libbpf);
  assert.ok(ours.includes('internal.rodata'), ours.join(' '));
  // and the kernel engine creates them under those names (what bpftool map show lists)
  const c = (await loadCollection(spec, { engine: 'kernel' })) as KernelCollection;
  try {
    const created = [...c.maps.values()].map((m) => mapInfo(m.fd).name).sort();
    assert.deepEqual(created, libbpf);
  } finally {
    c.close();
  }
});

test('tail-calls-legacy.c: ID/KEY sections are read as tc reads them (%i: 0x7/2 is slot 2 of the prog array with id 7)', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const spec = parseObject(readFileSync(compile('tail-calls-legacy.c')), { path: 'tail-calls-legacy.o' });
  const jmp = spec.maps.find((m) => m.name === 'jmp')!;
  assert.deepEqual(
    jmp.contents.map((e) => [e.key[0], e.value]),
    [
      [0, { program: 'case_zero' }],
      [2, { program: 'case_two' }],
    ],
  );
});

test('tail-calls-legacy.c: a partial load of the classifier (as tc loads it) fills its prog array with the ID/KEY programs', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] })) return;
  const obj = compile('tail-calls-legacy.c');
  const spec = parseObject(readFileSync(obj), { path: obj, defaultProgramType: ProgType.SCHED_CLS });
  for (const how of [{ kernel: { programs: ['entry'] } }, { programs: ['entry'] }, {}]) {
    const c = await loadCollection(spec, { engine: 'kernel', ...how });
    try {
      const jmp = c.maps.get('jmp')!;
      // A prog array's lookup from user space gives the program's id, or nothing for an empty slot.
      const filled = [0, 1, 2, 3].filter((k) => jmp.lookup(Uint8Array.of(k, 0, 0, 0)) !== undefined);
      assert.deepEqual(filled, [0, 2], JSON.stringify(how));
      // entry tail-calls slot 2 (case_two), which tail-calls slot 0 (case_zero): 10, not entry's own 1.
      assert.equal(c.program('entry').run({ data: new Uint8Array(64) }).retval, 10, JSON.stringify(how));
    } finally {
      c.close();
    }
  }
});

test('partial loading: a program and what it needs load in the VM though its object has maps the VM lacks', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const spec = parseObject(readFileSync(compile('maps.c')), { path: 'maps.o' });
  await assert.rejects(loadCollection(spec, { engine: 'vm' }), /does not model/);
  const c = await loadCollection(spec, { engine: 'vm', programs: ['uses_maps'] });
  try {
    assert.deepEqual([...c.programs.keys()], ['uses_maps']);
    assert.equal(c.maps.size, 0);
  } finally {
    c.close();
  }
  // A prog array the kept program reaches brings the programs it holds.
  const withTail = await loadCollection(spec, { engine: 'vm', programs: ['tail'] });
  withTail.close();
});

test('unknown section: --type names the program type and the object loads', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] })) return;
  const obj = compile('unknown-section.c');
  const spec = parseObject(readFileSync(obj), { path: obj, defaultType: programTypeByName('socket_filter')! });
  const c = await loadCollection(spec, { engine: 'kernel' });
  c.close();
});

test('externs-virtual.c: LINUX_HAS_BPF_COOKIE says whether the engine has bpf_get_attach_cookie (the VM has not)', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const obj = compile('externs-virtual.c');
  const spec = parseObject(readFileSync(obj), { path: obj });
  const cookie = (engine: 'vm' | 'kernel', env: KernelEnv): number => {
    const kconfig = prepareSpec(spec, { engine }, env).maps.find((m) => m.name === '.kconfig')!;
    const at = spec.externs!.find((e) => e.name === 'LINUX_HAS_BPF_COOKIE')!.offset;
    return (kconfig.contents[0]!.value as Uint8Array)[at!]!;
  };
  const env = (release: string): KernelEnv => ({
    btf: () => undefined,
    kconfig: () => undefined,
    kallsyms: () => undefined,
    release,
    syscallPrefix: '__x64_sys_',
  });
  // Without BTF the release says it (5.15 added the helper); the VM has no such helper whatever the kernel.
  assert.equal(cookie('kernel', env('5.15.0')), 1);
  assert.equal(cookie('kernel', env('5.10.200')), 0);
  assert.equal(cookie('vm', env('6.18.0')), 0);
  // With BTF, the kernel's enum bpf_func_id.
  const running = runningKernel();
  if (running.btf()) assert.equal(cookie('kernel', running), 1);
});
