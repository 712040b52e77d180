/**
 * BTF-defined maps: the variables of the `.maps` section, whose *types* carry the definition, libbpf's way:
 *
 *   struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u32); __type(value, __u64);
 *            __uint(max_entries, 128); } counts SEC(".maps");
 *
 * `__uint(name, N)` declares `int (*name)[N]`: the number is the element count of the array the member
 * points to. `__type(name, T)` declares `T *name`: the size (and BTF id) comes from T. `__array(values, X)`
 * declares a zero-length array of pointers to X: a struct (the inner map template of a map of maps) or a
 * function prototype (a prog array); its initial elements are relocations in `.maps`.
 */
import { InputError } from '../util/errors.js';
import { MapType } from '../uapi/types.js';
import type { MapEntrySpec, MapSpec } from './spec.js';
import { BtfKind, btfKindName, type Btf, type BtfType } from '../btf/btf.js';
import {
  R_BPF_64_64,
  R_BPF_64_ABS64,
  SHN_UNDEF,
  STT_FUNC,
  STT_SECTION,
  type ElfFile,
  type ElfSection,
} from './elf-file.js';
import { u32Key } from '../util/byte-reader.js';

/** A BTF map plus where its definition lies in `.maps`, for relocations. */
export interface PlacedMap {
  spec: MapSpec;
  offset: number;
  size: number;
}

const LIBBPF_PIN_NONE = 0;
const LIBBPF_PIN_BY_NAME = 1;

interface ParsedDef {
  spec: MapSpec;
  /** Byte offset of the `values` member inside the definition, when there is one. */
  valuesOffset?: number;
  valuesKind?: 'program' | 'map';
}

export function parseBtfMaps(elf: ElfFile, section: ElfSection, btf: Btf | undefined): PlacedMap[] {
  const where = (what: string) => `${elf.source}: section '${section.name}'${what ? `, ${what}` : ''}`;
  if (!btf) throw new InputError(`BTF-defined maps need the .BTF section (build with clang -g)`, where(''));
  const datasec = btf.byName(section.name, BtfKind.DATASEC);
  if (!datasec) throw new InputError(`.BTF has no DATASEC '${section.name}' describing the maps`, where(''));

  // Variable offsets come from the symbol table, as libbpf does: clang may leave DATASEC offsets unset.
  const symbolOffsets = new Map<string, { value: number; size: number }>();
  const undefinedSymbols = new Set(elf.symbols.filter((s) => s.section === SHN_UNDEF && s.name).map((s) => s.name));
  for (const s of elf.symbols) {
    if (s.section === section.index && s.type !== STT_SECTION && s.name)
      symbolOffsets.set(s.name, { value: s.value, size: s.size });
  }

  const placed: PlacedMap[] = [];
  const defs: ParsedDef[] = [];
  for (const v of datasec.members) {
    const variable = btf.types[v.type]!;
    if (variable.kind !== BtfKind.VAR) {
      throw new InputError(
        `DATASEC member is ${btfKindName(variable.kind)} '${variable.name}', not a variable`,
        where(''),
      );
    }
    const name = variable.name;
    const sym = symbolOffsets.get(name);
    if (!sym && undefinedSymbols.has(name))
      throw new InputError(
        `map '${name}' is an extern (defined in another object, for a static linker such as bpftool gen object to resolve; libbpf refuses it too)`,
        where(`map '${name}'`),
      );
    if (!sym) throw new InputError(`map '${name}' has no symbol in the symbol table`, where(`map '${name}'`));
    const def = parseDefinition(btf, variable.sizeOrType, name, elf.endian, where(`map '${name}'`), false);
    const size = v.size || btf.sizeOf(variable.sizeOrType);
    if (sym.value + size > section.size) {
      throw new InputError(
        `definition at ${sym.value}+${size} runs past the section (${section.size} bytes)`,
        where(`map '${name}'`),
      );
    }
    placed.push({ spec: def.spec, offset: sym.value, size });
    defs.push(def);
  }

  // Initial `values`: each relocation in .maps is one pointer-sized slot of some map's values array.
  const relocs = elf.relocationsFor(section.index);
  for (const r of relocs) {
    const at = `${section.name}+0x${r.offset.toString(16)}`;
    const i = placed.findIndex((p) => r.offset >= p.offset && r.offset < p.offset + p.size);
    const map = placed[i];
    const def = defs[i];
    if (!map || !def)
      throw new InputError(`relocation against '${r.symbol.name}' lies outside every map definition`, where(at));
    if (r.type !== R_BPF_64_ABS64 && r.type !== R_BPF_64_64) {
      throw new InputError(
        `unexpected relocation type ${r.type} against '${r.symbol.name}' in map '${map.spec.name}'`,
        where(at),
      );
    }
    if (def.valuesOffset === undefined || r.offset < map.offset + def.valuesOffset) {
      throw new InputError(
        `relocation against '${r.symbol.name}' is not inside the 'values' of map '${map.spec.name}'`,
        where(at),
      );
    }
    const rel = r.offset - map.offset - def.valuesOffset;
    if (rel % 8 !== 0) throw new InputError(`misaligned 'values' slot in map '${map.spec.name}'`, where(at));
    const index = rel / 8;
    if (index >= map.spec.maxEntries) {
      throw new InputError(
        `'values' slot ${index} of map '${map.spec.name}' is beyond max_entries ${map.spec.maxEntries}`,
        where(at),
      );
    }
    let value: MapEntrySpec['value'];
    if (def.valuesKind === 'program') {
      if (r.symbol.type !== STT_FUNC) {
        throw new InputError(
          `prog array '${map.spec.name}' slot ${index} names '${r.symbol.name}', which is not a function`,
          where(at),
        );
      }
      value = { program: r.symbol.name };
    } else {
      const target = placed.find((p) => r.symbol.section === section.index && p.offset === r.symbol.value);
      if (!target) {
        throw new InputError(
          `map of maps '${map.spec.name}' slot ${index} names '${r.symbol.name}', which is not a map in '${section.name}'`,
          where(at),
        );
      }
      value = { map: target.spec.name };
    }
    map.spec.contents.push({ key: u32Key(index, elf.endian), value });
  }
  return placed;
}

/** Read one map definition struct (the outer map's, or an inner template's). */
function parseDefinition(
  btf: Btf,
  typeId: number,
  name: string,
  endian: 'little' | 'big',
  where: string,
  inner: boolean,
): ParsedDef {
  const def = btf.resolve(typeId);
  if (def.kind !== BtfKind.STRUCT) {
    throw new InputError(`definition is ${btfKindName(def.kind)}, expected a struct`, where);
  }
  const spec: MapSpec = {
    name,
    type: 0,
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    flags: 0,
    pinning: 'none',
    contents: [],
    frozen: false,
    section: '.maps',
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
    btfTypeId: def.id,
  };
  const out: ParsedDef = { spec };
  let valuesMember: { type: number; offset: number } | undefined;
  for (const m of def.members) {
    const memberWhere = `${where}, member '${m.name}'`;
    switch (m.name) {
      case 'type':
        spec.type = uintMember(btf, m.type, memberWhere);
        break;
      case 'max_entries':
        spec.maxEntries = uintMember(btf, m.type, memberWhere);
        break;
      case 'map_flags':
        spec.flags = uintMember(btf, m.type, memberWhere);
        break;
      case 'numa_node':
        spec.numaNode = uintMember(btf, m.type, memberWhere);
        break;
      case 'map_extra':
        spec.mapExtra = ulongMember(btf, m.type, memberWhere);
        break;
      case 'key_size':
        setSize(spec, 'keySize', uintMember(btf, m.type, memberWhere), memberWhere);
        break;
      case 'value_size':
        setSize(spec, 'valueSize', uintMember(btf, m.type, memberWhere), memberWhere);
        break;
      case 'key': {
        const target = pointee(btf, m.type, memberWhere);
        setSize(spec, 'keySize', btf.sizeOf(target), memberWhere);
        spec.btfKeyTypeId = target;
        break;
      }
      case 'value': {
        const target = pointee(btf, m.type, memberWhere);
        setSize(spec, 'valueSize', btf.sizeOf(target), memberWhere);
        spec.btfValueTypeId = target;
        break;
      }
      case 'pinning': {
        const pin = uintMember(btf, m.type, memberWhere);
        if (pin !== LIBBPF_PIN_NONE && pin !== LIBBPF_PIN_BY_NAME) {
          throw new InputError(`unsupported pinning ${pin} (0 = none, 1 = LIBBPF_PIN_BY_NAME)`, memberWhere);
        }
        spec.pinning = pin === LIBBPF_PIN_BY_NAME ? 'global' : 'none';
        break;
      }
      case 'values':
        if (inner) throw new InputError(`an inner map template cannot have 'values'`, memberWhere);
        valuesMember = { type: m.type, offset: m.offset };
        break;
      default:
        throw new InputError(`unknown map definition member '${m.name}'`, memberWhere);
    }
  }

  if (valuesMember) {
    const memberWhere = `${where}, member 'values'`;
    if (valuesMember.offset % 64 !== 0) throw new InputError(`'values' is not 8-byte aligned`, memberWhere);
    out.valuesOffset = valuesMember.offset / 8;
    const arr = btf.resolve(valuesMember.type);
    if (arr.kind !== BtfKind.ARRAY)
      throw new InputError(
        `'values' must be an array of pointers (__array), got ${btfKindName(arr.kind)}`,
        memberWhere,
      );
    const elem = btf.resolve(arr.array!.type);
    if (elem.kind !== BtfKind.PTR)
      throw new InputError(`'values' elements must be pointers, got ${btfKindName(elem.kind)}`, memberWhere);
    const target = btf.resolve(elem.sizeOrType);
    if (spec.type === MapType.PROG_ARRAY) {
      if (target.kind !== BtfKind.FUNC_PROTO)
        throw new InputError(`prog array 'values' must point to functions`, memberWhere);
      out.valuesKind = 'program';
    } else if (spec.type === MapType.ARRAY_OF_MAPS || spec.type === MapType.HASH_OF_MAPS) {
      if (target.kind !== BtfKind.STRUCT)
        throw new InputError(`map-of-maps 'values' must point to an inner map definition struct`, memberWhere);
      spec.innerMap = parseDefinition(btf, target.id, `${name}.inner`, endian, `${where}, inner map`, true).spec;
      out.valuesKind = 'map';
    } else {
      throw new InputError(
        `'values' is only allowed for prog arrays and maps of maps (map type ${spec.type})`,
        memberWhere,
      );
    }
    // The kernel stores an fd/id per slot: 4-byte values (libbpf fills these sizes in itself).
    if (spec.keySize === 0) spec.keySize = 4;
    if (spec.valueSize === 0) spec.valueSize = 4;
  }
  if (
    (spec.type === MapType.PROG_ARRAY || spec.type === MapType.ARRAY_OF_MAPS || spec.type === MapType.HASH_OF_MAPS) &&
    spec.valueSize === 0
  ) {
    spec.valueSize = 4;
  }
  // A map of maps with no __array(values, ...) still parses, as libbpf opens it: its loader sets the inner
  // map at run time (bpf_map__set_inner_map_fd, systemd's restrict-fs does). The engines refuse to create
  // it without one (validateSpec), which is where libbpf fails too (the kernel's EINVAL).
  return out;
}

/** `__uint(name, N)`: `int (*name)[N]` — a pointer to an array whose element count is the value. */
function uintMember(btf: Btf, typeId: number, where: string): number {
  const ptr = btf.resolve(typeId);
  if (ptr.kind !== BtfKind.PTR)
    throw new InputError(`expected __uint (pointer to array), got ${btfKindName(ptr.kind)}`, where);
  const arr: BtfType = btf.resolve(ptr.sizeOrType);
  if (arr.kind !== BtfKind.ARRAY)
    throw new InputError(`expected __uint (pointer to array), got pointer to ${btfKindName(arr.kind)}`, where);
  return arr.array!.nelems;
}

/**
 * `map_extra` as libbpf (1.4+) reads it: an `__uint`, or an `__ulong(name, N)`, which declares an enum whose
 * one enumerator is N (ENUM64 when N needs 64 bits: an arena's address hint is). bpfkit holds numbers up
 * to 2^53 exactly; a larger or negative one is refused rather than rounded.
 */
function ulongMember(btf: Btf, typeId: number, where: string): number {
  const t = btf.resolve(typeId);
  if (t.kind !== BtfKind.ENUM && t.kind !== BtfKind.ENUM64) return uintMember(btf, typeId, where);
  if (t.members.length !== 1)
    throw new InputError(`expected __ulong (an enum of one value), got an enum of ${t.members.length}`, where);
  const v = t.members[0]!.offset;
  if (v < 0 || v > Number.MAX_SAFE_INTEGER)
    throw new InputError(`__ulong value ${v} is negative or above 2^53, which bpfkit does not hold exactly`, where);
  return v;
}

/** `__type(name, T)`: `T *name` — the pointee's id. */
function pointee(btf: Btf, typeId: number, where: string): number {
  const ptr = btf.resolve(typeId);
  if (ptr.kind !== BtfKind.PTR)
    throw new InputError(`expected __type (a pointer), got ${btfKindName(ptr.kind)}`, where);
  return ptr.sizeOrType;
}

function setSize(spec: MapSpec, field: 'keySize' | 'valueSize', size: number, where: string) {
  if (spec[field] !== 0 && spec[field] !== size) {
    throw new InputError(
      `conflicting ${field === 'keySize' ? 'key' : 'value'} sizes ${spec[field]} and ${size}`,
      where,
    );
  }
  spec[field] = size;
}
