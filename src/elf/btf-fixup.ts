/**
 * Make an object's `.BTF` acceptable to the kernel, as libbpf does before BPF_BTF_LOAD: clang leaves each
 * DATASEC's size and its variables' offsets at 0 (the linker would fill them in; BPF objects are never
 * linked), and the kernel refuses a DATASEC whose size is 0 or whose variables overlap. The ELF knows the
 * real values: the section's size and each variable's symbol value. Variables are then sorted by offset,
 * as the kernel requires.
 *
 * Type ids do not change (the edit is in place, on a copy), so ids recorded in MapSpecs stay valid.
 */
import { BtfKind, type Btf } from './btf.js';
import { STT_SECTION, type ElfFile } from './elf-file.js';

export function fixupBtf(btf: Btf, elf: ElfFile): Uint8Array {
  const out = btf.raw.slice();
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const little = btf.endian === 'little';
  const hdrLen = dv.getUint32(4, little);
  const typeOff = hdrLen + dv.getUint32(8, little);

  // Byte position of every type record, recomputed the way parseBtf walked them.
  let at = typeOff;
  for (let id = 1; id < btf.types.length; id++) {
    const t = btf.types[id]!;
    const recordAt = at;
    at += 12 + extraBytes(t.kind, t.vlen);
    if (t.kind !== BtfKind.DATASEC) continue;
    const section = elf.sectionByName(t.name);
    if (!section) continue; // e.g. .kconfig / .ksyms externs: nothing in the ELF to take sizes from
    dv.setUint32(recordAt + 8, section.size, little);
    const vars = t.members.map((m) => {
      const v = btf.types[m.type]!;
      const sym = elf.symbols.find((s) => s.section === section.index && s.type !== STT_SECTION && s.name === v.name);
      return { type: m.type, offset: sym ? sym.value : m.offset, size: m.size || (sym ? sym.size : 0) };
    });
    vars.sort((a, b) => a.offset - b.offset);
    vars.forEach((v, i) => {
      const vAt = recordAt + 12 + i * 12;
      dv.setUint32(vAt, v.type, little);
      dv.setUint32(vAt + 4, v.offset, little);
      dv.setUint32(vAt + 8, v.size, little);
    });
  }
  return out;
}

/** Size of the data following a type's 12-byte common header (see parseBtf). */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.INT:
    case BtfKind.VAR:
    case BtfKind.DECL_TAG:
      return 4;
    case BtfKind.ARRAY:
      return 12;
    case BtfKind.STRUCT:
    case BtfKind.UNION:
    case BtfKind.DATASEC:
    case BtfKind.ENUM64:
      return 12 * vlen;
    case BtfKind.ENUM:
    case BtfKind.FUNC_PROTO:
      return 8 * vlen;
    default:
      return 0;
  }
}
