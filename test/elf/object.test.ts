/**
 * parseObject against independent oracles: bpftool's BTF dump (every type), llvm-readelf's symbols and
 * llvm-readobj's relocations (programs, map references, call linking), the big-endian builds (same
 * parse), and the hand-checked facts of each fixture (prog-array values, inner maps, legacy maps).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseObject, type ParsedObject } from '../../src/elf/object.js';
import { parseBtf, BtfKind, btfKindName } from '../../src/btf/btf.js';
import { readElf } from '../../src/elf/elf-file.js';
import { sectionType } from '../../src/elf/section-types.js';
import { MapType, ProgType } from '../../src/uapi/types.js';
import {
  BPF_CALL,
  BPF_JMP,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
  OP_LDDW,
} from '../../src/isa/opcodes.js';
import type { MapSpec } from '../../src/elf/spec.js';
import { internalMapKernelName } from '../../src/elf/global-data.js';
import { needs } from '../support/env.js';
import { bpftoolBtf, fixture, readelfSymbols, readobjRelocations } from './object-oracle.js';

export const FIXTURES = ['basic', 'calls', 'maps', 'more-maps', 'globals', 'legacy', 'legacy-def', 'btf-kinds'];
const BIG_ENDIAN = ['basic', 'maps', 'globals', 'legacy'];

const parse = (name: string): ParsedObject => parseObject(readFileSync(fixture(`${name}.o`)), { path: `${name}.o` });
const map = (o: ParsedObject, name: string): MapSpec => {
  const m = o.maps.find((x) => x.name === name);
  assert.ok(m, `map ${name}`);
  return m;
};
const u32 = (b: Uint8Array, little = true) => new DataView(b.buffer, b.byteOffset).getUint32(0, little);

for (const name of FIXTURES) {
  test(`${name}.o: every BTF type equals bpftool's dump`, (t) => {
    if (!needs(t, { tools: ['bpftool'] })) return;
    const elf = readElf(readFileSync(fixture(`${name}.o`)));
    const btf = parseBtf(elf.sectionByName('.BTF')!.data);
    const want = bpftoolBtf(fixture(`${name}.o`));
    assert.equal(btf.types.length - 1, want.length);
    for (const w of want) {
      const got = btf.types[w.id]!;
      const where = `type ${w.id}`;
      assert.equal(btfKindName(got.kind), w.kind, where);
      assert.equal(got.name || '(anon)', w.name, where);
      if ('size' in w) assert.equal(got.sizeOrType, w.size, where);
      if ('type_id' in w && got.kind !== BtfKind.ARRAY) assert.equal(got.sizeOrType, w.type_id, where);
      if (w.kind === 'ARRAY')
        assert.deepEqual(got.array, { type: w.type_id, indexType: w.index_type_id, nelems: w.nr_elems }, where);
      if (w.kind === 'INT') assert.deepEqual([got.int!.offset, got.int!.bits], [w.bits_offset, w.nr_bits], where);
      if (w.members) {
        assert.deepEqual(
          got.members.map((m) => [m.name || '(anon)', m.type, m.offset, m.size]),
          w.members.map((m: any) => [m.name, m.type_id, m.bits_offset, m.bitfield_size ?? 0]),
          where,
        );
      }
      if (w.values) {
        // Compare as 32-bit patterns: bpftool sign-extends to 64 bits and prints unsigned.
        const bits = (v: bigint) => BigInt.asUintN(32, v);
        assert.deepEqual(
          got.members.map((m) => [m.name, bits(BigInt(m.offset))]),
          w.values.map((v: any) => [v.name, bits(BigInt(v.val))]),
          where,
        );
      }
      if (w.params)
        assert.deepEqual(
          got.members.map((m) => [m.name || '(anon)', m.type]),
          w.params.map((p: any) => [p.name, p.type_id]),
          where,
        );
      if (w.vars)
        assert.deepEqual(
          got.members.map((m) => [m.type, m.offset, m.size]),
          w.vars.map((v: any) => [v.type_id, v.offset, v.size]),
          where,
        );
      if (w.kind === 'DECL_TAG') assert.equal(got.extra, w.component_idx, where);
      if (w.kind === 'VAR') assert.equal(got.extra, { static: 0, global: 1, extern: 2 }[w.linkage as string], where);
    }
  });

  test(`${name}.o: programs and map references agree with llvm-readelf symbols and relocations`, (t) => {
    if (!needs(t, { tools: ['llvm-readelf', 'llvm-readobj'] })) return;
    const path = fixture(`${name}.o`);
    const o = parse(name);
    const syms = readelfSymbols(path);
    const funcs = syms.filter((s) => s.type === 2);
    const entries = funcs.filter((s) => s.bind !== 0 && s.sectionName !== '.text');
    assert.deepEqual(
      o.programs.map((p) => p.name).sort(),
      entries.map((s) => s.name).sort(),
      'one program per global function',
    );
    const raw = readFileSync(path);
    const elf = readElf(raw);
    const relocs = readobjRelocations(path);

    for (const p of o.programs) {
      const entry = entries.find((s) => s.name === p.name)!;
      assert.equal(p.section, entry.sectionName);
      // The entry function comes first, instruction for instruction (lddw/call fields aside).
      const slots = p.insns.reduce((n, i) => n + (i.code === OP_LDDW ? 2 : 1), 0);
      assert.ok(slots >= entry.size / 8, `${p.name} holds at least its own ${entry.size / 8} slots`);
      // Every map reference sits on an lddw relocated against that map (or global data section).
      for (const r of p.mapRefs) {
        const insn = p.insns.find((i) => i.pc === r.pc)!;
        assert.equal(insn.code, OP_LDDW);
        assert.equal(insn.src, r.kind === 'fd' ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE);
        assert.equal(insn.imm2, r.offset);
      }
      const own = relocs.filter(
        (r) =>
          r.target === p.section &&
          r.type === 'R_BPF_64_64' &&
          r.offset >= entry.value &&
          r.offset < entry.value + entry.size,
      );
      for (const r of own) {
        const pc = (r.offset - entry.value) / 8;
        const ref = p.mapRefs.find((m) => m.pc === pc);
        const target = syms.find((s) => s.name === r.symbol);
        const isCode = target && (target.type === 2 || (elf.sectionByName(target.sectionName)?.flags ?? 0) & 4);
        if (isCode) continue; // a callback address, checked below
        assert.ok(
          ref,
          `${p.name}: relocation at ${r.section}+0x${r.offset.toString(16)} (${r.symbol}) became a map reference`,
        );
        const expected = o.maps.some((m) => m.name === r.symbol) ? r.symbol : target!.sectionName;
        assert.equal(ref.map, expected, `${p.name} pc ${pc}`);
      }
      // Every local call and callback address lands on the first instruction of a function whose bytes
      // are that function's bytes in the object.
      for (const insn of p.insns) {
        const isCall = insn.code === (BPF_JMP | BPF_CALL) && insn.src === BPF_PSEUDO_CALL;
        const isFunc = insn.code === OP_LDDW && insn.src === BPF_PSEUDO_FUNC;
        if (!isCall && !isFunc) continue;
        const target = insn.pc + 1 + insn.imm;
        const head = p.insns.find((i) => i.pc === target);
        assert.ok(head, `${p.name} pc ${insn.pc}: target ${target} is an instruction`);
        const candidates = funcs.filter((f) => {
          const data = elf.sections[f.section]!.data;
          const first = data.subarray(f.value, f.value + 8);
          return first[0] === head.code && (f.sectionName === '.text' || f.bind === 0);
        });
        assert.ok(candidates.length > 0, `${p.name} pc ${insn.pc}: target starts a function`);
      }
    }
  });
}

for (const name of BIG_ENDIAN) {
  test(`${name}-be.o parses to the same programs and maps as ${name}.o`, () => {
    const le = parse(name);
    // The same object name (internal maps' kernel names come from it).
    const be = parseObject(readFileSync(fixture(`${name}-be.o`)), { path: `be/${name}.o` });
    assert.equal(le.endian, 'little');
    assert.equal(be.endian, 'big');
    assert.equal(be.license, le.license);
    assert.equal(be.kernelVersion, le.kernelVersion);
    // Constant lddw immediates may differ (clang builds byte arrays as 64-bit constants in target order).
    const norm = (o: ParsedObject) =>
      o.programs.map((p) => ({
        ...p,
        insns: p.insns.map((i) => (i.code === OP_LDDW && i.src === 0 ? { ...i, imm: 0, imm2: 0 } : { ...i })),
      }));
    assert.deepEqual(norm(be), norm(le));
    const shape = (o: ParsedObject) =>
      o.maps.map((m) => ({
        ...m,
        contents: m.contents.map((c) => ({
          key: u32(c.key, o.endian === 'little'),
          value: c.value instanceof Uint8Array ? c.value.length : c.value,
        })),
        innerMap: m.innerMap && { ...m.innerMap },
      }));
    assert.deepEqual(shape(be), shape(le));
  });
}

test('basic.o: maps, global data and programs', () => {
  const o = parse('basic');
  assert.equal(o.license, 'GPL');
  assert.deepEqual(
    o.programs.map((p) => [p.name, p.section, p.type, p.attachType]),
    [
      ['count_len', 'socket', ProgType.SOCKET_FILTER, undefined],
      ['count_proto', 'socket', ProgType.SOCKET_FILTER, undefined],
      ['pass_all', 'xdp', ProgType.XDP, 37],
    ],
  );
  const counts = map(o, 'counts');
  assert.deepEqual([counts.type, counts.keySize, counts.valueSize, counts.maxEntries], [MapType.HASH, 4, 8, 128]);
  const data = map(o, '.data');
  assert.deepEqual([data.keySize, data.valueSize, data.maxEntries, data.frozen], [4, 4, 1, false]);
  assert.equal(u32(data.contents[0]!.value as Uint8Array), 100); // threshold = 100
  const rodata = map(o, '.rodata');
  assert.equal(rodata.frozen, true);
  assert.equal(u32(rodata.contents[0]!.value as Uint8Array), 1);
  const bss = map(o, '.bss');
  assert.deepEqual(Array.from(bss.contents[0]!.value as Uint8Array), [0, 0, 0, 0, 0, 0, 0, 0]);
  // count_len calls bump (in .text), which uses `counts`: the reference moved with the subprogram.
  const countLen = o.programs[0]!;
  assert.ok(countLen.mapRefs.some((r) => r.map === 'counts' && r.pc >= 20));
  assert.deepEqual(
    countLen.mapRefs
      .filter((r) => r.kind === 'value')
      .map((r) => r.map)
      .sort(),
    ['.bss', '.data', '.rodata'],
  );
});

test('maps.o: BTF map definitions of many types, prog-array values, inner maps', () => {
  const o = parse('maps');
  const rows = Object.fromEntries(
    o.maps.map((m) => [m.name, [m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.pinning]]),
  );
  assert.deepEqual(rows, {
    flows: [MapType.HASH, 16, 16, 1024, 1, 'none'],
    percpu_stats: [MapType.PERCPU_ARRAY, 4, 16, 16, 0, 'none'],
    percpu_hash: [MapType.PERCPU_HASH, 8, 16, 64, 0, 'none'],
    lru: [MapType.LRU_HASH, 4, 8, 256, 0, 'none'],
    routes: [MapType.LPM_TRIE, 8, 4, 100, 1, 'none'],
    events_q: [MapType.QUEUE, 0, 4, 32, 0, 'none'],
    rb: [MapType.RINGBUF, 0, 0, 4096, 0, 'none'],
    inner_a: [MapType.ARRAY, 4, 4, 4, 0, 'none'],
    inner_b: [MapType.ARRAY, 4, 4, 4, 0, 'none'],
    outer: [MapType.ARRAY_OF_MAPS, 4, 4, 3, 0, 'none'],
    jumps: [MapType.PROG_ARRAY, 4, 4, 4, 0, 'none'],
  });
  const jumps = map(o, 'jumps');
  assert.deepEqual(
    jumps.contents.map((c) => [u32(c.key), c.value]),
    [
      [1, { program: 'stage_one' }],
      [3, { program: 'stage_two' }],
    ],
  );
  const outer = map(o, 'outer');
  assert.deepEqual(
    outer.contents.map((c) => [u32(c.key), c.value]),
    [
      [0, { map: 'inner_a' }],
      [2, { map: 'inner_b' }],
    ],
  );
  assert.deepEqual(
    outer.innerMap && [
      outer.innerMap.name,
      outer.innerMap.type,
      outer.innerMap.keySize,
      outer.innerMap.valueSize,
      outer.innerMap.maxEntries,
    ],
    ['outer.inner', MapType.ARRAY, 4, 4, 4],
  );
  assert.deepEqual(
    o.programs.map((p) => p.type),
    [ProgType.SCHED_CLS, ProgType.SCHED_CLS, ProgType.SCHED_CLS],
  );
});

test('more-maps.o: hash of maps, bloom filter (map_extra), stack, perf event array, LRU per-CPU hash', () => {
  const o = parse('more-maps');
  const rows = Object.fromEntries(
    o.maps.map((m) => [m.name, [m.type, m.keySize, m.valueSize, m.maxEntries, m.mapExtra]]),
  );
  assert.deepEqual(rows, {
    tenant_a: [MapType.HASH, 4, 8, 8, undefined],
    tenants: [MapType.HASH_OF_MAPS, 4, 4, 16, undefined],
    seen_addrs: [MapType.BLOOM_FILTER, 0, 4, 1000, 3],
    history: [MapType.STACK, 0, 8, 10, undefined],
    // max_entries 0: one slot per possible CPU, which the engine that creates the map decides.
    events: [MapType.PERF_EVENT_ARRAY, 4, 4, 0, undefined],
    recent: [MapType.LRU_PERCPU_HASH, 8, 8, 128, undefined],
  });
  const tenants = map(o, 'tenants');
  assert.deepEqual(
    tenants.contents.map((c) => [u32(c.key), c.value]),
    [[5, { map: 'tenant_a' }]],
  );
  assert.deepEqual(tenants.innerMap && [tenants.innerMap.type, tenants.innerMap.keySize, tenants.innerMap.valueSize], [
    MapType.HASH,
    4,
    8,
  ]);
});

test('calls.o: subprograms appended once, calls and the bpf_loop callback relinked', () => {
  const o = parse('calls');
  const twice = o.programs.find((p) => p.name === 'cls_twice')!;
  // entry (20 slots) + twice (9) + global_helper (3) + add (4): add is reached through twice only once.
  assert.equal(
    twice.insns.reduce((n, i) => n + (i.code === OP_LDDW ? 2 : 1), 0),
    20 + 9 + 3 + 4,
  );
  const loop = o.programs.find((p) => p.name === 'cls_loop')!;
  const cb = loop.insns.find((i) => i.code === OP_LDDW && i.src === BPF_PSEUDO_FUNC)!;
  const step = loop.insns.find((i) => i.pc === cb.pc + 1 + cb.imm)!;
  assert.equal(step.code, 0x67, 'callback target is step(): r1 <<= 32');
  assert.equal(cb.imm2, 0);
  assert.deepEqual(o.relocationCounts, { R_BPF_64_64: 2, R_BPF_64_32: 3 });
});

test('globals.o: .data/.rodata/.bss/.data.custom maps, variable offsets, version', () => {
  const o = parse('globals');
  assert.equal(o.license, 'Dual BSD/GPL');
  assert.equal(o.kernelVersion, 0x060c00);
  assert.deepEqual(
    o.maps.map((m) => [m.name, m.valueSize, m.flags, m.frozen]),
    [
      ['.bss', 8, 1024, false],
      ['.data', 20, 1024, false],
      ['.rodata', 36, 1024 | 128, true],
      ['.data.custom', 4, 1024, false],
    ],
  );
  const use = o.programs[0]!;
  // `table` lives at .data+4 (after `limit`), `ports` at .rodata+4 (after `mode`).
  assert.ok(use.mapRefs.some((r) => r.map === '.data' && r.offset === 4));
  assert.ok(use.mapRefs.some((r) => r.map === '.rodata' && r.offset === 4));
  assert.equal(u32(map(o, '.data.custom').contents[0]!.value as Uint8Array), 0xdeadbeef);
});

test("internal maps get libbpf's kernel names: the object's name in front, cut to fit", () => {
  // What libbpf.so.1 (1.1.2) names these, read with bpf_map__name on the objects of the foreign sweep.
  const cases: [string, string, string][] = [
    ['obj/xdp-dispatcher.o', '.rodata', 'xdp_disp.rodata'],
    ['bcc-biolatency-c14.o', '.bss', 'bcc_biol.bss'],
    ['bcc-biolatency-c14.o', '.kconfig', 'bcc_bio.kconfig'],
    ['emb-xdp-bench-19.o', '.rodata', 'emb_xdp_.rodata'],
    ['x.o', '.data', 'x.data'],
    ['internal-maps.o', '.rodata.str1.1', '.rodata.str1.1'],
    ['internal-maps.o', '.data.custom', '.data.custom'],
    ['a.o', '.data.a_very_long_section_name', '.data.a_very_lo'],
  ];
  for (const [path, section, want] of cases)
    assert.equal(internalMapKernelName(path, section), want, `${path} ${section}`);
  const o = parse('globals');
  assert.deepEqual(
    o.maps.map((m) => m.kernelName),
    ['globals.bss', 'globals.data', 'globals.rodata', '.data.custom'],
  );
  // No file, no object name: the engines use the map's own name.
  const anonymous = parseObject(readFileSync(fixture('globals.o')));
  assert.ok(anonymous.maps.every((m) => m.kernelName === undefined));
});

test('legacy.o: iproute2 bpf_elf_map maps, pinning, tail-call sections and map of maps', () => {
  const o = parseObject(readFileSync(fixture('legacy.o')), {
    path: 'legacy.o',
    defaultProgramType: ProgType.SCHED_CLS,
  });
  assert.deepEqual(
    o.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.pinning, m.legacyId]),
    [
      ['map_stats', MapType.ARRAY, 4, 16, 256, 0, 'global', 0],
      ['map_sessions', MapType.HASH, 8, 4, 1024, 1, 'object', 0],
      ['jmp_tc', MapType.PROG_ARRAY, 4, 4, 2, 0, 'none', 1],
      ['map_inner', MapType.ARRAY, 4, 4, 1, 0, 'none', 2],
      ['map_outer', MapType.ARRAY_OF_MAPS, 4, 4, 1, 0, 'none', 0],
    ],
  );
  assert.deepEqual(
    map(o, 'jmp_tc').contents.map((c) => [u32(c.key), c.value]),
    [
      [0, { program: 'tail_zero' }],
      [1, { program: 'tail_one' }],
    ],
  );
  assert.deepEqual(
    map(o, 'map_outer').contents.map((c) => [u32(c.key), c.value]),
    [[0, { map: 'map_inner' }]],
  );
  assert.equal(map(o, 'map_outer').innerMap?.type, MapType.ARRAY);
  assert.deepEqual(
    o.programs.map((p) => [p.name, p.section, p.type]),
    [
      ['tail_zero', '1/0', ProgType.SCHED_CLS],
      ['tail_one', '1/1', ProgType.SCHED_CLS],
      ['cls_main', 'cls', ProgType.SCHED_CLS],
    ],
  );
  // Without a default, free-form section names give UNSPEC for the engine to decide.
  assert.equal(parse('legacy').programs[2]!.type, ProgType.UNSPEC);
});

test('legacy-def.o: libbpf struct bpf_map_def maps', () => {
  const o = parse('legacy-def');
  assert.deepEqual(
    o.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.pinning]),
    [
      ['counters', MapType.ARRAY, 4, 8, 8, 0, 'none'],
      ['lookup', MapType.HASH, 4, 4, 16, 1, 'none'],
    ],
  );
  assert.deepEqual(
    o.programs.map((p) => [p.name, p.section, p.type]),
    [['legacy_prog', 'socket/legacy', ProgType.SOCKET_FILTER]],
  );
});

test('btf-kinds.o: section names imply attach types; BTF key/value ids point at the declared types; pinning', () => {
  const o = parse('btf-kinds');
  assert.deepEqual(
    o.programs.map((p) => [p.name, p.type, p.attachType]),
    [
      ['tc_prog', ProgType.SCHED_CLS, undefined],
      ['cg_egress_prog', ProgType.CGROUP_SKB, 1],
    ],
  );
  const zoo = map(o, 'bpfkit_zoo');
  assert.equal(zoo.pinning, 'global');
  const btf = parseBtf(o.btf!);
  assert.equal(btf.types[zoo.btfKeyTypeId]!.name, 'color_t');
  assert.equal(btf.types[zoo.btfValueTypeId]!.name, 'zoo');
  assert.equal(zoo.valueSize, btf.sizeOf(zoo.btfValueTypeId));
  assert.equal(zoo.keySize, 4);
});

test('sectionType follows libbpf names, specific before prefix', () => {
  const rows: [string, number | undefined, number | undefined][] = [
    ['socket', ProgType.SOCKET_FILTER, undefined],
    ['socket/anything', ProgType.SOCKET_FILTER, undefined],
    ['tc', ProgType.SCHED_CLS, undefined],
    ['tc/ingress', ProgType.SCHED_CLS, 46],
    ['tcx/egress', ProgType.SCHED_CLS, 47],
    ['classifier/x', ProgType.SCHED_CLS, undefined],
    ['action', ProgType.SCHED_ACT, undefined],
    ['xdp', ProgType.XDP, 37],
    ['xdp.frags', ProgType.XDP, 37],
    ['xdp/devmap', ProgType.XDP, 33],
    ['kprobe/do_sys_open', ProgType.KPROBE, undefined],
    ['tracepoint/net/netif_rx', ProgType.TRACEPOINT, undefined],
    ['cgroup_skb/ingress', ProgType.CGROUP_SKB, 0],
    ['sk_skb/stream_verdict', ProgType.SK_SKB, 5],
    ['flow_dissector', ProgType.FLOW_DISSECTOR, 17],
    ['lwt_xmit', ProgType.LWT_XMIT, undefined],
    ['cls', undefined, undefined],
    ['socketx', undefined, undefined],
  ];
  for (const [name, type, attach] of rows) {
    const st = sectionType(name);
    assert.deepEqual([st?.type, st?.attachType], [type, attach], name);
  }
});
