/**
 * parseObject: ELF bytes -> ObjectSpec (programs, maps, license), purely. The steps:
 *   1. read the ELF container (elf-file.ts);
 *   2. maps: BTF-defined `.maps`, legacy `maps` (bpf_elf_map / bpf_map_def), global data sections;
 *   3. programs: split executable sections into functions, relocate, link subprograms (programs.ts);
 *   4. iproute2 tail-call sections ("ID/KEY") fill the prog array with that id;
 *   5. BTF: DATASEC sizes and variable offsets filled in from the ELF (btf-fixup.ts), ready for the kernel.
 * Any inconsistency is an InputError naming the file, section, symbol and offset.
 */
import { InputError } from '../util/errors.js';
import { MapFlag, MapType, ProgType } from '../uapi/types.js';
import type { MapSpec, ObjectSpec } from './spec.js';
import { R_BPF_NONE, readElf, relocationTypeName, type ElfFile } from './elf-file.js';
import { BtfKind, parseBtf, type Btf } from '../btf/btf.js';
import { fixupBtf } from './btf-fixup.js';
import { parseBtfExt, type BtfExt } from '../btf/btf-ext.js';
import { parseBtfMaps, type PlacedMap } from './maps-btf.js';
import { parseLegacyMaps } from './maps-legacy.js';
import { globalDataMap, internalMapKernelName, isGlobalDataSection } from './global-data.js';
import { buildPrograms } from './programs.js';
import { collectExterns } from './externs.js';
import { bindStructOpsPrograms, parseStructOpsMaps } from './struct-ops.js';
import type { SectionType } from './section-types.js';
import { u32Key } from '../util/byte-reader.js';

/** Options of `parseObject`. */
export interface ParseObjectOptions {
  /** File name for messages (and ObjectSpec.path). */
  path?: string;
  /**
   * Program type for sections whose names follow no libbpf convention (iproute2 objects use free-form
   * names like "cls" or "1/0"; tc loads them as classifiers). Default ProgType.UNSPEC.
   */
  defaultProgramType?: number;
  /** As `defaultProgramType`, with the attach type and flags of a section name (`--type tp_btf/NAME`); wins over it. */
  defaultType?: SectionType;
}

/** An ObjectSpec plus facts objdump shows that engines do not need. */
export interface ParsedObject extends ObjectSpec {
  /** Relocations applied to code, counted by type name (R_BPF_64_64, R_BPF_64_32). */
  relocationCounts: Record<string, number>;
}

/**
 * Parse an eBPF ELF object into an ObjectSpec: programs linked with their subprograms, maps, BTF,
 * relocations left as map references. Pure: bytes in, spec out, no file system and no syscalls.
 * Malformed input throws InputError naming the file, section and offset.
 */
export function parseObject(bytes: Uint8Array, options: ParseObjectOptions | string = {}): ParsedObject {
  // A bare string is the path (a convenience some callers use).
  const opts: ParseObjectOptions = typeof options === 'string' ? { path: options } : options;
  const source = opts.path ?? '<object>';
  const elf = readElf(bytes, { source });

  const license = readLicense(elf);
  const kernelVersion = readVersion(elf);

  const btfSection = elf.sectionByName('.BTF');
  const btfExtSection = elf.sectionByName('.BTF.ext');
  let btf: Btf | undefined;
  const mapsSection = elf.sectionByName('.maps');
  if (btfSection) {
    try {
      btf = parseBtf(btfSection.data, `${source}: section '.BTF'`);
    } catch (err) {
      // BTF-defined maps and .BTF.ext (CO-RE) cannot do without it; otherwise BTF is only metadata, and a
      // broken one is dropped.
      if (mapsSection || btfExtSection) throw err;
    }
  }
  let btfExt: BtfExt | undefined;
  if (btfExtSection) {
    if (!btf)
      throw new InputError(
        `'.BTF.ext' needs a '.BTF' section, and the object has none`,
        `${source}: section '.BTF.ext'`,
      );
    btfExt = parseBtfExt(btfExtSection.data, btf, `${source}: section '.BTF.ext'`);
  }

  // Maps, with where each definition lies (for relocations against map symbols).
  const maps: MapSpec[] = [];
  const placedBySection = new Map<number, PlacedMap[]>();
  const dataBySection = new Map<number, MapSpec>();
  const addMap = (m: MapSpec, where: string) => {
    if (maps.some((x) => x.name === m.name)) throw new InputError(`two maps are named '${m.name}'`, where);
    maps.push(m);
  };
  if (mapsSection) {
    const placed = parseBtfMaps(elf, mapsSection, btf);
    placedBySection.set(mapsSection.index, placed);
    for (const p of placed) addMap(p.spec, `${source}: section '.maps'`);
  }
  const legacySection = elf.sectionByName('maps');
  if (legacySection) {
    const placed = parseLegacyMaps(elf, legacySection);
    placedBySection.set(legacySection.index, placed);
    for (const p of placed) addMap(p.spec, `${source}: section 'maps'`);
  }
  for (const s of elf.sections) {
    if (!isGlobalDataSection(s) || s.size === 0) continue;
    const m = globalDataMap(elf, s);
    // As libbpf: the value's BTF type is the section's DATASEC (when the object has one).
    const datasec = btf?.byName(s.name, BtfKind.DATASEC);
    if (datasec) m.btfValueTypeId = datasec.id;
    // libbpf (1.1.2 on, map_is_mmapable) sets BPF_F_MMAPABLE only when a skeleton could expose a variable of
    // the section: its DATASEC has a VAR that is not static. Static-only sections (libxdp's `static volatile
    // const` config), clang's `.rodata.str1.1` and objects without BTF get a map that is not mmapable.
    if (!btf || !datasec || !datasec.members.some((v) => isExposedVar(btf, v.type))) m.flags &= ~MapFlag.MMAPABLE;
    addMap(m, `${source}: section '${s.name}'`);
    dataBySection.set(s.index, m);
  }

  // struct_ops variables: one map each, bound to their programs once the programs exist.
  const structOps = parseStructOpsMaps(elf, btf);
  for (const p of structOps) addMap(p.spec, `${source}: section '${p.spec.section}'`);

  const externs = collectExterns(elf, btf);
  if (externs.kconfigMap) {
    // As for global data, libbpf gives the map its DATASEC (fixupBtf sized it to the map's value).
    const datasec = btf?.byName('.kconfig', BtfKind.DATASEC);
    if (datasec) externs.kconfigMap.btfValueTypeId = datasec.id;
    addMap(externs.kconfigMap, `${source}: section '.kconfig'`);
  }
  // libbpf names internal maps after the object file: do the same when there is one.
  if (opts.path !== undefined)
    for (const m of maps)
      if (m.name.startsWith('.') && m.section === m.name) m.kernelName = internalMapKernelName(opts.path, m.name);

  const { programs, relocationCounts } = buildPrograms(
    elf,
    {
      mapAt: (sectionIndex, offset) => placedBySection.get(sectionIndex)?.find((p) => p.offset === offset)?.spec.name,
      dataMap: (sectionIndex) => {
        const m = dataBySection.get(sectionIndex);
        return m ? { name: m.name, size: m.valueSize } : undefined;
      },
      extern: (name) => externs.byName.get(name),
      unresolved: (name) => externs.unresolved.get(name),
    },
    {
      license,
      kernelVersion,
      defaultProgramType: opts.defaultProgramType ?? ProgType.UNSPEC,
      ...(opts.defaultType ? { defaultType: opts.defaultType } : {}),
      ...(btfExt ? { btfExt } : {}),
      ...(btf ? { exceptionCallbacks: exceptionCallbacks(btf) } : {}),
    },
  );

  bindStructOpsPrograms(elf, structOps, programs);

  // A relocation in a global data section is a pointer stored in the data (`int *p = &x;`, a table of
  // strings). No loader can fill it in — the kernel places map values where it likes — and libbpf skips
  // such a relocation, leaving the pointer 0. bpfkit ran those programs with the 0 too; now the object
  // opens and the programs that use the section are refused, naming the pointer.
  for (const [index, m] of dataBySection) {
    const r = elf.relocationsFor(index).find((x) => x.type !== R_BPF_NONE);
    if (!r) continue;
    for (const p of programs) {
      if (p.unsupported || !p.mapRefs.some((ref) => ref.map === m.name)) continue;
      p.unsupported = `function '${p.name}' uses '${m.name}', whose bytes at +0x${r.offset.toString(16)} are a pointer to '${r.symbol.name}' (relocation ${relocationTypeName(r.type)}) that no loader can fill in (libbpf skips it, leaving 0)`;
    }
  }
  checkMapValues(maps, new Set(programs.map((p) => p.name)), source);
  fillTailCallSections(elf, maps, programs);

  const spec: ParsedObject = { endian: elf.endian, license, kernelVersion, programs, maps, relocationCounts };
  if (opts.path !== undefined) spec.path = opts.path;
  if (btfSection) spec.btf = btf ? fixupBtf(btf, elf, externs.externs) : btfSection.data.slice();
  if (externs.externs.length > 0) spec.externs = externs.externs;
  if (btfExtSection) spec.btfExt = btfExtSection.data.slice();
  return spec;
}

/** The `exception_callback:<name>` decl tags on functions (component -1), by the function they name it for. */
function exceptionCallbacks(btf: Btf): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const prefix = 'exception_callback:';
  for (const t of btf.types) {
    if (t.kind !== BtfKind.DECL_TAG || !t.name.startsWith(prefix) || (t.extra ?? 0) >>> 0 !== 0xffffffff) continue;
    const target = btf.types[t.sizeOrType];
    if (target?.kind !== BtfKind.FUNC) continue;
    out.set(target.name, [...(out.get(target.name) ?? []), t.name.slice(prefix.length)]);
  }
  return out;
}

/** BTF_VAR_STATIC: a `static` variable, which no skeleton exposes. */
const BTF_VAR_STATIC = 0;

/** A DATASEC entry that is a VAR a skeleton would expose (not static), as libbpf's map_is_mmapable counts them. */
function isExposedVar(btf: Btf, id: number): boolean {
  const t = btf.types[id];
  return t !== undefined && t.kind === BtfKind.VAR && t.extra !== BTF_VAR_STATIC;
}

function readLicense(elf: ElfFile): string {
  const s = elf.sectionByName('license');
  if (!s) return '';
  const end = s.data.indexOf(0);
  return new TextDecoder('utf-8').decode(end < 0 ? s.data : s.data.subarray(0, end));
}

function readVersion(elf: ElfFile): number {
  const s = elf.sectionByName('version');
  if (!s) return 0;
  const r = elf.reader(s);
  if (r.length !== 4) r.fail(`section 'version' must be a 4-byte u32, it has ${r.length} bytes`, 0);
  return r.u32(0, 'kernel version');
}

/** Prog arrays may only name programs of this object, maps of maps only its maps. */
function checkMapValues(maps: MapSpec[], programNames: Set<string>, source: string) {
  const mapNames = new Set(maps.map((m) => m.name));
  for (const m of maps) {
    for (const e of m.contents) {
      const v = e.value;
      if (v instanceof Uint8Array) continue;
      if ('program' in v && !programNames.has(v.program)) {
        throw new InputError(
          `prog array '${m.name}' names '${v.program}', which is not a program (a global function in a program section)`,
          `${source}: map '${m.name}'`,
        );
      }
      if ('map' in v && !mapNames.has(v.map)) {
        throw new InputError(
          `map of maps '${m.name}' names '${v.map}', which is not a map`,
          `${source}: map '${m.name}'`,
        );
      }
    }
  }
}

/** One number as C's `%i` reads it: optional sign, then 0x hex, 0 octal or decimal. */
const C_INT = String.raw`\s*([+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*))`;
const TAIL_SECTION = new RegExp(`^${C_INT}/${C_INT}`);

/** The value of a C_INT match, wrapped to 32 bits as iproute2's uint32_t receives it. */
function cInt(text: string): number {
  const neg = text.startsWith('-');
  const digits = text.replace(/^[+-]/, '');
  const value = /^0[xX]/.test(digits)
    ? parseInt(digits.slice(2), 16)
    : digits.length > 1 && digits.startsWith('0')
      ? parseInt(digits, 8)
      : parseInt(digits, 10);
  return (neg ? -value : value) >>> 0;
}

/**
 * iproute2's __section_tail(ID, KEY): a program in section "ID/KEY" goes into prog array ID at KEY. The
 * section name is the macro arguments stringified, so IDs are often hex (`0xabccba/0`): tc reads them with
 * sscanf("%i/%i"), and so does this (hex, octal, decimal; anything after KEY ignored).
 */
function fillTailCallSections(elf: ElfFile, maps: MapSpec[], programs: ObjectSpec['programs']) {
  for (const p of programs) {
    const m = TAIL_SECTION.exec(p.section);
    if (!m) continue;
    const id = cInt(m[1]!);
    const key = cInt(m[2]!);
    const array = maps.find((x) => x.legacyId === id && x.type === MapType.PROG_ARRAY);
    if (!array) {
      throw new InputError(
        `tail-call section '${p.section}' names prog array id ${id}, but no bpf_elf_map prog array has that id`,
        `${elf.source}: section '${p.section}'`,
      );
    }
    if (key >= array.maxEntries) {
      throw new InputError(
        `tail-call slot ${key} is beyond max_elem ${array.maxEntries} of '${array.name}'`,
        `${elf.source}: section '${p.section}'`,
      );
    }
    array.contents.push({ key: u32Key(key, elf.endian), value: { program: p.name } });
  }
}
