/**
 * The kernel as oracle: `bpftool prog loadall` (libbpf) loads each BTF fixture; the programs it pins have
 * the names and types we parsed, and the maps those programs use have the type, key/value sizes,
 * max_entries and flags we parsed. Prog-array and map-of-maps initial values are filled at the slots we
 * found. Pins are removed afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { parseObject } from '../../src/elf/object.js';
import { progTypeName } from '../../src/elf/section-types.js';
import { BtfKind, parseBtf } from '../../src/btf/btf.js';
import { MapType, nameOf } from '../../src/uapi/types.js';
import { needs } from '../support/env.js';
import { withMachineLock } from '../support/global-lock.js';
import { fixture } from './object-oracle.js';

const bpftool = (...args: string[]) =>
  JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));

// legacy*.o use the `maps` section, which libbpf 1.x no longer loads (iproute2's own loader does).
const LOADABLE = ['basic.o', 'basic-be.o', 'calls.o', 'maps.o', 'more-maps.o', 'globals.o', 'btf-kinds.o'];

for (const name of LOADABLE) {
  test(`${name}: the kernel (bpftool prog loadall) agrees on programs and maps`, async (t) => {
    if (!needs(t, { tools: ['bpftool'], root: true })) return;
    const o = parseObject(readFileSync(fixture(name)), { path: name });
    if (o.endian === 'big' && new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) {
      // A big-endian object cannot load into a little-endian kernel: libbpf must refuse it too.
      assert.throws(() =>
        execFileSync('bpftool', ['prog', 'loadall', fixture(name), `/sys/fs/bpf/bpfkit-test-${process.pid}-be`], {
          stdio: 'pipe',
        }),
      );
      return;
    }
    const dir = `/sys/fs/bpf/bpfkit-test-${process.pid}-${name.replace(/\W/g, '_')}`;
    const pinnedByName = o.maps.filter((m) => m.pinning !== 'none').map((m) => `/sys/fs/bpf/${m.name}`);
    // A map pinned by name has one path on the whole machine: a second copy of the suite waits its turn.
    if (pinnedByName.length > 0) await withMachineLock('pinned-by-name', check);
    else check();
    function check(): void {
      try {
        // Pin the maps too (unless the object pins some by name, which libbpf cannot combine with
        // pinmaps): a prog array is emptied when its last user reference goes away.
        const pinmaps = pinnedByName.length === 0 ? ['pinmaps', `${dir}-maps`] : [];
        execFileSync('bpftool', ['prog', 'loadall', fixture(name), dir, ...pinmaps], { stdio: 'pipe' });
        for (const p of pinnedByName) assert.ok(existsSync(p), `${p} pinned by name`);
        const mapIds = new Set<number>();
        for (const p of o.programs) {
          const info = bpftool('prog', 'show', 'pinned', `${dir}/${p.name}`);
          assert.equal(info.type, progTypeName(p.type), `${p.name} type`);
          for (const id of info.map_ids ?? []) mapIds.add(id);
        }
        // libbpf fixed up the object's BTF before loading it: our DATASECs must match its, var for var.
        const btfId = bpftool('prog', 'show', 'pinned', `${dir}/${o.programs[0]!.name}`).btf_id;
        if (btfId !== undefined && o.btf) {
          const theirs = (bpftool('btf', 'dump', 'id', String(btfId)).types as any[]).filter(
            (x) => x.kind === 'DATASEC',
          );
          const ours = parseBtf(o.btf).types.filter((x) => x.kind === BtfKind.DATASEC);
          assert.deepEqual(
            ours.map((d) => [d.name, d.sizeOrType, d.members.map((m) => [m.type, m.offset, m.size])]),
            theirs.map((d) => [d.name, d.size, d.vars.map((v: any) => [v.type_id, v.offset, v.size])]),
            'DATASEC fixups',
          );
        }
        const kernelMaps = [...mapIds].map((id) => bpftool('map', 'show', 'id', String(id)));
        const referenced = new Set(o.programs.flatMap((p) => p.mapRefs.map((r) => r.map)));
        for (const mapName of referenced) {
          const m = o.maps.find((x) => x.name === mapName)!;
          // libbpf names global-data maps "<object prefix><section>" (e.g. "globals.bss").
          const k = kernelMaps.find((x) => x.name === m.name || (m.name.startsWith('.') && x.name.endsWith(m.name)));
          assert.ok(k, `kernel has map ${m.name} (kernel: ${kernelMaps.map((x) => x.name).join(', ')})`);
          if (m.name.startsWith('.')) {
            // Global data: libbpf wrote the section's initial bytes, typed by its DATASEC.
            const [entry] = bpftool('map', 'dump', 'id', String(k.id)) as {
              value: string[];
              formatted?: { value: object };
            }[];
            const initial = m.contents[0]!.value as Uint8Array;
            assert.deepEqual(entry!.value.map(Number), Array.from(initial), `${m.name} initial bytes`);
            if (entry!.formatted && o.btf) {
              assert.deepEqual(
                Object.keys(entry!.formatted.value),
                [parseBtf(o.btf).types[m.btfValueTypeId]!.name],
                `${m.name} value type`,
              );
            }
          }
          // A perf event array declared without max_entries gets one slot per possible CPU (libbpf's rule).
          const max = m.type === MapType.PERF_EVENT_ARRAY && m.maxEntries === 0 ? k.max_entries : m.maxEntries;
          assert.deepEqual(
            [k.type, k.bytes_key, k.bytes_value, k.max_entries, k.flags],
            [nameOf(MapType, m.type), m.keySize, m.valueSize, max, m.flags],
            `map ${m.name}`,
          );
          if (
            m.contents.length > 0 &&
            (m.type === MapType.PROG_ARRAY || m.type === MapType.ARRAY_OF_MAPS || m.type === MapType.HASH_OF_MAPS)
          ) {
            const entries = bpftool('map', 'dump', 'id', String(k.id)) as { key: string[] }[];
            const slots = entries.map((e) => Number(e.key[0])).sort();
            assert.deepEqual(slots, m.contents.map((c) => c.key[0]).sort(), `${m.name} initial slots`);
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
        rmSync(`${dir}-maps`, { recursive: true, force: true });
        for (const p of pinnedByName) rmSync(p, { force: true });
      }
    }
  });
}
