/**
 * Make an object's `.BTF` acceptable to the kernel, as libbpf does before BPF_BTF_LOAD: clang leaves each
 * DATASEC's size and its variables' offsets at 0 (the linker would fill them in; BPF objects are never
 * linked), and the kernel refuses a DATASEC whose size is 0 or whose variables overlap. The ELF knows the
 * real values: the section's size and each variable's symbol value. Variables are then sorted by offset,
 * as the kernel requires.
 *
 * Type ids do not change (the edit is in place, on a copy), so ids recorded in MapSpecs stay valid.
 */
import { BtfKind, type Btf } from '../btf/btf.js';
import { ByteReader } from '../util/byte-reader.js';
import { STT_SECTION, type ElfFile } from './elf-file.js';

export function fixupBtf(btf: Btf, elf: ElfFile): Uint8Array {
  const out = btf.raw.slice();
  // Writes are checked like reads: each lands inside the record parseBtf found for the type.
  const w = new ByteReader(
    out,
    btf.endian,
    (at) => (at === undefined ? `${elf.source}: section '.BTF'` : `${elf.source}: section '.BTF'+0x${at.toString(16)}`),
    'the .BTF section',
  );
  for (const t of btf.types) {
    if (t.kind !== BtfKind.DATASEC) continue;
    const section = elf.sectionByName(t.name);
    if (!section) continue; // e.g. .kconfig / .ksyms externs: nothing in the ELF to take sizes from
    const what = `DATASEC '${t.name}' (type ${t.id})`;
    w.setU32(t.recordAt + 8, section.size, `${what} size`);
    const vars = t.members.map((m) => {
      const v = btf.types[m.type]!;
      const sym = elf.symbols.find((s) => s.section === section.index && s.type !== STT_SECTION && s.name === v.name);
      return { type: m.type, offset: sym ? sym.value : m.offset, size: m.size || (sym ? sym.size : 0) };
    });
    vars.sort((a, b) => a.offset - b.offset);
    vars.forEach((v, i) => {
      const vAt = t.recordAt + 12 + i * 12;
      w.setU32(vAt, v.type, `${what} variable ${i} type`);
      w.setU32(vAt + 4, v.offset, `${what} variable ${i} offset`);
      w.setU32(vAt + 8, v.size, `${what} variable ${i} size`);
    });
  }
  return out;
}
