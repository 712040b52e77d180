/**
 * Programs from the executable sections of an object: split each section into functions (by their FUNC
 * symbols), apply the section's relocations to each function's instructions (map references, global data,
 * bpf-to-bpf calls, callback addresses), then link each program — a global function outside `.text` —
 * with every subprogram it reaches, fixing call offsets for the new layout. As libbpf does, the entry
 * function comes first and subprograms follow in the order they are first reached.
 *
 * Relocation encodings clang uses (checked against llvm-objdump -dr):
 *  - call (src=1) + R_BPF_64_32 against symbol S: target slot = S.value/8 + imm + 1 in S's section (a
 *    section symbol plus an encoded offset for static functions, the function symbol with imm = -1 for
 *    global ones). A call without relocation is pc-relative inside its own section.
 *  - lddw + R_BPF_64_64 against a map symbol: the map (`fd` reference).
 *  - lddw + R_BPF_64_64 against a global-data section or variable: byte offset S.value + imm (`value`).
 *  - lddw + R_BPF_64_64 against code: a callback address (BPF_PSEUDO_FUNC), byte offset S.value + imm.
 */
import { InputError } from '../util/errors.js';
import { decodeProgram } from '../isa/codec.js';
import type { Instruction } from '../isa/instruction.js';
import {
  BPF_CALL,
  BPF_JMP,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
  OP_LDDW,
} from '../isa/opcodes.js';
import type {
  CoreReloSpec,
  ExternReference,
  ExternSpec,
  FuncInfoSpec,
  LineInfoSpec,
  MapReference,
  ProgramSpec,
} from './spec.js';
import { KCONFIG_MAP } from './externs.js';
import type { BtfExt } from '../btf/btf-ext.js';
import {
  R_BPF_64_32,
  R_BPF_64_64,
  R_BPF_64_ABS32,
  R_BPF_64_ABS64,
  R_BPF_64_NODYLD32,
  R_BPF_NONE,
  SHF_EXECINSTR,
  SHN_UNDEF,
  STB_LOCAL,
  STT_FUNC,
  STT_NOTYPE,
  STV_HIDDEN,
  STT_SECTION,
  relocationTypeName,
  type ElfFile,
  type ElfRelocation,
  type ElfSection,
} from './elf-file.js';
import { sectionType, type SectionType } from './section-types.js';

const OP_CALL = BPF_JMP | BPF_CALL;

/** What the program builder needs to know about maps: which map lies at a place in which section. */
export interface MapResolver {
  /** The map defined at byte `offset` of section `sectionIndex` (`.maps`/`maps`), if any. */
  mapAt(sectionIndex: number, offset: number): string | undefined;
  /** The global-data map backed by section `sectionIndex`, if it is one. */
  dataMap(sectionIndex: number): { name: string; size: number } | undefined;
  /** The extern (`.kconfig`, `.ksyms`, kfunc) an undefined symbol names, if it is one (externs.ts). */
  extern?(name: string): ExternSpec | undefined;
  /** Why an undefined symbol that is no extern cannot be resolved here (externs.ts `unresolved`). */
  unresolved?(name: string): string | undefined;
}

interface CallSite {
  /** Slot index inside the function. */
  pc: number;
  kind: 'call' | 'func';
  /** Target: section index and slot inside that section. */
  section: number;
  slot: number;
}

interface Func {
  name: string;
  section: ElfSection;
  /** First slot in the section, and number of slots. */
  start: number;
  slots: number;
  global: boolean;
  /** STV_HIDDEN: a global that libbpf treats as static. */
  hidden?: boolean;
  insns: Instruction[];
  calls: CallSite[];
  mapRefs: MapReference[];
  externRefs: ExternReference[];
  /** .BTF.ext records of this function, pc relative to the function. */
  funcInfo: FuncInfoSpec[];
  lineInfo: LineInfoSpec[];
  coreRelos: CoreReloSpec[];
  /** Why no engine can load a program that reaches this function (the first such instruction), if any. */
  unsupported?: string;
}

export interface BuildOptions {
  license: string;
  kernelVersion: number;
  defaultProgramType: number;
  /** Type (attach type, flags) for sections with no libbpf name, when the user named one (`--type`). */
  defaultType?: SectionType;
  /** The object's parsed .BTF.ext, whose records follow each function into the programs that use it. */
  btfExt?: BtfExt;
  /** The exception callbacks each function names (`exception_callback:<name>` decl tags in the BTF). */
  exceptionCallbacks?: ReadonlyMap<string, readonly string[]>;
}

export interface ProgramsResult {
  programs: ProgramSpec[];
  /** Relocations applied, by R_BPF_* name (objdump's summary). */
  relocationCounts: Record<string, number>;
}

export function buildPrograms(elf: ElfFile, maps: MapResolver, opts: BuildOptions): ProgramsResult {
  const counts: Record<string, number> = {};
  const funcs: Func[] = [];
  const execSections = elf.sections.filter((s) => (s.flags & SHF_EXECINSTR) !== 0 && s.size > 0);
  for (const section of execSections) funcs.push(...splitFunctions(elf, section, maps, counts));
  if (opts.btfExt) attachBtfExt(elf, opts.btfExt, funcs);

  const funcAt = new Map<string, Func>();
  for (const f of funcs) funcAt.set(`${f.section.index}:${f.start}`, f);
  const targetOf = (from: Func, c: CallSite): Func => {
    const f = funcAt.get(`${c.section}:${c.slot}`);
    if (!f) {
      const sec = elf.sections[c.section]!;
      throw new InputError(
        `${c.kind === 'call' ? 'call' : 'callback address'} targets slot ${c.slot} of section '${sec.name}', which is not the start of a function`,
        `${elf.source}: section '${from.section.name}', function '${from.name}', pc ${c.pc}`,
      );
    }
    return f;
  };

  const programs: ProgramSpec[] = [];
  for (const entry of funcs) {
    if (!entry.global || entry.section.name === '.text') continue;
    // Reach every subprogram, breadth first, entry first.
    const order: Func[] = [entry];
    const placed = new Map<Func, number>([[entry, 0]]);
    let total = entry.slots;
    const place = (t: Func) => {
      if (placed.has(t)) return;
      placed.set(t, total);
      total += t.slots;
      order.push(t);
    };
    const reach = (from: number) => {
      for (let i = from; i < order.length; i++) for (const c of order[i]!.calls) place(targetOf(order[i]!, c));
    };
    reach(0);
    // As libbpf: the exception callback the entry names (a global, not hidden, function of .text) is
    // appended after what the entry calls — no call reaches it — with what it calls in turn; the kernel
    // finds it by func_info. Any other callback (none such, several tags, a static one) is left to the
    // kernel, which refuses the program saying which.
    const exc = opts.exceptionCallbacks?.get(entry.name) ?? [];
    const cb = exc.length === 1 ? funcs.find((f) => f.name === exc[0] && f.section.name === '.text') : undefined;
    if (cb && cb.global && !cb.hidden && !placed.has(cb)) {
      const at = order.length;
      place(cb);
      reach(at);
    }
    const insns: Instruction[] = [];
    const mapRefs: MapReference[] = [];
    const externRefs: ExternReference[] = [];
    const funcInfo: FuncInfoSpec[] = [];
    const lineInfo: LineInfoSpec[] = [];
    const coreRelos: CoreReloSpec[] = [];
    let unsupported: string | undefined;
    for (const f of order) {
      const base = placed.get(f)!;
      unsupported ??= f.unsupported;
      const byPc = new Map<number, Instruction>();
      for (const insn of f.insns) {
        const copy = { ...insn, pc: base + insn.pc };
        byPc.set(insn.pc, copy);
        insns.push(copy);
      }
      for (const c of f.calls) {
        const insn = byPc.get(c.pc)!;
        insn.imm = placed.get(targetOf(f, c))! - (base + c.pc + 1);
        if (c.kind === 'func') insn.imm2 = 0;
      }
      for (const r of f.mapRefs) mapRefs.push({ ...r, pc: base + r.pc });
      for (const r of f.externRefs) externRefs.push({ ...r, pc: base + r.pc });
      for (const r of f.funcInfo) funcInfo.push({ ...r, pc: base + r.pc });
      for (const r of f.lineInfo) lineInfo.push({ ...r, pc: base + r.pc });
      for (const r of f.coreRelos) coreRelos.push({ ...r, pc: base + r.pc });
    }
    const st = sectionType(entry.section.name);
    const spec: ProgramSpec = {
      name: entry.name,
      section: entry.section.name,
      type: st ? st.type : opts.defaultProgramType,
      insns,
      mapRefs,
      license: opts.license,
      kernelVersion: opts.kernelVersion,
    };
    const typed = st ?? opts.defaultType;
    if (typed) spec.type = typed.type;
    if (typed?.attachType !== undefined) spec.attachType = typed.attachType;
    if (typed?.flags) spec.flags = typed.flags;
    if (typed?.attachBtf) spec.attachBtf = typed.attachBtf;
    if (typed?.unsupported) spec.unsupported = typed.unsupported;
    else if (unsupported) spec.unsupported = unsupported;
    if (entry.section.name.startsWith('?')) spec.autoload = false;
    if (externRefs.length > 0) spec.externRefs = externRefs;
    // Functions are laid out in call order, so records are sorted by pc once all are placed (the kernel insists).
    if (funcInfo.length > 0) spec.funcInfo = funcInfo.sort((a, b) => a.pc - b.pc);
    if (lineInfo.length > 0) spec.lineInfo = lineInfo.sort((a, b) => a.pc - b.pc);
    if (coreRelos.length > 0) spec.coreRelos = coreRelos;
    programs.push(spec);
  }
  return { programs, relocationCounts: counts };
}

/** Decode one executable section into its functions and resolve its relocations. */
function splitFunctions(elf: ElfFile, section: ElfSection, maps: MapResolver, counts: Record<string, number>): Func[] {
  const secWhere = `${elf.source}: section '${section.name}'`;
  const code = elf.reader(section);
  // (an executable SHT_NOBITS section claims a size but has no bytes to decode)
  if (code.length !== section.size)
    throw new InputError(
      `code section has ${code.length} bytes in the file, its header says ${section.size}`,
      secWhere,
    );
  if (section.size % 8 !== 0) throw new InputError(`code size ${section.size} is not a multiple of 8`, secWhere);
  const sectionSlots = section.size / 8;
  const inSection = elf.symbols.filter((s) => s.section === section.index);
  let syms = inSection.filter((s) => s.type === STT_FUNC);
  // Clang before 9 gives code symbols no type: in a section with no STT_FUNC symbol, a global (or weak)
  // STT_NOTYPE symbol is a function's entry (branch labels are local), as loaders that take such objects
  // (cilium/ebpf, iproute2) read them.
  if (syms.length === 0) syms = inSection.filter((s) => s.type === STT_NOTYPE && s.bind !== STB_LOCAL);
  syms.sort((a, b) => a.value - b.value);
  const ranges: { name: string; start: number; slots: number; global: boolean; hidden?: boolean }[] = [];
  if (syms.length === 0) {
    // Hand-written objects may have no function symbols: the whole section is one program.
    ranges.push({ name: section.name, start: 0, slots: sectionSlots, global: true });
  }
  syms.forEach((s, i) => {
    const where = `${secWhere}, symbol '${s.name}'`;
    if (s.value % 8 !== 0)
      throw new InputError(`function starts at byte ${s.value}, not on an instruction boundary`, where);
    const next = syms[i + 1];
    const size = s.size > 0 ? s.size : (next ? next.value : section.size) - s.value;
    if (size % 8 !== 0 || size <= 0 || s.value + size > section.size) {
      throw new InputError(`function range ${s.value}+${size} does not fit the section (${section.size} bytes)`, where);
    }
    const prev = ranges[ranges.length - 1];
    if (prev && prev.start + prev.slots > s.value / 8) {
      throw new InputError(`function overlaps '${prev.name}'`, where);
    }
    ranges.push({
      name: s.name,
      start: s.value / 8,
      slots: size / 8,
      global: s.bind !== STB_LOCAL,
      ...(s.visibility === STV_HIDDEN ? { hidden: true } : {}),
    });
  });

  const funcs: Func[] = ranges.map((r) => ({
    ...r,
    section,
    insns: decodeProgram(code.slice(r.start * 8, r.slots * 8, `function '${r.name}'`), {
      endian: elf.endian,
      source: `${elf.source}: section '${section.name}', function '${r.name}'`,
    }),
    calls: [],
    mapRefs: [],
    externRefs: [],
    funcInfo: [],
    lineInfo: [],
    coreRelos: [],
  }));
  // Slot -> (function, instruction), built once: objects may carry thousands of relocations.
  const insnAt: (Instruction | undefined)[] = new Array(sectionSlots);
  const funcAtSlot: (Func | undefined)[] = new Array(sectionSlots);
  for (const f of funcs) {
    for (const insn of f.insns) {
      insnAt[f.start + insn.pc] = insn;
      funcAtSlot[f.start + insn.pc] = f;
    }
  }
  const funcOfSlot = (slot: number) => funcs.find((f) => slot >= f.start && slot < f.start + f.slots);

  const relocated = new Set<Instruction>();
  for (const r of elf.relocationsFor(section.index)) {
    const name = relocationTypeName(r.type);
    if (r.type === R_BPF_NONE || r.type === R_BPF_64_NODYLD32) continue;
    const where = `${secWhere}+0x${r.offset.toString(16)} (symbol '${r.symbol.name}')`;
    if (r.offset % 8 !== 0) throw new InputError(`${name} relocation is not on an instruction boundary`, where);
    const insn = insnAt[r.offset / 8];
    const f = funcAtSlot[r.offset / 8];
    if (!insn || !f) {
      if (!funcOfSlot(r.offset / 8)) throw new InputError(`${name} relocation lies outside every function`, where);
      throw new InputError(`${name} relocation points into the middle of an lddw`, where);
    }
    const pc = insn.pc;
    applyRelocation(elf, f, insn, r, maps, `${where}, function '${f.name}' pc ${pc}`);
    relocated.add(insn);
    counts[name] = (counts[name] ?? 0) + 1;
  }

  // Calls and callback addresses without relocations are pc-relative within the section.
  for (const f of funcs) {
    for (const insn of f.insns) {
      if (relocated.has(insn)) continue;
      if (insn.code === OP_CALL && insn.src === BPF_PSEUDO_CALL) {
        f.calls.push({ pc: insn.pc, kind: 'call', section: section.index, slot: f.start + insn.pc + 1 + insn.imm });
      } else if (insn.code === OP_LDDW && insn.src === BPF_PSEUDO_FUNC) {
        f.calls.push({ pc: insn.pc, kind: 'func', section: section.index, slot: f.start + insn.pc + 1 + insn.imm });
      } else if (insn.code === OP_LDDW && (insn.src === BPF_PSEUDO_MAP_FD || insn.src === BPF_PSEUDO_MAP_VALUE)) {
        // libbpf opens such an object and hands the kernel the instruction as written, its imm taken as a
        // file descriptor of the loading process. bpfkit will not pass a number from a file as an fd (it
        // could be one of its own maps): the object opens, programs reaching this instruction are refused.
        f.unsupported ??= `function '${f.name}' pc ${insn.pc}: lddw names map fd ${insn.imm} (src ${insn.src}) with no relocation, a raw file descriptor libbpf passes to the kernel as is; bpfkit does not`;
      }
    }
  }
  return funcs;
}

function applyRelocation(elf: ElfFile, f: Func, insn: Instruction, r: ElfRelocation, maps: MapResolver, where: string) {
  const sym = r.symbol;
  const name = relocationTypeName(r.type);
  if (sym.section === SHN_UNDEF) {
    const unresolved = maps.unresolved?.(sym.name);
    if (unresolved !== undefined) {
      f.unsupported ??= `function '${f.name}' pc ${insn.pc}: undefined symbol '${sym.name}' (${unresolved}): a reference bpfkit cannot fill in (a static linker or the object's own loader must)`;
      return;
    }
    applyExternRelocation(f, insn, r, maps.extern?.(sym.name), where);
    return;
  }
  const target = elf.sections[sym.section];
  switch (r.type) {
    case R_BPF_64_64: {
      if (insn.code !== OP_LDDW) {
        throw new InputError(`${name} relocation on opcode 0x${insn.code.toString(16)}, expected lddw (0x18)`, where);
      }
      if (!target)
        throw new InputError(`${name} against symbol in section ${sym.section}, which does not exist`, where);
      const addend = insn.imm + r.addend;
      const mapOffset = sym.value + (sym.type === STT_SECTION ? addend : 0);
      const map = maps.mapAt(target.index, mapOffset);
      if (map !== undefined) {
        setLddw(insn, BPF_PSEUDO_MAP_FD, 0);
        f.mapRefs.push({ pc: insn.pc, map, kind: 'fd', offset: 0 });
        return;
      }
      const data = maps.dataMap(target.index);
      if (data) {
        const offset = sym.value + addend;
        if (offset < 0 || offset > data.size) {
          throw new InputError(
            `offset ${offset} is outside global data section '${target.name}' (${data.size} bytes)`,
            where,
          );
        }
        setLddw(insn, BPF_PSEUDO_MAP_VALUE, offset);
        f.mapRefs.push({ pc: insn.pc, map: data.name, kind: 'value', offset });
        return;
      }
      if (target.name.startsWith('.addr_space.')) {
        // An arena global variable (`__arena`, clang's address_space(1)): libbpf (1.4+) makes it an address
        // inside the object's arena map and copies the section into the arena's pages after mmap; where in
        // the arena it goes changed between libbpf versions. bpfkit does neither: refused when loaded.
        f.unsupported ??= `function '${f.name}' uses arena global variable '${sym.name}' (section '${target.name}'), which bpfkit does not place in an arena map`;
        return;
      }
      if ((target.flags & SHF_EXECINSTR) !== 0) {
        const byte = sym.value + addend;
        if (byte % 8 !== 0)
          throw new InputError(`callback address ${byte} in '${target.name}' is not on an instruction boundary`, where);
        insn.src = BPF_PSEUDO_FUNC;
        f.calls.push({ pc: insn.pc, kind: 'func', section: target.index, slot: byte / 8 });
        return;
      }
      throw new InputError(
        `${name} against '${sym.name}' in section '${target.name}', which holds no map, global data or code`,
        where,
      );
    }
    case R_BPF_64_32: {
      if (insn.code !== OP_CALL) {
        throw new InputError(`${name} relocation on opcode 0x${insn.code.toString(16)}, expected a call (0x85)`, where);
      }
      if (insn.src !== BPF_PSEUDO_CALL) {
        throw new InputError(
          `${name} relocation on a call with src ${insn.src} (expected a bpf-to-bpf call, src 1)`,
          where,
        );
      }
      if (!target || (target.flags & SHF_EXECINSTR) === 0) {
        throw new InputError(`call target '${sym.name}' is not in an executable section`, where);
      }
      if (sym.value % 8 !== 0)
        throw new InputError(`call target '${sym.name}' is not on an instruction boundary`, where);
      f.calls.push({ pc: insn.pc, kind: 'call', section: target.index, slot: sym.value / 8 + insn.imm + 1 });
      return;
    }
    case R_BPF_64_ABS64:
    case R_BPF_64_ABS32:
      throw new InputError(`${name} relocation in code is not supported (it belongs in data sections)`, where);
    default:
      throw new InputError(`unknown relocation type ${r.type}`, where);
  }
}

/**
 * A relocation against an extern: a `.kconfig` variable becomes a reference into the `.kconfig` map; a
 * `.ksyms` variable or kfunc call stays an extern reference for the loader (it needs the running kernel).
 */
function applyExternRelocation(
  f: Func,
  insn: Instruction,
  r: ElfRelocation,
  ext: ExternSpec | undefined,
  where: string,
): void {
  const name = relocationTypeName(r.type);
  if (!ext) throw new InputError(`${name} against undefined symbol '${r.symbol.name}', which is no extern`, where);
  // A kfunc is called, or its address taken by an lddw (bpf_ksym_exists(): is it there at all?).
  if (ext.kind === 'kfunc' && insn.code === OP_CALL && r.type === R_BPF_64_32) {
    f.externRefs.push({ pc: insn.pc, name: ext.name, offset: 0 });
    return;
  }
  if (insn.code !== OP_LDDW || r.type !== R_BPF_64_64)
    throw new InputError(`extern '${ext.name}' must be loaded by an lddw (R_BPF_64_64)`, where);
  const offset = insn.imm + r.addend;
  if (ext.kind === 'kconfig') {
    if (offset < 0 || offset >= ext.size!)
      throw new InputError(`offset ${offset} is outside .kconfig extern '${ext.name}' (${ext.size} bytes)`, where);
    setLddw(insn, BPF_PSEUDO_MAP_VALUE, ext.offset! + offset);
    f.mapRefs.push({ pc: insn.pc, map: KCONFIG_MAP, kind: 'value', offset: ext.offset! + offset });
    return;
  }
  f.externRefs.push({ pc: insn.pc, name: ext.name, offset });
}

/**
 * Hand each .BTF.ext record to the function holding its instruction. A record naming a section that holds
 * no code, or an offset outside every function or inside an lddw, is an InputError naming section and offset.
 */
function attachBtfExt(elf: ElfFile, ext: BtfExt, funcs: Func[]): void {
  const bySection = new Map<string, Func[]>();
  for (const f of funcs) bySection.set(f.section.name, [...(bySection.get(f.section.name) ?? []), f]);
  const starts = new Map<Func, Set<number>>();
  const place = <T extends { insnOff: number }>(
    records: Map<string, T[]>,
    what: string,
    add: (f: Func, pc: number, r: T) => void,
  ) => {
    for (const [sectionName, list] of records) {
      const inSection = bySection.get(sectionName);
      const where = `${elf.source}: section '.BTF.ext'`;
      if (!inSection) throw new InputError(`${what} names section '${sectionName}', which holds no code`, where);
      for (const r of list) {
        const slot = r.insnOff / 8;
        const f = inSection.find((g) => slot >= g.start && slot < g.start + g.slots);
        const at = `${where}: ${what} for '${sectionName}'+0x${r.insnOff.toString(16)}`;
        if (!f) throw new InputError(`instruction offset lies outside every function of the section`, at);
        const pc = slot - f.start;
        let pcs = starts.get(f);
        if (!pcs) starts.set(f, (pcs = new Set(f.insns.map((i) => i.pc))));
        if (!pcs.has(pc)) throw new InputError(`instruction offset points into the middle of an lddw`, at);
        add(f, pc, r);
      }
    }
  };
  place(ext.funcInfo, 'func_info', (f, pc, r) => f.funcInfo.push({ pc, typeId: r.typeId }));
  place(ext.lineInfo, 'line_info', (f, pc, r) => {
    const { insnOff: _, ...rest } = r;
    f.lineInfo.push({ ...rest, pc });
  });
  place(ext.coreRelos, 'CO-RE relocation', (f, pc, r) =>
    f.coreRelos.push({ pc, typeId: r.typeId, access: r.access, kind: r.kind }),
  );
}

function setLddw(insn: Instruction, src: number, offset: number) {
  insn.src = src;
  insn.imm = 0;
  insn.imm2 = offset;
}
