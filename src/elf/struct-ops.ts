/**
 * struct_ops maps, as libbpf reads them (init_struct_ops_maps, bpf_object__collect_st_ops_relos): every
 * variable of a `.struct_ops` or `.struct_ops.link` section is one BPF_MAP_TYPE_STRUCT_OPS map named after
 * the variable; its BTF type is the object's struct (`struct tcp_congestion_ops`), its bytes the
 * variable's, and each function-pointer member the section's relocations point at a program binds that
 * member to the program. Matching it against the kernel's struct is the loader's job (src/loader/struct-ops.ts).
 */
import { InputError } from '../util/errors.js';
import { MapFlag, MapType } from '../uapi/types.js';
import { MoreProgTypes, UNBOUND_STRUCT_OPS } from './section-types.js';
import { BtfKind, type Btf } from '../btf/btf.js';
import { STT_FUNC, STT_SECTION, SHN_LORESERVE, type ElfFile } from './elf-file.js';
import type { MapSpec, ProgramSpec, StructOpsMemberSpec } from './spec.js';

/**
 * The section names libbpf 1.x reads struct_ops variables from: `.link` ones register through a link, and
 * a `?` in front (libbpf 1.4) makes maps that are not created unless asked for.
 */
export const STRUCT_OPS_SECTIONS = ['.struct_ops', '.struct_ops.link', '?.struct_ops', '?.struct_ops.link'] as const;

/** A struct_ops map and where its variable lies in its section (for the section's relocations). */
interface PlacedStructOps {
  spec: MapSpec;
  sectionIndex: number;
  offset: number;
  size: number;
}

/** Every struct_ops map of the object, without program bindings yet (see bindStructOpsPrograms). */
export function parseStructOpsMaps(elf: ElfFile, btf: Btf | undefined): PlacedStructOps[] {
  const placed: PlacedStructOps[] = [];
  for (const section of elf.sections) {
    if (!(STRUCT_OPS_SECTIONS as readonly string[]).includes(section.name)) continue;
    const where = `${elf.source}: section '${section.name}'`;
    if (!btf) throw new InputError("struct_ops variables need the object's BTF, and it has none", where);
    const datasec = btf.byName(section.name, BtfKind.DATASEC);
    if (!datasec) throw new InputError(`the object's BTF has no DATASEC '${section.name}'`, where);
    const bytes = section.data;
    for (const v of datasec.members) {
      const variable = btf.types[v.type];
      if (!variable || variable.kind !== BtfKind.VAR)
        throw new InputError(`DATASEC entry ${v.type} is not a variable`, where);
      const struct = btf.resolve(variable.sizeOrType);
      const at = `${where}, variable '${variable.name}'`;
      if (struct.name === '')
        throw new InputError('an anonymous struct_ops type is not supported (libbpf refuses it too)', at);
      if (struct.kind !== BtfKind.STRUCT) throw new InputError(`'${struct.name}' is not a struct`, at);
      // clang leaves DATASEC offsets at 0 in .o files: the variable's symbol says where it lies.
      const sym = elf.symbols.find(
        (s) => s.section === section.index && s.name === variable.name && s.type !== STT_SECTION,
      );
      const offset = sym ? sym.value : v.offset;
      const size = struct.sizeOrType;
      if (offset + size > bytes.length)
        throw new InputError(
          `'${variable.name}' (${size} bytes at ${offset}) lies beyond the section's ${bytes.length} bytes`,
          at,
        );
      const members: StructOpsMemberSpec[] = struct.members.map((m) => {
        const t = btf.resolve(m.type);
        const fn = t.kind === BtfKind.PTR && btf.resolve(t.sizeOrType).kind === BtfKind.FUNC_PROTO;
        const member: StructOpsMemberSpec = {
          name: m.name,
          offset: Math.floor(m.offset / 8),
          size: btf.sizeOf(m.type),
          kind: t.kind,
          functionPointer: fn,
        };
        if (m.size) member.bitfieldBits = m.size;
        return member;
      });
      const link = section.name.endsWith('.struct_ops.link');
      placed.push({
        sectionIndex: section.index,
        offset,
        size,
        spec: {
          name: variable.name,
          type: MapType.STRUCT_OPS,
          keySize: 4,
          // The object's struct size; the kernel engine creates the map with the kernel wrapper's size.
          valueSize: size,
          maxEntries: 1,
          flags: link ? MapFlag.LINK : 0,
          pinning: 'none',
          contents: [],
          frozen: false,
          section: section.name,
          btfKeyTypeId: 0,
          btfValueTypeId: struct.id,
          structOps: {
            typeName: struct.name,
            btfTypeId: struct.id,
            data: bytes.slice(offset, offset + size),
            members,
            link,
            ...(section.name.startsWith('?') ? { autocreate: false as const } : {}),
          },
        },
      });
    }
  }
  return placed;
}

/**
 * Bind function-pointer members to programs through the sections' relocations, then settle which
 * struct_ops programs load: one some map points at loads with it, others keep their refusal.
 */
export function bindStructOpsPrograms(elf: ElfFile, placed: PlacedStructOps[], programs: ProgramSpec[]): void {
  const bound = new Set<string>();
  for (const sectionIndex of new Set(placed.map((p) => p.sectionIndex))) {
    const section = elf.sections[sectionIndex]!;
    for (const rel of elf.relocationsFor(sectionIndex)) {
      const where = `${elf.source}: section '${section.name}'+0x${rel.offset.toString(16)} (symbol '${rel.symbol.name}')`;
      const map = placed.find(
        (p) => p.sectionIndex === sectionIndex && rel.offset >= p.offset && rel.offset < p.offset + p.size,
      );
      if (!map) throw new InputError('the relocation lies in no struct_ops variable', where);
      const ops = map.spec.structOps!;
      const member = ops.members.find((m) => m.offset === rel.offset - map.offset);
      if (!member)
        throw new InputError(`no member of '${ops.typeName}' starts at offset ${rel.offset - map.offset}`, where);
      if (!member.functionPointer)
        throw new InputError(`member '${member.name}' of '${ops.typeName}' is not a function pointer`, where);
      const sym = rel.symbol;
      if (sym.section === 0 || sym.section >= SHN_LORESERVE)
        throw new InputError(`'${sym.name}' is not a function of this object`, where);
      // A section symbol names its first function; a function symbol itself.
      const fn =
        sym.type === STT_FUNC
          ? sym
          : elf.symbols.find((s) => s.type === STT_FUNC && s.section === sym.section && s.value === sym.value);
      const program = fn && programs.find((p) => p.name === fn.name);
      if (!program)
        throw new InputError(
          `member '${member.name}' points at '${sym.name}', which is not a program of the object`,
          where,
        );
      if (program.type !== MoreProgTypes.STRUCT_OPS)
        throw new InputError(
          `member '${member.name}' points at program '${program.name}' in section '${program.section}', not a struct_ops program`,
          where,
        );
      member.program = program.name;
      bound.add(program.name);
    }
  }
  for (const p of programs) {
    if (p.type !== MoreProgTypes.STRUCT_OPS || !bound.has(p.name)) continue;
    // The section rule's refusal is for unbound programs; an instruction's own refusal stays.
    if (p.unsupported === UNBOUND_STRUCT_OPS) delete p.unsupported;
  }
}
