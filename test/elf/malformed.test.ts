/**
 * Malformed objects: targeted corruptions give InputErrors that name the section, symbol and offset;
 * seeded random mutations of every fixture end in an ObjectSpec or an InputError — nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseObject } from '../../src/elf/object.js';
import { loadCollection } from '../../src/loader/index.js';
import { validateSpec } from '../../src/engine/validate-spec.js';
import { readElf } from '../../src/elf/elf-file.js';
import { parseBtf } from '../../src/btf/btf.js';
import { InputError } from '../../src/util/errors.js';
import { fixture } from './object-oracle.js';
import { needs } from '../support/env.js';

const load = (name: string) => new Uint8Array(readFileSync(fixture(name)));

/** Patch a copy of `name`: `edit` gets the bytes, a little-endian DataView and the parsed ELF. */
function patched(
  name: string,
  edit: (b: Uint8Array, dv: DataView, elf: ReturnType<typeof readElf>) => void,
): Uint8Array {
  const b = load(name);
  edit(b, new DataView(b.buffer), readElf(b));
  return b;
}

function relocEntry(elf: ReturnType<typeof readElf>, relSection: string, index: number): number {
  return elf.sectionByName(relSection)!.offset + index * 16;
}

function expectInputError(bytes: Uint8Array, re: RegExp) {
  assert.throws(
    () => parseObject(bytes, { path: 'bad.o' }),
    (e: unknown) => {
      assert.ok(e instanceof InputError, `InputError, got ${String(e)}`);
      assert.match(e.message, re);
      return true;
    },
  );
}

test('an unknown relocation type names the section, symbol and offset', () => {
  const b = patched('basic.o', (_b, dv, elf) => dv.setUint32(relocEntry(elf, '.relsocket', 0) + 8, 77, true));
  expectInputError(
    b,
    /bad\.o: section 'socket'\+0x8 \(symbol 'seen'\), function 'count_len' pc 1: unknown relocation type 77/,
  );
});

test('an lddw relocated against a debug section is refused, naming section and symbol', () => {
  const b = patched('basic.o', (_b, dv, elf) => {
    const dbg = elf.symbols.find((s) => s.name === '.debug_abbrev')!;
    dv.setUint32(relocEntry(elf, '.relsocket', 0) + 12, dbg.index, true);
  });
  expectInputError(b, /section 'socket'\+0x8 \(symbol '\.debug_abbrev'\).*which holds no map, global data or code/);
});

test('a relocation on an instruction that is not an lddw is refused', () => {
  const b = patched('basic.o', (_b, dv, elf) => dv.setBigUint64(relocEntry(elf, '.relsocket', 0), 0x18n, true));
  expectInputError(
    b,
    /section 'socket'\+0x18 \(symbol 'seen'\).*R_BPF_64_64 relocation on opcode 0x[0-9a-f]+, expected lddw/,
  );
});

test('an undefined symbol that no extern declaration in .BTF describes leaves only the programs using it unloadable, naming it', async () => {
  const b = patched('basic.o', (_b, dv, elf) => {
    const sym = elf.symbols.find((s) => s.name === 'seen')!;
    const symtab = elf.sections.find((s) => s.type === 2)!;
    dv.setUint16(symtab.offset + sym.index * 24 + 6, 0, true);
  });
  // libbpf refuses the whole object; cilium/ebpf leaves the reference for its caller. bpfkit parses the
  // object and refuses only the programs that need the symbol, when they are loaded.
  const spec = parseObject(b, { path: 'bad.o' });
  const reasons = Object.fromEntries(spec.programs.map((p) => [p.name, p.unsupported]));
  assert.match(
    reasons['count_len'] ?? '',
    /^function 'count_len' pc \d+: undefined symbol 'seen' \(no extern VAR or FUNC of that name in '\.BTF'\): a reference bpfkit cannot fill in \(a static linker or the object's own loader must\)$/,
  );
  assert.equal(reasons['count_proto'], undefined);
  assert.equal(reasons['pass_all'], undefined);
  await assert.rejects(
    loadCollection(spec, { engine: 'vm', programs: ['count_len'] }),
    (e: unknown) =>
      e instanceof InputError &&
      /^bad\.o: program 'count_len': not supported: function 'count_len' pc \d+: undefined symbol 'seen'/.test(
        e.message,
      ),
  );
  const c = await loadCollection(spec, { engine: 'vm', programs: ['pass_all'] });
  assert.ok(c.programs.has('pass_all'));
  c.close();
});

test('a prog array value naming a non-program is refused', () => {
  const b = patched('maps.o', (_b, dv, elf) => {
    // Point the first `.values` relocation of `jumps` at a map symbol instead of a function.
    const relMaps = elf.sectionByName('.rel.maps')!;
    const count = relMaps.size / 16;
    const stageOne = elf.symbols.find((s) => s.name === 'stage_one')!;
    const lru = elf.symbols.find((s) => s.name === 'lru')!;
    for (let i = 0; i < count; i++) {
      const at = relMaps.offset + i * 16 + 12;
      if (dv.getUint32(at, true) === stageOne.index) dv.setUint32(at, lru.index, true);
    }
  });
  expectInputError(b, /prog array 'jumps' slot 1 names 'lru', which is not a function/);
});

test('a call into the middle of a function is refused with the function and pc', () => {
  const b = patched('calls.o', (_b, dv, elf) => {
    // cls_twice pc 12: `call 2` relocated against .text (-> twice at slot 3); make it slot 4.
    const tc = elf.sectionByName('tc')!;
    dv.setInt32(tc.offset + 12 * 8 + 4, 3, true);
  });
  expectInputError(
    b,
    /function 'cls_twice', pc 12: call targets slot 4 of section '\.text', which is not the start of a function/,
  );
});

test('a BTF map with an unknown member is refused, naming the map and member', () => {
  const b = patched('basic.o', (b, _dv, elf) => {
    const btf = elf.sectionByName('.BTF')!;
    const text = new TextDecoder('latin1').decode(b.subarray(btf.offset, btf.offset + btf.size));
    const at = text.indexOf('\0max_entries\0');
    b.set(new TextEncoder().encode('max_entriez'), btf.offset + at + 1);
  });
  expectInputError(b, /map 'stats', member 'max_entriez': unknown map definition member/);
});

test('BTF errors name the type id', () => {
  const good = readElf(load('basic.o')).sectionByName('.BTF')!.data.slice();
  const bad = good.slice();
  new DataView(bad.buffer).setUint32(4, 9999, true); // hdr_len
  assert.throws(() => parseBtf(bad, 'x.o: .BTF'), /x\.o: \.BTF\+0x4: BTF header length 9999 is out of range/);
  const kind = good.slice();
  // type 1's info word: kind 31 (unknown)
  const dv = new DataView(kind.buffer);
  const hdr = dv.getUint32(4, true);
  dv.setUint32(hdr + dv.getUint32(8, true) + 4, 31 << 24, true);
  assert.throws(() => parseBtf(kind), /type 1 has unknown BTF kind 31/);
});

test('parseBtf reads ENUM64 and signed enums (hand-built BTF)', () => {
  // Strings: "\0e\0A\0B\0"; types: [1] ENUM64 'e' size 8 vlen 2 kind_flag=1 {A=-2, B=2^40}
  const strings = new TextEncoder().encode('\0e\0A\0B\0');
  const types = new Uint8Array(12 + 2 * 12);
  const t = new DataView(types.buffer);
  t.setUint32(0, 1, true);
  t.setUint32(4, (1 << 31) | (19 << 24) | 2, true);
  t.setUint32(8, 8, true);
  t.setUint32(12, 3, true); // "A"
  t.setInt32(16, -2, true);
  t.setInt32(20, -1, true);
  t.setUint32(24, 5, true); // "B"
  t.setUint32(28, 0, true);
  t.setUint32(32, 0x100, true);
  const raw = new Uint8Array(24 + types.length + strings.length);
  const h = new DataView(raw.buffer);
  h.setUint16(0, 0xeb9f, true);
  raw[2] = 1;
  h.setUint32(4, 24, true);
  h.setUint32(8, 0, true);
  h.setUint32(12, types.length, true);
  h.setUint32(16, types.length, true);
  h.setUint32(20, strings.length, true);
  raw.set(types, 24);
  raw.set(strings, 24 + types.length);
  const btf = parseBtf(raw);
  assert.equal(btf.types[1]!.name, 'e');
  assert.deepEqual(
    btf.types[1]!.members.map((m) => [m.name, m.offset]),
    [
      ['A', -2],
      ['B', 2 ** 40],
    ],
  );
  assert.equal(btf.sizeOf(1), 8);
});

/** xorshift32: deterministic mutations, so a failure reproduces. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const FUZZ = [
  'basic.o',
  'basic-be.o',
  'calls.o',
  'maps.o',
  'maps-be.o',
  'more-maps.o',
  'globals.o',
  'legacy.o',
  'legacy-def.o',
  'btf-kinds.o',
];

test('fuzz: every mutation of every fixture ends in an ObjectSpec or an InputError', (t) => {
  if (!needs(t, { long: true })) return;
  const started = Date.now();
  let specs = 0;
  let errors = 0;
  for (const [fi, name] of FUZZ.entries()) {
    const original = load(name);
    const elf = readElf(original);
    // Bias mutations towards the structures the loader interprets.
    const hot: [number, number][] = [[0, 64]];
    const shoff = Number(new DataView(original.buffer).getBigUint64(40, elf.endian === 'little'));
    hot.push([shoff, elf.sections.length * 64]);
    for (const s of elf.sections) {
      if (
        s.type === 2 ||
        s.type === 9 ||
        s.type === 4 ||
        ['.BTF', '.maps', 'maps', 'license', '.data', '.rodata'].includes(s.name) ||
        (s.flags & 4) !== 0
      ) {
        if (s.size > 0 && s.type !== 8) hot.push([s.offset, s.size]);
      }
    }
    const next = rng(0x5eed + fi * 7919);
    for (let iter = 0; iter < 400; iter++) {
      const b = original.slice();
      const edits = 1 + (next() % 4);
      for (let e = 0; e < edits; e++) {
        const [start, len] = next() % 5 === 0 ? [0, b.length] : hot[next() % hot.length]!;
        const at = start + (next() % Math.max(1, len));
        if (at >= b.length) continue;
        switch (next() % 4) {
          case 0:
            b[at] = next() & 0xff;
            break;
          case 1:
            b[at]! ^= 1 << (next() % 8);
            break;
          case 2: // a plausible small number in a 32-bit field
            new DataView(b.buffer).setUint32(Math.min(at & ~3, b.length - 4), next() % 64, elf.endian === 'little');
            break;
          default:
            b[at] = 0xff;
        }
      }
      const input = next() % 10 === 0 ? b.subarray(0, next() % b.length) : b;
      try {
        parseObject(input, { path: name });
        specs++;
      } catch (err) {
        if (!(err instanceof InputError)) {
          assert.fail(`${name} mutation ${iter}: ${(err as Error).stack ?? String(err)}`);
        }
        errors++;
      }
    }
  }
  assert.ok(specs > 0 && errors > 0, `both outcomes occur (specs ${specs}, errors ${errors})`);
  assert.ok(Date.now() - started < 60_000, 'no mutation makes parsing slow');
});

test('a legacy map of maps with no inner_id parses without a template; using it is refused in one line', () => {
  const b = patched('legacy.o', (_b, dv, elf) => {
    const sym = elf.symbols.find((s) => s.name === 'map_outer')!;
    const maps = elf.sectionByName('maps')!;
    dv.setUint32(maps.offset + sym.value + 28, 0, true); // bpf_elf_map.inner_id
  });
  // struct bpf_map_def (libbpf's legacy layout) has no inner_id at all: the template is the loader's to give.
  const spec = parseObject(b, { path: 'bad.o' });
  const outer = spec.maps.find((m) => m.name === 'map_outer')!;
  assert.equal(outer.innerMap, undefined);
  assert.deepEqual(outer.contents, []);
  assert.throws(
    () => validateSpec(spec),
    (e: unknown) =>
      e instanceof Error && /map 'map_outer' is a map of maps without an inner map template/.test(e.message),
  );
});

test('code symbols without a type (clang before 9) still name and bound the functions', () => {
  const typed = parseObject(load('basic.o'), { path: 'basic.o' });
  const b = patched('basic.o', (_b, dv, elf) => {
    const symtab = elf.sections.find((s) => s.type === 2)!;
    for (const s of elf.symbols.filter((x) => x.type === 2 /* STT_FUNC */)) {
      const info = symtab.offset + s.index * 24 + 4;
      dv.setUint8(info, dv.getUint8(info) & 0xf0); // STT_NOTYPE, binding kept
    }
  });
  const untyped = parseObject(b, { path: 'basic.o' });
  assert.deepEqual(
    untyped.programs.map((p) => [p.name, p.section, p.insns.length]),
    typed.programs.map((p) => [p.name, p.section, p.insns.length]),
  );
});
