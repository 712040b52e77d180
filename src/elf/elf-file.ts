/**
 * A low-level ELF64 reader for eBPF objects (EM_BPF), in either byte order: the file header, the section
 * headers with their names, the symbol table and the relocation sections. It knows nothing about programs
 * or maps (src/elf/object.ts builds those); the disassembler uses it directly.
 *
 * Every read goes through a ByteReader (bytes.ts), which checks each offset and size before use, so a
 * malformed or truncated object ends in an InputError naming the file, the place (`file@0xOFFSET`) and
 * the section — never a RangeError. Readers over one section (`reader(section)`) are how the rest of
 * src/elf reads section contents.
 * Relocation sections are parsed lazily (relocationsFor), so a broken debug relocation does not stop a
 * disassembly that never looks at it.
 */
import { InputError } from '../util/errors.js';
import { ByteReader, fileOffsets, type Endian } from '../util/byte-reader.js';

// Section types (sh_type).
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_SYMTAB_SHNDX = 18;
export const SHT_LLVM_ADDRSIG = 0x6fff4c03;

// Section flags (sh_flags).
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;

// Symbol types (low nibble of st_info) and bindings (high nibble).
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
/** st_other visibility: internal (like hidden, a global libbpf treats as static). */
export const STV_INTERNAL = 1;
/** st_other visibility: hidden (a global libbpf treats as static). */
export const STV_HIDDEN = 2;

// Special section indices (st_shndx).
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

export const EM_BPF = 247;

// BPF relocation types (r_info low 32 bits), as LLVM emits them.
export const R_BPF_NONE = 0;
export const R_BPF_64_64 = 1;
export const R_BPF_64_ABS64 = 2;
export const R_BPF_64_ABS32 = 3;
export const R_BPF_64_NODYLD32 = 4;
export const R_BPF_64_32 = 10;

export type { Endian } from '../util/byte-reader.js';

/** One section header of an ELF file, with its bytes. */
export interface ElfSection {
  /** Position in the section header table; sections[i].index === i (index 0 is the null section). */
  index: number;
  name: string;
  type: number;
  flags: number;
  offset: number;
  /** sh_size. For SHT_NOBITS (.bss) this is the size in memory; `data` is then empty. */
  size: number;
  /** The section's bytes (a view into the input, not a copy). Empty for SHT_NOBITS and SHT_NULL. */
  data: Uint8Array;
  link: number;
  info: number;
  entsize: number;
  addralign: number;
}

/** One entry of the symbol table. */
export interface ElfSymbol {
  /** Position in the symbol table (relocations name symbols by this index). */
  index: number;
  /** The symbol's name; for STT_SECTION symbols (which have none) the name of their section. */
  name: string;
  value: number;
  size: number;
  /** STT_* */
  type: number;
  /** STB_* */
  bind: number;
  /** st_other & 3: STV_DEFAULT (0), STV_INTERNAL, STV_HIDDEN (2), STV_PROTECTED */
  visibility: number;
  /** Section index the symbol is defined in (resolved through SHT_SYMTAB_SHNDX), or an SHN_* value. */
  section: number;
}

/** One REL or RELA entry, with its symbol resolved. */
export interface ElfRelocation {
  /** Byte offset in the target section. */
  offset: number;
  /** R_BPF_* */
  type: number;
  /** Index into ElfFile.symbols. */
  symbolIndex: number;
  symbol: ElfSymbol;
  /** Explicit addend (RELA); 0 for REL, whose addend lives in the relocated bytes. */
  addend: number;
  /** The relocation section it came from, e.g. ".rel.text". */
  section: string;
}

/** A parsed ELF64 container: sections, symbols and relocations, every offset checked. */
export interface ElfFile {
  source: string;
  endian: Endian;
  machine: number;
  /** e_type: 1 = relocatable (what clang -c makes). */
  fileType: number;
  sections: ElfSection[];
  symbols: ElfSymbol[];
  /** The first section called `name`, if any. */
  sectionByName(name: string): ElfSection | undefined;
  /** Relocations that apply to section `sectionIndex`, sorted by offset (parsed on first use, then cached). */
  relocationsFor(sectionIndex: number): ElfRelocation[];
  /** Relocation sections (REL and RELA) that target section `sectionIndex`. */
  relocationSectionsFor(sectionIndex: number): ElfSection[];
  /** NUL-terminated string at `offset` of string table section `tableIndex`. */
  stringAt(tableIndex: number, offset: number): string;
  /**
   * A checked reader over a section's bytes (`data`: empty for SHT_NOBITS), offsets relative to the
   * section, messages naming the file offset.
   * @internal the loader's own parsing, not public API
   */
  reader(section: ElfSection): ByteReader;
}

/** Options of `readElf`. */
export interface ReadElfOptions {
  /** Names the input in errors (usually the file path). */
  source?: string;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Parse the ELF container. Throws InputError on anything malformed. */
export function readElf(input: Uint8Array, opts: ReadElfOptions = {}): ElfFile {
  // A plain Uint8Array view (not a Buffer), so section data slices are plain too.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const source = opts.source ?? '<object>';
  const place = fileOffsets(source);
  const fail = (message: string, offset?: number): never => {
    throw new InputError(message, place(offset));
  };

  if (bytes.length < 16 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    fail('not an ELF file (bad magic; expected \\x7fELF)', 0);
  }
  if (bytes[4] !== 2) fail(`not ELF64 (EI_CLASS ${bytes[4]}; eBPF objects are 64-bit)`, 4);
  if (bytes[5] !== 1 && bytes[5] !== 2) fail(`unknown byte order (EI_DATA ${bytes[5]})`, 5);
  const little = bytes[5] === 1;
  const endian: Endian = little ? 'little' : 'big';
  if (bytes.length < 64) fail(`file is ${bytes.length} bytes, shorter than the 64-byte ELF64 header`, 0);

  const file = new ByteReader(bytes, endian, place);
  const u16 = (at: number, what: string) => file.u16(at, what);
  const u32 = (at: number, what: string) => file.u32(at, what);
  const u64 = (at: number, what: string) => file.u64(at, what);

  const fileType = u16(16, 'e_type');
  const machine = u16(18, 'e_machine');
  if (machine !== EM_BPF) fail(`not an eBPF object (e_machine ${machine}, expected EM_BPF ${EM_BPF})`, 18);
  const shoff = u64(40, 'e_shoff');
  const shentsize = u16(58, 'e_shentsize');
  let shnum = u16(60, 'e_shnum');
  let shstrndx = u16(62, 'e_shstrndx');
  if (shoff === 0) fail('object has no section header table (e_shoff is 0)', 40);
  if (shentsize !== 64) fail(`section header entry size is ${shentsize}, expected 64`, 58);
  if (shoff > bytes.length - 64)
    fail(`section header table at ${hex(shoff)} lies beyond the end of the file (${bytes.length} bytes)`, 40);
  // Extended numbering: with 0xff00+ sections the real count and string-table index live in section 0.
  if (shnum === 0) shnum = u64(shoff + 32, 'section count (sh_size of section 0)');
  if (shstrndx === SHN_XINDEX) shstrndx = u32(shoff + 40, 'section name table index (sh_link of section 0)');
  if (shnum > (bytes.length - shoff) / 64) {
    fail(
      `section header table (${shnum} entries at ${hex(shoff)}) runs past the end of the file (${bytes.length} bytes)`,
      60,
    );
  }

  // Pass 1: raw headers, every data range checked against the file.
  const sections: ElfSection[] = [];
  const nameOffsets: number[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * 64;
    const type = u32(at + 4, `section ${i} sh_type`);
    const flags = u64(at + 8, `section ${i} sh_flags`);
    const offset = u64(at + 24, `section ${i} sh_offset`);
    const size = u64(at + 32, `section ${i} sh_size`);
    let data: Uint8Array = new Uint8Array(0);
    if (type !== SHT_NOBITS && type !== SHT_NULL && size > 0) {
      if (!file.has(offset, size)) {
        fail(
          `section ${i}: data at ${hex(offset)}+${hex(size)} lies beyond the end of the file (${bytes.length} bytes)`,
          at + 24,
        );
      }
      data = file.slice(offset, size, `section ${i} data`);
    }
    nameOffsets.push(u32(at, `section ${i} sh_name`));
    sections.push({
      index: i,
      name: '',
      type,
      flags,
      offset,
      size,
      data,
      link: u32(at + 40, `section ${i} sh_link`),
      info: u32(at + 44, `section ${i} sh_info`),
      addralign: u64(at + 48, `section ${i} sh_addralign`),
      entsize: u64(at + 56, `section ${i} sh_entsize`),
    });
  }

  const readers = new Map<ElfSection, ByteReader>();
  const reader = (section: ElfSection): ByteReader => {
    let r = readers.get(section);
    if (!r) {
      r = new ByteReader(
        section.data,
        endian,
        fileOffsets(source, section.offset),
        `section ${section.index}${section.name ? ` '${section.name}'` : ''}`,
      );
      readers.set(section, r);
    }
    return r;
  };

  const stringAt = (tableIndex: number, offset: number): string => {
    const table = sections[tableIndex];
    if (!table || table.type !== SHT_STRTAB) {
      fail(`string table index ${tableIndex} does not name a string table section`);
    }
    const data = table!.data;
    if (offset >= data.length) {
      if (offset === 0 && data.length === 0) return '';
      fail(
        `string offset ${hex(offset)} is beyond string table '${table!.name}' (${data.length} bytes)`,
        table!.offset,
      );
    }
    return reader(table!).cstring(offset, `string at ${hex(offset)} in '${table!.name}'`);
  };

  // Pass 2: section names.
  if (shnum > 0) {
    if (shstrndx >= shnum) fail(`section name string table index ${shstrndx} is out of range (${shnum} sections)`, 62);
    for (const s of sections) {
      if (s.index === 0 && nameOffsets[0] === 0) continue;
      try {
        s.name = stringAt(shstrndx, nameOffsets[s.index]!);
      } catch (err) {
        if (err instanceof InputError) fail(`section ${s.index}: bad name: ${err.message}`, shoff + s.index * 64);
        throw err;
      }
    }
  }
  const sectionName = (i: number) => `section ${i} '${sections[i]?.name ?? '?'}'`;

  // Pass 3: the symbol table (objects from clang -c have exactly one).
  const symbols: ElfSymbol[] = [];
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  if (symtab) {
    if (symtab.entsize !== 24)
      fail(`${sectionName(symtab.index)}: symbol entry size ${symtab.entsize}, expected 24`, symtab.offset);
    if (symtab.size % 24 !== 0)
      fail(`${sectionName(symtab.index)}: size ${symtab.size} is not a multiple of 24`, symtab.offset);
    if (symtab.link >= shnum || sections[symtab.link]!.type !== SHT_STRTAB) {
      fail(`${sectionName(symtab.index)}: sh_link ${symtab.link} does not name a string table`, symtab.offset);
    }
    const xindex = sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === symtab.index);
    const sym = reader(symtab);
    const count = symtab.data.length / 24;
    if (count !== symtab.size / 24)
      fail(`${sectionName(symtab.index)}: the symbol table has no data in the file`, symtab.offset);
    for (let i = 0; i < count; i++) {
      const at = i * 24;
      const fileAt = symtab.offset + at;
      const info = sym.u8(at + 4, `symbol ${i} st_info`);
      let section = sym.u16(at + 6, `symbol ${i} st_shndx`);
      if (section === SHN_XINDEX && xindex) {
        const x = reader(xindex);
        if (!x.has(i * 4, 4)) fail(`symbol ${i}: SHT_SYMTAB_SHNDX entry is missing`, xindex.offset);
        section = x.u32(i * 4, `symbol ${i} extended section index`);
      }
      if (section !== SHN_UNDEF && section < SHN_LORESERVE && section >= shnum) {
        fail(`symbol ${i}: section index ${section} is out of range (${shnum} sections)`, fileAt + 6);
      }
      let name: string;
      try {
        name = stringAt(symtab.link, sym.u32(at, `symbol ${i} st_name`));
      } catch (err) {
        if (err instanceof InputError) fail(`symbol ${i}: bad name: ${err.message}`, fileAt);
        throw err;
      }
      // Section symbols have no name of their own; give them their section's, as readelf shows them.
      if (name! === '' && (info & 0xf) === STT_SECTION && section < shnum) name = sections[section]!.name;
      symbols.push({
        index: i,
        name: name!,
        value: sym.u64(at + 8, `symbol ${i} st_value`),
        size: sym.u64(at + 16, `symbol ${i} st_size`),
        type: info & 0xf,
        bind: info >> 4,
        visibility: sym.u8(at + 5, `symbol ${i} st_other`) & 3,
        section,
      });
    }
  }

  const relocCache = new Map<number, ElfRelocation[]>();
  const relocationSectionsFor = (sectionIndex: number): ElfSection[] =>
    sections.filter(
      (s) => (s.type === SHT_REL || s.type === SHT_RELA) && s.info === sectionIndex && sectionIndex !== 0,
    );

  const parseRelocations = (rs: ElfSection, target: ElfSection, out: ElfRelocation[]) => {
    const rela = rs.type === SHT_RELA;
    const entsize = rela ? 24 : 16;
    if (rs.size % entsize !== 0) {
      fail(`${sectionName(rs.index)}: size ${rs.size} is not a multiple of the ${entsize}-byte entry`, rs.offset);
    }
    if (symtab && rs.link !== symtab.index) {
      fail(`${sectionName(rs.index)}: sh_link ${rs.link} is not the symbol table (section ${symtab.index})`, rs.offset);
    }
    const rel = reader(rs);
    if (rel.length !== rs.size)
      fail(`${sectionName(rs.index)}: the relocation section has no data in the file`, rs.offset);
    for (let entry = 0; entry < rel.length; entry += entsize) {
      const at = rs.offset + entry;
      const offset = rel.u64(entry, 'r_offset');
      const info1 = rel.u32(entry + 8, 'r_info');
      const info2 = rel.u32(entry + 12, 'r_info');
      // r_info = sym << 32 | type, stored as one 64-bit word in the file's byte order.
      const symbolIndex = little ? info2 : info1;
      const type = little ? info1 : info2;
      const addend = rela ? rel.i64(entry + 16, 'r_addend') : 0;
      if (symbolIndex >= symbols.length) {
        fail(
          `${sectionName(rs.index)}: relocation at ${target.name}+${hex(offset)} names symbol ${symbolIndex}, but the symbol table has ${symbols.length}`,
          at + 8,
        );
      }
      if (target.type !== SHT_NOBITS && offset >= target.size) {
        fail(
          `${sectionName(rs.index)}: relocation offset ${hex(offset)} is beyond section '${target.name}' (${target.size} bytes)`,
          at,
        );
      }
      out.push({ offset, type, symbolIndex, symbol: symbols[symbolIndex]!, addend, section: rs.name });
    }
  };

  const relocationsFor = (sectionIndex: number): ElfRelocation[] => {
    let list = relocCache.get(sectionIndex);
    if (list) return list;
    const target = sections[sectionIndex];
    if (!target) throw new InputError(`no section ${sectionIndex} (${shnum} sections)`, source);
    list = [];
    for (const rs of relocationSectionsFor(sectionIndex)) parseRelocations(rs, target, list);
    list.sort((a, b) => a.offset - b.offset);
    relocCache.set(sectionIndex, list);
    return list;
  };

  return {
    source,
    endian,
    machine,
    fileType,
    sections,
    symbols,
    sectionByName: (name) => sections.find((s) => s.name === name),
    relocationsFor,
    relocationSectionsFor,
    stringAt,
    reader,
  };
}

/** Human name of a relocation type, for messages and objdump. */
export function relocationTypeName(type: number): string {
  switch (type) {
    case R_BPF_NONE:
      return 'R_BPF_NONE';
    case R_BPF_64_64:
      return 'R_BPF_64_64';
    case R_BPF_64_ABS64:
      return 'R_BPF_64_ABS64';
    case R_BPF_64_ABS32:
      return 'R_BPF_64_ABS32';
    case R_BPF_64_NODYLD32:
      return 'R_BPF_64_NODYLD32';
    case R_BPF_64_32:
      return 'R_BPF_64_32';
    default:
      return `R_BPF_${type}(unknown)`;
  }
}
