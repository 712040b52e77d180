/**
 * Where a function of a binary or shared library starts in the file: what a uprobe needs. The symbol
 * (from .symtab, else .dynsym) gives a virtual address; the section that holds it turns that into a file
 * offset (offset = value - sh_addr + sh_offset). Pure: bytes in, offset out. A stripped binary without
 * the symbol is refused in one line naming the binary.
 */
import { InputError } from '../util/errors.js';

/** A function symbol found in an ELF file. */
export interface FunctionSymbol {
  name: string;
  /** Virtual address (st_value). */
  address: number;
  /** File offset of the first instruction: what the uprobe PMU takes. */
  offset: number;
  size: number;
}

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;

/** Find function `name` in the ELF64 little- or big-endian file `bytes` (named `source` in errors). */
export function findFunction(bytes: Uint8Array, name: string, source: string): FunctionSymbol {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46)
    throw new InputError('not an ELF file', source);
  if (bytes[4] !== 2) throw new InputError('not a 64-bit ELF file', source);
  const le = bytes[5] === 1;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => v.getUint16(at, le);
  const u32 = (at: number) => v.getUint32(at, le);
  const u64 = (at: number) => Number(v.getBigUint64(at, le));
  const shoff = u64(0x28);
  const shentsize = u16(0x3a);
  const shnum = u16(0x3c);
  if (shoff + shnum * shentsize > bytes.length)
    throw new InputError('section headers past the end of the file', source);
  const sections = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return { type: u32(at + 4), addr: u64(at + 16), offset: u64(at + 24), size: u64(at + 32), link: u32(at + 40) };
  });
  let sawTable = false;
  for (const wanted of [SHT_SYMTAB, SHT_DYNSYM]) {
    for (const s of sections) {
      if (s.type !== wanted) continue;
      sawTable = true;
      const strtab = sections[s.link];
      if (!strtab || s.offset + s.size > bytes.length || strtab.offset + strtab.size > bytes.length) continue;
      for (let at = s.offset; at + 24 <= s.offset + s.size; at += 24) {
        const info = bytes[at + 4]!;
        const type = info & 0xf;
        if (type !== STT_FUNC && type !== STT_GNU_IFUNC) continue;
        const shndx = u16(at + 6);
        if (shndx === 0 || shndx >= sections.length) continue;
        if (!nameIs(bytes, strtab.offset + u32(at), name)) continue;
        const value = u64(at + 8);
        const sec = sections[shndx]!;
        return { name, address: value, offset: value - sec.addr + sec.offset, size: u64(at + 16) };
      }
    }
  }
  throw new InputError(
    sawTable
      ? `no function '${name}' in its symbol tables`
      : `no symbol table (stripped binary?): cannot find '${name}'`,
    source,
  );
}

function nameIs(bytes: Uint8Array, at: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) if (bytes[at + i] !== name.charCodeAt(i)) return false;
  // Versioned names in .dynsym have no @ in the string table itself, so the name must end here.
  return bytes[at + name.length] === 0;
}
