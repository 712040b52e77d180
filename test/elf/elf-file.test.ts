/**
 * The low-level ELF reader against llvm-readelf/llvm-readobj as oracles (sections, symbols, relocations of
 * the committed little- and big-endian fixtures), plus the errors a malformed file must give.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { readElf, relocationTypeName, SHT_REL, SHT_RELA } from '../../src/elf/elf-file.js';
import { InputError } from '../../src/util/errors.js';
import { needs, repoPath } from '../support/env.js';

const fixture = (name: string) => repoPath('test', 'fixtures', 'elf', name);
const FILES = ['basic.o', 'basic-be.o'];

for (const file of FILES) {
  test(`readElf ${file}: sections, symbols and relocations match llvm-readelf`, (t) => {
    if (!needs(t, { tools: ['llvm-readelf', 'llvm-readobj'] })) return;
    const path = fixture(file);
    const elf = readElf(readFileSync(path), { source: path });
    assert.equal(elf.endian, file.includes('-be') ? 'big' : 'little');
    assert.equal(elf.machine, 247);

    const json = JSON.parse(
      execFileSync('llvm-readelf', ['--elf-output-style=JSON', '-S', '-s', path], { encoding: 'utf8' }),
    );
    const o = Object.values(json[0])[0] as any;
    const want = o.Sections.map((x: any) => x.Section);
    assert.equal(elf.sections.length, want.length);
    for (const w of want) {
      const s = elf.sections[w.Index]!;
      assert.deepEqual(
        [s.index, s.name, s.type, s.flags, s.offset, s.size, s.link, s.info, s.entsize, s.addralign],
        [
          w.Index,
          w.Name.Value,
          w.Type.RawValue,
          w.Flags.RawFlags,
          w.Offset,
          w.Size,
          w.Link,
          w.Info,
          w.EntrySize,
          w.AddressAlignment,
        ],
        `section ${w.Index}`,
      );
      if (s.type !== 8 && s.type !== 0) assert.equal(s.data.length, s.size);
    }
    const syms = o.Symbols.map((x: any) => x.Symbol);
    assert.equal(elf.symbols.length, syms.length);
    syms.forEach((w: any, i: number) => {
      const s = elf.symbols[i]!;
      assert.deepEqual(
        [s.name, s.value, s.size, s.bind, s.type, s.section],
        [w.Name.Value, w.Value, w.Size, w.Binding.RawValue, w.Type.RawValue, w.Section.RawValue],
        `symbol ${i}`,
      );
    });

    // llvm-readobj -r: "Section (N) NAME {" then "  0xOFF TYPE SYMBOL" lines.
    const text = execFileSync('llvm-readobj', ['-r', path], { encoding: 'utf8' });
    const expected = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const line of text.split('\n')) {
      const head = /^\s*Section \(\d+\) (\S+) \{/.exec(line);
      if (head) expected.set(head[1]!, (current = []));
      const rel = /^\s+(0x[0-9A-F]+) (\S+) (\S+)/i.exec(line);
      if (rel && current) current.push(`${Number(rel[1]).toString(16)} ${rel[2]} ${rel[3]}`);
    }
    let seen = 0;
    for (const rs of elf.sections.filter((s) => s.type === SHT_REL || s.type === SHT_RELA)) {
      const got = elf
        .relocationsFor(rs.info)
        .filter((r) => r.section === rs.name)
        .map((r) => `${r.offset.toString(16)} ${relocationTypeName(r.type)} ${r.symbol.name}`);
      assert.deepEqual(got.sort(), (expected.get(rs.name) ?? []).slice().sort(), rs.name);
      seen++;
    }
    assert.ok(seen >= 3, 'fixture has relocation sections');
  });
}

function bad(mutate: (b: Uint8Array, dv: DataView) => void): Uint8Array {
  const b = new Uint8Array(readFileSync(fixture('basic.o')));
  mutate(b, new DataView(b.buffer));
  return b;
}

test('readElf errors name the file and offset', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /x\.o@0x0: not an ELF file/],
    ['bad magic', bad((b) => (b[1] = 0)), /bad magic/],
    ['ELF32', bad((b) => (b[4] = 1)), /x\.o@0x4: not ELF64/],
    ['byte order', bad((b) => (b[5] = 3)), /unknown byte order/],
    ['machine', bad((_b, dv) => dv.setUint16(18, 62, true)), /x\.o@0x12: not an eBPF object \(e_machine 62/],
    ['truncated', bad(() => {}).subarray(0, 1000), /section header table .* beyond the end of the file/],
    ['shstrndx', bad((_b, dv) => dv.setUint16(62, 999, true)), /string table index 999 is out of range/],
    [
      'section data beyond file',
      bad((b, dv) => {
        const shoff = Number(dv.getBigUint64(40, true));
        dv.setBigUint64(shoff + 2 * 64 + 24, BigInt(b.length - 4), true); // .text offset near the end
      }),
      /section 2: data at 0x[0-9a-f]+\+0xb0 lies beyond the end of the file/,
    ],
  ];
  for (const [what, bytes, re] of cases) {
    assert.throws(
      () => readElf(bytes, { source: 'x.o' }),
      (e: unknown) => e instanceof InputError && re.test(e.message),
      what,
    );
  }
});

test('readElf: a relocation naming a symbol beyond the table is an InputError naming the section', () => {
  const b = bad((b, dv) => {
    const elf = readElf(b);
    const rs = elf.sectionByName('.relsocket')!;
    dv.setUint32(rs.offset + 16 + 12, 9999, true); // second entry's symbol index (high half of r_info)
  });
  const elf = readElf(b, { source: 'x.o' });
  assert.throws(
    () => elf.relocationsFor(elf.sectionByName('socket')!.index),
    /\.relsocket'.*names symbol 9999, but the symbol table has 29/,
  );
});
