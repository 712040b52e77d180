/**
 * Extern symbols, libbpf's way. C declares them `extern` and puts them in a pseudo-section by attribute:
 *
 *   extern unsigned int LINUX_KERNEL_VERSION __kconfig;          // .kconfig: a value the loader supplies
 *   extern const int bpf_prog_active __ksym;                     // .ksyms, typed: a kernel variable (BTF id)
 *   extern const void jiffies_64 __ksym;                         // .ksyms, typeless: an address (kallsyms)
 *   extern struct task_struct *bpf_task_acquire(...) __ksym;    // .ksyms function: a kfunc (BTF id)
 *
 * The ELF has an undefined symbol for each (STB_WEAK when `__weak`); the object's BTF has an extern VAR or
 * FUNC inside a DATASEC named after the pseudo-section, which is how the kind is known. `.kconfig` values
 * live in one read-only array map, `.kconfig`, laid out as libbpf lays it out (largest alignment first,
 * then smaller sizes, then by name); `lddw`s of them become map-value references. `.ksyms` uses stay on
 * the program as extern references for the loader to resolve against the running kernel.
 */
import { InputError } from '../util/errors.js';
import { MapFlag, MapType } from '../uapi/types.js';
import { BtfKind, type Btf, type BtfType } from '../btf/btf.js';
import type { ExternSpec, MapSpec } from './spec.js';
import { SHN_UNDEF, STB_GLOBAL, STB_WEAK, STT_SECTION, type ElfFile } from './elf-file.js';
import { u32Key } from '../util/byte-reader.js';

/** BTF_VAR_GLOBAL_EXTERN / BTF_FUNC_EXTERN: the linkage clang gives extern declarations. */
const EXTERN_LINKAGE = 2;

/** The name of the internal map holding `.kconfig` values (libbpf's section name). */
export const KCONFIG_MAP = '.kconfig';

/** What the object's externs are, and the `.kconfig` map when it has `.kconfig` externs. */
export interface ObjectExterns {
  externs: ExternSpec[];
  byName: Map<string, ExternSpec>;
  kconfigMap?: MapSpec;
  /**
   * Undefined symbols no extern declaration in `.BTF` describes (an inline-asm `r0 = SYM ll`, a function
   * declared and never defined) or that a static linker is to resolve (an extern in no DATASEC), with
   * why: a reference only a linker or the object's own loader can fill in. libbpf
   * refuses the whole object; bpfkit refuses only the programs that use one (`ProgramSpec.unsupported`),
   * so the others stay usable, as cilium/ebpf leaves such a reference for its caller to resolve.
   */
  unresolved: Map<string, string>;
}

/** The kind of value a `.kconfig` variable's C type holds (libbpf's find_kcfg_type). */
function kconfigType(btf: Btf, id: number): ExternSpec['kconfigType'] {
  const t = btf.resolve(id);
  switch (t.kind) {
    case BtfKind.INT: {
      const enc = t.int!.encoding;
      if (t.int!.bits % 8 !== 0 || t.int!.bits / 8 !== t.sizeOrType) return undefined;
      if (enc & 4) return t.sizeOrType === 1 ? 'bool' : undefined;
      // clang encodes plain `char` as a signed 1-byte int named "char"
      if (enc & 2 || (t.sizeOrType === 1 && t.name === 'char')) return t.sizeOrType === 1 ? 'char' : undefined;
      return [1, 2, 4, 8].includes(t.sizeOrType) ? 'int' : undefined;
    }
    case BtfKind.ENUM:
      return t.sizeOrType === 4 && t.name === 'libbpf_tristate' ? 'tristate' : undefined;
    case BtfKind.ARRAY:
      return t.array!.nelems > 0 && kconfigType(btf, t.array!.type) === 'char' ? 'chars' : undefined;
    default:
      return undefined;
  }
}

/** Alignment of a type as the compiler lays it out (btf__align_of). */
function alignOf(btf: Btf, id: number): number {
  const t = btf.resolve(id);
  switch (t.kind) {
    case BtfKind.INT:
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
    case BtfKind.FLOAT:
      return Math.min(8, Math.max(1, t.sizeOrType));
    case BtfKind.PTR:
      return 8;
    case BtfKind.ARRAY:
      return alignOf(btf, t.array!.type);
    case BtfKind.STRUCT:
    case BtfKind.UNION:
      return t.members.reduce((a, m) => Math.max(a, alignOf(btf, m.type)), 1);
    default:
      return 1;
  }
}

const isSigned = (btf: Btf, id: number): boolean => {
  const t = btf.resolve(id);
  return t.kind === BtfKind.INT && (t.int!.encoding & 1) !== 0;
};

/** Collect the object's externs from its undefined symbols and their BTF. Pure; throws InputError. */
export function collectExterns(elf: ElfFile, btf: Btf | undefined): ObjectExterns {
  const out: ObjectExterns = { externs: [], byName: new Map(), unresolved: new Map() };
  const symbols = elf.symbols.filter(
    (s) =>
      s.section === SHN_UNDEF &&
      s.name !== '' &&
      s.type !== STT_SECTION &&
      (s.bind === STB_GLOBAL || s.bind === STB_WEAK),
  );
  if (symbols.length === 0) return out;
  const where = (name: string) => `${elf.source}: extern '${name}'`;
  if (!btf) {
    for (const sym of symbols)
      out.unresolved.set(sym.name, `the object has no '.BTF' section to declare it in (externs need clang -g)`);
    return out;
  }
  // Which DATASEC holds each extern VAR or FUNC.
  const sectionOf = new Map<number, BtfType>();
  for (const t of btf.types) {
    if (t.kind !== BtfKind.DATASEC) continue;
    for (const m of t.members) sectionOf.set(m.type, t);
  }
  const kconfig: ExternSpec[] = [];
  for (const sym of symbols) {
    const decl = btf
      .idsNamed(sym.name)
      .map((id) => btf.types[id]!)
      .find(
        (t) =>
          (t.kind === BtfKind.VAR && t.extra === EXTERN_LINKAGE) ||
          (t.kind === BtfKind.FUNC && t.vlen === EXTERN_LINKAGE),
      );
    if (!decl) {
      out.unresolved.set(sym.name, `no extern VAR or FUNC of that name in '.BTF'`);
      continue;
    }
    const sec = sectionOf.get(decl.id);
    if (!sec) {
      out.unresolved.set(
        sym.name,
        `an extern in no DATASEC of '.BTF' (.kconfig or .ksyms): one defined in another object, for a static linker (bpftool gen object) to resolve; libbpf refuses the object`,
      );
      continue;
    }
    const weak = sym.bind === STB_WEAK;
    if (sec.name === '.kconfig') {
      if (decl.kind === BtfKind.FUNC) throw new InputError(`a function cannot be a .kconfig extern`, where(sym.name));
      const type = kconfigType(btf, decl.sizeOrType);
      if (!type)
        throw new InputError(
          `.kconfig extern has a type libbpf cannot fill (bool, char, int, enum libbpf_tristate or char array)`,
          where(sym.name),
        );
      const e: ExternSpec = {
        name: sym.name,
        kind: 'kconfig',
        weak,
        btfTypeId: decl.sizeOrType,
        size: btf.sizeOf(decl.sizeOrType),
        kconfigType: type,
        signed: isSigned(btf, decl.sizeOrType),
      };
      kconfig.push(e);
      out.externs.push(e);
    } else if (sec.name === '.ksyms') {
      const typeless = decl.kind === BtfKind.VAR && btf.resolve(decl.sizeOrType).kind === 0;
      out.externs.push({
        name: sym.name,
        kind: decl.kind === BtfKind.FUNC ? 'kfunc' : 'ksym',
        weak,
        btfTypeId: typeless ? 0 : decl.kind === BtfKind.FUNC ? decl.id : decl.sizeOrType,
      });
    } else {
      throw new InputError(`extern in section '${sec.name}' (libbpf knows .kconfig and .ksyms)`, where(sym.name));
    }
  }
  for (const e of out.externs) out.byName.set(e.name, e);
  if (kconfig.length > 0) out.kconfigMap = layoutKconfig(btf, kconfig, elf.endian);
  return out;
}

/** Offsets of the `.kconfig` variables in their map (libbpf's order), and the map itself, zero-filled. */
function layoutKconfig(btf: Btf, vars: ExternSpec[], endian: 'little' | 'big'): MapSpec {
  const align = new Map(vars.map((v) => [v, alignOf(btf, v.btfTypeId)]));
  const ordered = [...vars].sort(
    (a, b) => align.get(b)! - align.get(a)! || a.size! - b.size! || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  let off = 0;
  for (const v of ordered) {
    const a = align.get(v)!;
    v.offset = Math.ceil(off / a) * a;
    off = v.offset + v.size!;
  }
  return {
    name: KCONFIG_MAP,
    type: MapType.ARRAY,
    keySize: 4,
    valueSize: off,
    maxEntries: 1,
    flags: MapFlag.MMAPABLE | MapFlag.RDONLY_PROG,
    pinning: 'none',
    contents: [{ key: u32Key(0, endian), value: new Uint8Array(off) }],
    frozen: true,
    section: '.kconfig',
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
  };
}
