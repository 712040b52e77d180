/**
 * libbpf parity on objects from another project: every CO-RE object Debian's libbpf-tools embeds in its
 * tools is loaded by libbpf itself (libbpf.so.1, called through koffi as the tools call it) and by bpfkit's
 * kernel engine, and each program the kernel accepts must reach the kernel as the same instructions
 * (`bpftool prog dump xlated`: CO-RE offsets, map references, subprogram layout, helper calls after the
 * kernel's own fixups), its maps the same (name, type, sizes, flags). As the tools do, maps the object leaves
 * at max_entries 0 get a size before the load (1 here); programs the kernel refuses (fentry under lockdown,
 * targets this kernel lacks) are left out on both sides.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { parseObject } from '../../src/elf/object.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { loadCollection } from '../../src/loader/index.js';
import { prepareSpec } from '../../src/loader/load-collection.js';
import { runningKernel } from '../../src/loader/kernel-env.js';
import { progInfo } from '../../src/kernel/objects.js';
import { kernelVerdictObject } from '../verifier/kernel-oracle.js';
import { inCI, needs } from '../support/env.js';
import { needsPackages, packagedObjects } from '../support/packaged.js';

/** The libbpf calls a tool makes to open, size, choose and load its object. */
function libbpf() {
  const lib = koffi.load('libbpf.so.1');
  return {
    open: lib.func('void *bpf_object__open(const char *path)'),
    nextMap: lib.func('void *bpf_object__next_map(void *obj, void *map)'),
    maxEntries: lib.func('uint32_t bpf_map__max_entries(void *map)'),
    setMaxEntries: lib.func('int bpf_map__set_max_entries(void *map, uint32_t n)'),
    nextProgram: lib.func('void *bpf_object__next_program(void *obj, void *prog)'),
    programName: lib.func('const char *bpf_program__name(void *prog)'),
    setAutoload: lib.func('int bpf_program__set_autoload(void *prog, bool autoload)'),
    programFd: lib.func('int bpf_program__fd(void *prog)'),
    load: lib.func('int bpf_object__load(void *obj)'),
    close: lib.func('void bpf_object__close(void *obj)'),
    silence: lib.func('void *libbpf_set_print(void *fn)'),
  };
}

/** A program's instructions as the kernel holds them, each map reference replaced by what the map is. */
function xlated(progId: number, mapShape: (id: string) => string): string {
  const text = execFileSync('bpftool', ['prog', 'dump', 'xlated', 'id', String(progId)], { encoding: 'utf8' });
  return text.replace(/map\[id:(\d+)\]/g, (_m, id: string) => `map[${mapShape(id)}]`);
}

test(
  'libbpf-tools: bpfkit gives the kernel the instructions libbpf gives it, program for program',
  { timeout: 600_000 },
  async (t) => {
    if (!needs(t, { root: true, tools: ['dpkg-query', 'bpftool'], long: true })) return;
    if (!needsPackages(t, ['libbpf-tools'])) return;
    let lb: ReturnType<typeof libbpf>;
    try {
      lb = libbpf();
    } catch (err) {
      const reason = `needs libbpf.so.1 (Debian's libbpf1): ${(err as Error).message.split('\n')[0]}`;
      if (inCI) assert.fail(`${reason} (CI=true: .ci/run must install it)`);
      t.skip(reason);
      return;
    }
    lb.silence(null);
    const env = runningKernel();
    const dir = mkdtempSync(join(tmpdir(), `bpfkit-libbpf-parity-${process.pid}-`));
    const shapes = new Map<string, string>();
    const mapShape = (id: string): string => {
      let s = shapes.get(id);
      if (s === undefined) {
        const m = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'id', id], { encoding: 'utf8' })) as Record<
          string,
          unknown
        >;
        s = `${String(m['name'])} ${String(m['type'])} key ${String(m['bytes_key'])} value ${String(m['bytes_value'])} entries ${String(m['max_entries'])} flags ${String(m['flags'])}`;
        shapes.set(id, s);
      }
      return s;
    };
    let compared = 0;
    let objects = 0;
    const differ: string[] = [];
    const libbpfRefused: string[] = [];
    try {
      for (const tool of packagedObjects(['libbpf-tools'])) {
        const spec: ObjectSpec = parseObject(tool.bytes, { path: tool.file });
        for (const m of spec.maps) if (m.maxEntries === 0) m.maxEntries = 1;
        // The programs the kernel accepts from bpfkit's load; the others are left out on both sides.
        const loadable = spec.programs
          .map((p) => p.name)
          .filter((name) => {
            try {
              return kernelVerdictObject(prepareSpec(spec, { engine: 'kernel', programs: [name] }, env), name).accepted;
            } catch {
              return false;
            }
          });
        if (loadable.length === 0) continue;
        const file = join(dir, `${tool.file}.bpf.o`);
        writeFileSync(file, tool.bytes);
        const obj = lb.open(file);
        assert.ok(obj, `libbpf opens ${tool.file}'s object`);
        try {
          for (let m = lb.nextMap(obj, null); m; m = lb.nextMap(obj, m))
            if (lb.maxEntries(m) === 0) lb.setMaxEntries(m, 1);
          const progs = new Map<string, unknown>();
          for (let p = lb.nextProgram(obj, null); p; p = lb.nextProgram(obj, p)) {
            const name = lb.programName(p) as string;
            progs.set(name, p);
            lb.setAutoload(p, loadable.includes(name));
          }
          // libbpf creates every map of the object, used or not: a stack-trace map the tool sizes at run time
          // (value size 0 here) stops its load, where bpfkit creates only the maps its programs use.
          if (lb.load(obj) !== 0) {
            libbpfRefused.push(tool.file);
            continue;
          }
          objects++;
          const c = await loadCollection(spec, { engine: 'kernel', programs: loadable });
          try {
            for (const name of loadable) {
              const ours = xlated(progInfo(c.programs.get(name)!.fd).id, mapShape);
              const theirs = xlated(progInfo(lb.programFd(progs.get(name)) as number).id, mapShape);
              compared++;
              if (ours !== theirs) differ.push(`${tool.file}/${name}`);
            }
          } finally {
            c.close();
          }
        } finally {
          lb.close(obj);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    t.diagnostic(
      `${compared} programs of ${objects} objects compared; libbpf refused ${libbpfRefused.length} objects (${libbpfRefused.join(', ')})`,
    );
    assert.deepEqual(differ, [], 'every program the same instructions as libbpf loads');
    assert.ok(compared >= 150, `at least 150 programs compared (${compared})`);
  },
);
