/**
 * A one-program relocatable ELF object, the shape clang -target bpf gives a program without maps: the
 * program in a section named for its type (libbpf's convention: `xdp`, `tc`, `socket`), a `license`
 * section, a symbol table naming both, and one string table for every name. libbpf (bpftool, ip, tc)
 * and bpfkit's own loader take it as it is.
 */
import { encodeProgram } from '../isa/codec.js';
import type { Instruction } from '../isa/instruction.js';

const EM_BPF = 247;
const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHF_WRITE = 1;
const SHF_ALLOC = 2;
const SHF_EXECINSTR = 4;
const STB_GLOBAL = 1;
const STT_OBJECT = 1;
const STT_FUNC = 2;

/** What goes in the object. */
export interface ElfProgram {
  /** The section (and so the program type libbpf infers): `xdp`, `tc`, `socket`... */
  section: string;
  /** The program's symbol name. */
  name: string;
  insns: readonly Instruction[];
  /** Default "GPL". */
  license?: string;
}

/** The object's bytes (little-endian ELF64, EM_BPF). */
export function elfObject(p: ElfProgram): Uint8Array {
  const code = encodeProgram(p.insns);
  const license = new TextEncoder().encode(`${p.license ?? 'GPL'}\0`);
  const strtab: number[] = [0];
  const str = (s: string): number => {
    const at = strtab.length;
    strtab.push(...new TextEncoder().encode(s), 0);
    return at;
  };
  const nStrtab = str('.strtab');
  const nProg = str(p.section);
  const nLicense = str('license');
  const nSymtab = str('.symtab');
  const nSymLicense = str('_license');
  const nSymProg = str(p.name);
  const symtab = new DataView(new ArrayBuffer(24 * 3));
  const sym = (i: number, name: number, info: number, shndx: number, size: number): void => {
    symtab.setUint32(i * 24, name, true);
    symtab.setUint8(i * 24 + 4, info);
    symtab.setUint16(i * 24 + 6, shndx, true);
    symtab.setBigUint64(i * 24 + 16, BigInt(size), true);
  };
  sym(1, nSymLicense, (STB_GLOBAL << 4) | STT_OBJECT, 3, license.length);
  sym(2, nSymProg, (STB_GLOBAL << 4) | STT_FUNC, 2, code.length);

  // Layout: header, then each section's bytes (8-aligned), then the section headers.
  const blobs = [Uint8Array.from(strtab), code, license, new Uint8Array(symtab.buffer)];
  const offsets: number[] = [];
  let at = 64;
  for (const b of blobs) {
    at = (at + 7) & ~7;
    offsets.push(at);
    at += b.length;
  }
  const shoff = (at + 7) & ~7;
  const total = shoff + 64 * 5;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  v.setUint16(16, 1, true); // ET_REL
  v.setUint16(18, EM_BPF, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(40, BigInt(shoff), true);
  v.setUint16(52, 64, true);
  v.setUint16(58, 64, true);
  v.setUint16(60, 5, true);
  v.setUint16(62, 1, true); // section names in .strtab
  blobs.forEach((b, i) => out.set(b, offsets[i]));
  const shdr = (
    i: number,
    f: {
      name: number;
      type: number;
      flags: number;
      blob: number;
      link?: number;
      info?: number;
      align: number;
      entsize?: number;
    },
  ): void => {
    const o = shoff + 64 * i;
    v.setUint32(o, f.name, true);
    v.setUint32(o + 4, f.type, true);
    v.setBigUint64(o + 8, BigInt(f.flags), true);
    v.setBigUint64(o + 24, BigInt(offsets[f.blob]!), true);
    v.setBigUint64(o + 32, BigInt(blobs[f.blob]!.length), true);
    v.setUint32(o + 40, f.link ?? 0, true);
    v.setUint32(o + 44, f.info ?? 0, true);
    v.setBigUint64(o + 48, BigInt(f.align), true);
    v.setBigUint64(o + 56, BigInt(f.entsize ?? 0), true);
  };
  shdr(1, { name: nStrtab, type: SHT_STRTAB, flags: 0, blob: 0, align: 1 });
  shdr(2, { name: nProg, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, blob: 1, align: 8 });
  shdr(3, { name: nLicense, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, blob: 2, align: 1 });
  shdr(4, { name: nSymtab, type: SHT_SYMTAB, flags: 0, blob: 3, link: 1, info: 1, align: 8, entsize: 24 });
  return out;
}
