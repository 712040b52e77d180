/**
 * Maps defined as plain structs in the `maps` section, the pre-BTF way. Two layouts exist:
 *
 *  - iproute2's `struct bpf_elf_map` (tc-bpf(8)): type, size_key, size_value, max_elem, flags, id, pinning,
 *    inner_id, inner_idx — nine u32s, 36 bytes;
 *  - libbpf's legacy `struct bpf_map_def`: type, key_size, value_size, max_entries, map_flags — 20 bytes.
 *
 * The layout follows from the size of one definition: the map symbols' st_size when clang recorded it,
 * else the section size divided by the number of map symbols. 20 bytes is a bpf_map_def; 21 to 36 bytes
 * a bpf_elf_map, possibly an older and shorter one (7 u32s before inner_id/inner_idx), whose missing
 * fields are zero — iproute2's fixup, and compatible with libbpf, which took a longer bpf_map_def only when
 * its extra bytes were zero. Longer than 36 bytes: extra bytes must be zero (a field bpfkit does not know
 * is refused, not dropped).
 *
 * iproute2 extras: pinning 1 = PIN_OBJECT_NS, 2 = PIN_GLOBAL_NS. A map of maps names its inner template by
 * `inner_id` (the template's `id`), and tc places that map into it at the slot the template's `inner_idx`
 * gives. Program sections named "ID/KEY" go into the prog array whose id is ID at
 * slot KEY (iproute2's __section_tail) — parseObject applies that once the programs are known.
 */
import { InputError } from '../util/errors.js';
import { MapType } from '../uapi/types.js';
import type { MapSpec } from './spec.js';
import { STT_FILE, STT_FUNC, STT_SECTION, type ElfFile, type ElfSection } from './elf-file.js';
import { u32Key } from '../util/byte-reader.js';
import type { PlacedMap } from './maps-btf.js';

const BPF_ELF_MAP_SIZE = 36;
const BPF_MAP_DEF_SIZE = 20;

export function parseLegacyMaps(elf: ElfFile, section: ElfSection): PlacedMap[] {
  const where = (what: string) => `${elf.source}: section '${section.name}'${what ? `, ${what}` : ''}`;
  if (section.type === 8 /* NOBITS */)
    throw new InputError('map definitions must be initialized (section has no data)', where(''));
  const symbols = elf.symbols
    .filter(
      (s) =>
        s.section === section.index && s.type !== STT_SECTION && s.type !== STT_FILE && s.type !== STT_FUNC && s.name,
    )
    .sort((a, b) => a.value - b.value);
  if (symbols.length === 0) {
    if (section.size === 0) return [];
    throw new InputError('no map symbols in the section', where(''));
  }
  const sizes = new Set(symbols.map((s) => s.size));
  let defSize: number;
  if (sizes.size === 1 && !sizes.has(0)) defSize = symbols[0]!.size;
  else {
    if (section.size % symbols.length !== 0) {
      throw new InputError(
        `cannot tell the definition size: ${section.size} bytes for ${symbols.length} maps`,
        where(''),
      );
    }
    defSize = section.size / symbols.length;
  }
  // Anything past bpf_map_def's five fields is bpf_elf_map's (id, pinning, inner_id, inner_idx): reading
  // a 28-byte definition as a bpf_map_def dropped its pinning without a word.
  const elfMap = defSize > BPF_MAP_DEF_SIZE;
  if (defSize < BPF_MAP_DEF_SIZE) {
    throw new InputError(
      `map definitions of ${defSize} bytes are too small (struct bpf_map_def is ${BPF_MAP_DEF_SIZE}, struct bpf_elf_map ${BPF_ELF_MAP_SIZE})`,
      where(''),
    );
  }
  if (elfMap && defSize < BPF_ELF_MAP_SIZE && defSize % 4 !== 0)
    throw new InputError(
      `map definitions of ${defSize} bytes end inside a field of struct bpf_elf_map (u32s: type, key_size, value_size, max_entries, flags, id, pinning, inner_id, inner_idx)`,
      where(''),
    );

  const data = elf.reader(section);
  const placed: PlacedMap[] = [];
  const legacy = new Map<MapSpec, { id: number; innerId: number; innerIdx: number }>();
  for (const sym of symbols) {
    const at = sym.value;
    const mapWhere = where(`map '${sym.name}' at 0x${at.toString(16)}`);
    if (at + defSize > section.size)
      throw new InputError(`definition (${defSize} bytes) runs past the section (${section.size} bytes)`, mapWhere);
    const fields = [
      'type',
      'key_size',
      'value_size',
      'max_entries',
      'map_flags',
      'id',
      'pinning',
      'inner_id',
      'inner_idx',
    ];
    // A field past the end of a shorter definition is zero (iproute2's fixup).
    const f = (i: number) => ((i + 1) * 4 <= defSize ? data.u32(at + i * 4, `map '${sym.name}' ${fields[i]}`) : 0);
    for (let o = BPF_ELF_MAP_SIZE; o < defSize; o++) {
      if (data.u8(at + o, `map '${sym.name}'`) !== 0)
        throw new InputError(
          `definition is ${defSize} bytes and byte ${o} past struct bpf_elf_map's ${BPF_ELF_MAP_SIZE} is not zero: a field bpfkit does not know`,
          mapWhere,
        );
    }
    const spec: MapSpec = {
      name: sym.name,
      type: f(0),
      keySize: f(1),
      valueSize: f(2),
      maxEntries: f(3),
      flags: f(4),
      pinning: 'none',
      contents: [],
      frozen: false,
      section: section.name,
      btfKeyTypeId: 0,
      btfValueTypeId: 0,
    };
    if (elfMap) {
      const pin = f(6);
      if (pin === 1) spec.pinning = 'object';
      else if (pin === 2) spec.pinning = 'global';
      else if (pin !== 0) {
        throw new InputError(`custom pinning ${pin} (an /etc/iproute2/bpf_pinning entry) is not supported`, mapWhere);
      }
      spec.legacyId = f(5);
      spec.legacyInnerId = f(7);
      spec.legacyInnerIdx = f(8);
      legacy.set(spec, { id: f(5), innerId: f(7), innerIdx: f(8) });
    }
    placed.push({ spec, offset: at, size: defSize });
  }

  // iproute2 maps of maps: `inner_id` names the template by its `id`; like tc, place every (plain) map
  // with that id into the map of maps at the slot its own `inner_idx` gives.
  const isMapOfMaps = (t: number) => t === MapType.ARRAY_OF_MAPS || t === MapType.HASH_OF_MAPS;
  for (const { spec } of placed) {
    if (!isMapOfMaps(spec.type)) continue;
    const l = legacy.get(spec);
    const mapWhere = where(`map '${spec.name}'`);
    // libbpf's struct bpf_map_def has no inner_id, and bpf_elf_map's may be 0: the template is then the
    // loader's to give (cilium/ebpf's MapSpec.InnerMap), as with a BTF map of maps declared without
    // `__array(values, ...)`. The object still parses; a load without one is refused (validate-spec.ts).
    if (!l || l.innerId === 0) continue;
    const members = placed.filter((p) => !isMapOfMaps(p.spec.type) && legacy.get(p.spec)?.id === l.innerId);
    if (members.length === 0)
      throw new InputError(`inner_id ${l.innerId} names no map (no plain map has that id)`, mapWhere);
    const {
      contents: _c,
      innerMap: _i,
      legacyId: _l,
      legacyInnerId: _ii,
      legacyInnerIdx: _ix,
      ...template
    } = members[0]!.spec;
    spec.innerMap = { ...template, name: `${spec.name}.inner`, contents: [], pinning: 'none' };
    for (const m of members) {
      spec.contents.push({ key: u32Key(legacy.get(m.spec)!.innerIdx, elf.endian), value: { map: m.spec.name } });
    }
  }
  return placed;
}
