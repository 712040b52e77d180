/**
 * Global variables as maps, libbpf's way: each of `.data`, `.rodata`, `.bss` (and their `.data.*`,
 * `.rodata.*`, `.bss.*` relatives, e.g. clang's `.rodata.str1.1` string literals) becomes a single-entry
 * array map (key u32 0) whose value is the whole section. Programs reach a variable with an `lddw` of kind
 * BPF_PSEUDO_MAP_VALUE: the map plus the variable's offset.
 *
 * Flags as libbpf sets them: BPF_F_MMAPABLE (object.ts drops it for sections with no non-static variable,
 * as libbpf does), plus BPF_F_RDONLY_PROG for `.rodata*`, which is also
 * frozen after its contents are written. `.bss` starts as zeros.
 */
import { InputError } from '../util/errors.js';
import { MapFlag, MapType } from '../uapi/types.js';
import type { MapSpec } from './spec.js';
import { SHF_ALLOC, SHF_EXECINSTR, SHT_NOBITS, type ElfFile, type ElfSection } from './elf-file.js';
import { u32Key } from '../util/byte-reader.js';

export function isGlobalDataSection(s: ElfSection): boolean {
  if ((s.flags & SHF_ALLOC) === 0 || (s.flags & SHF_EXECINSTR) !== 0) return false;
  return /^\.(data|rodata|bss)(\..+)?$/.test(s.name);
}

/** Larger than any array value the kernel accepts (KMALLOC_MAX_SIZE is a few MiB): refuse, don't allocate. */
const MAX_GLOBAL_DATA = 1 << 26;

export function globalDataMap(elf: ElfFile, s: ElfSection): MapSpec {
  if (s.size > MAX_GLOBAL_DATA) {
    throw new InputError(
      `global data section of ${s.size} bytes is too large (limit ${MAX_GLOBAL_DATA})`,
      `${elf.source}: section '${s.name}'`,
    );
  }
  if (s.type !== SHT_NOBITS && s.data.length !== s.size) {
    throw new InputError(
      `section has ${s.data.length} bytes in the file, its header says ${s.size}`,
      `${elf.source}: section '${s.name}'`,
    );
  }
  const readOnly = s.name.startsWith('.rodata');
  const value = s.type === SHT_NOBITS ? new Uint8Array(s.size) : s.data.slice();
  return {
    name: s.name,
    type: MapType.ARRAY,
    keySize: 4,
    valueSize: s.size,
    maxEntries: 1,
    flags: MapFlag.MMAPABLE | (readOnly ? MapFlag.RDONLY_PROG : 0),
    pinning: 'none',
    contents: [{ key: u32Key(0, elf.endian), value }],
    frozen: readOnly,
    section: s.name,
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
  };
}

/** BPF_OBJ_NAME_LEN: the kernel's object names hold 15 characters and a NUL. */
const OBJ_NAME_LEN = 16;

/**
 * libbpf's kernel name for an internal map of the object at `path`: the object's name (its file name up
 * to the first '.') cut to fit in front of the section name, which keeps at least 7 characters (so `.bss`
 * gets as short a prefix as `.rodata`); a section name with a second '.' (`.rodata.str1.1`, `.data.custom`)
 * has no prefix. Characters the kernel refuses become '_'.
 */
export function internalMapKernelName(path: string, section: string): string {
  const objectName = (path.split('/').pop() ?? '').slice(0, OBJ_NAME_LEN - 1).split('.')[0]!;
  const suffixLength = Math.min(Math.max(7, section.length), OBJ_NAME_LEN - 1);
  const prefixLength = section.indexOf('.', 1) >= 0 ? 0 : Math.min(OBJ_NAME_LEN - suffixLength - 1, objectName.length);
  const name = (objectName.slice(0, prefixLength) + section.slice(0, suffixLength)).slice(0, OBJ_NAME_LEN - 1);
  return name.replace(/[^A-Za-z0-9_.]/g, '_');
}
