/**
 * Whole-file disassembly listings: an ELF object (every executable section, symbols as block headers,
 * pc-numbered lines, jump targets annotated with `<symbol+0xoff>`, optional relocation lines) laid out
 * exactly like `llvm-objdump -d [-r] [--no-show-raw-insn]`, or a raw bytecode file (numbered lines only).
 */
import { InputError } from '../util/errors.js';
import { type Endian, checkProgramSize, decodeProgram } from '../isa/codec.js';
import { type Instruction, makeInsn } from '../isa/instruction.js';
import { OP_LDDW } from '../isa/opcodes.js';
import { checkProgram, jumpTarget } from '../isa/opcode-table.js';
import { type ElfFile, type ElfSymbol, SHF_EXECINSTR, STT_FILE, STT_SECTION, readElf } from '../elf/elf-file.js';
import { type DisassembleOptions, disassembleOne } from './disassemble.js';
import { formatRawInsn } from './raw-insn.js';
import { parseBtf } from '../btf/btf.js';
import { parseBtfExt, type BtfExtLineInfo } from '../btf/btf-ext.js';

/** Options of `listFile`. */
export interface ListingOptions extends DisassembleOptions {
  /** Names the file in the header and errors. */
  source?: string;
  /** Only this section (ELF input). */
  section?: string;
  /** Treat the input as raw bytecode even if it starts like an ELF file. */
  raw?: boolean;
  /** Byte order of raw bytecode (ELF objects carry their own). */
  endian?: Endian;
  /** Print relocation lines under the instructions they patch (llvm-objdump -r). */
  relocations?: boolean;
  /**
   * Print the C source line above its instructions, from `.BTF.ext` line_info (`; <line>`, as
   * `llvm-objdump -S` prints from DWARF): when the line changes, and again after a label.
   */
  sourceLines?: boolean;
  /** Show each instruction's bytes (llvm-objdump's default; bpfkit's default is without, like --no-show-raw-insn). */
  showBytes?: boolean;
  /** Only the instructions, one per line, no numbers or headers (feeds `bpfkit asm`). */
  plain?: boolean;
  /** Fail with InputError (section, pc, reason) on the first invalid instruction or jump. */
  strict?: boolean;
}

const RELOC_NAMES: Record<number, string> = {
  0: 'R_BPF_NONE',
  1: 'R_BPF_64_64',
  2: 'R_BPF_64_ABS64',
  3: 'R_BPF_64_ABS32',
  4: 'R_BPF_64_NODYLD32',
  10: 'R_BPF_64_32',
};

/** True when the bytes start with the ELF magic. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/** Disassemble a file's bytes (ELF object or raw bytecode) into listing text, ending with a newline. */
export function listFile(bytes: Uint8Array, opts: ListingOptions = {}): string {
  if (!opts.raw && isElf(bytes)) return listElf(readElf(bytes, { source: opts.source }), opts);
  if (opts.section) throw new InputError(`--section needs an ELF object; this is raw bytecode`, opts.source);
  const insns = decodeLenient(bytes, opts.endian ?? 'little', opts.source ?? '<input>', opts.strict === true);
  if (opts.strict) strictCheck(insns, opts.source ?? '<input>');
  const out: string[] = [];
  for (const insn of insns) out.push(formatLine(insn, bytes, opts.endian ?? 'little', opts));
  return out.length ? `${out.join('\n')}\n` : '';
}

/**
 * Decode without giving up on the first malformed `lddw`: a disassembler should show what is there.
 * A broken lddw becomes a one-slot `.insn` marked invalid. In strict mode the codec's error stands.
 */
function decodeLenient(bytes: Uint8Array, endian: Endian, source: string, strict: boolean): Instruction[] {
  checkProgramSize(bytes, source); // (the lenient loop below must not get past the bound either)
  try {
    return decodeProgram(bytes, { endian, source });
  } catch (err) {
    if (strict || bytes.length % 8 !== 0) throw err;
  }
  const out: Instruction[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = endian === 'little';
  for (let pc = 0; pc < bytes.length / 8; pc++) {
    const regs = dv.getUint8(pc * 8 + 1);
    const insn = makeInsn({
      pc,
      code: dv.getUint8(pc * 8),
      dst: little ? regs & 0xf : regs >> 4,
      src: little ? regs >> 4 : regs & 0xf,
      off: dv.getInt16(pc * 8 + 2, little),
      imm: dv.getInt32(pc * 8 + 4, little),
    });
    if (insn.code === OP_LDDW) {
      // The second slot's fields read as they lie: decoding it as an instruction of its own would throw
      // when it is itself an lddw opcode (random bytes), at the wrong pc and without the file's name.
      const at = (pc + 1) * 8;
      const okSecond =
        at + 8 <= bytes.length &&
        dv.getUint8(at) === 0 &&
        dv.getUint8(at + 1) === 0 &&
        dv.getInt16(at + 2, little) === 0;
      if (okSecond) {
        insn.imm2 = dv.getInt32(at + 4, little);
        out.push(insn);
        pc++;
        continue;
      }
      // Mark the broken lddw; printing it via formatRawInsn keeps the listing going.
      (insn as Instruction & { broken?: string }).broken = 'lddw without a valid second slot';
    }
    out.push(insn);
  }
  return out;
}

function strictCheck(insns: Instruction[], where: string): void {
  const problem = checkProgram(insns);
  if (problem) {
    const insn = insns.find((i) => i.pc === problem.pc);
    throw new InputError(
      `${problem.message}${insn ? ` (${formatRawInsn(insn).replace(/ #.*$/, '')})` : ''}`,
      `${where}: pc ${problem.pc}`,
    );
  }
}

function text(insn: Instruction, opts: DisassembleOptions): string {
  const broken = (insn as Instruction & { broken?: string }).broken;
  if (broken) return `${formatRawInsn({ ...insn, code: insn.code }).replace(/ #.*$/, '')} # invalid: ${broken}`;
  return disassembleOne(insn, opts);
}

function hexBytes(bytes: Uint8Array, from: number, count: number): string {
  const parts: string[] = [];
  for (let i = from; i < from + count && i < bytes.length; i++) parts.push(bytes[i]!.toString(16).padStart(2, '0'));
  return parts.join(' ');
}

function formatLine(
  insn: Instruction,
  bytes: Uint8Array,
  _endian: Endian,
  opts: ListingOptions,
  annotate = '',
): string {
  const body = text(insn, opts) + annotate;
  if (opts.plain) return body;
  const slots = insn.code === OP_LDDW && !(insn as { broken?: string }).broken ? 2 : 1;
  const raw = opts.showBytes ? `${hexBytes(bytes, insn.pc * 8, slots * 8)}\t` : '';
  return `${String(insn.pc).padStart(8)}:\t${raw}${body}`;
}

interface Label {
  address: number;
  name: string;
}

/** Symbols llvm-objdump would print as block headers in a section, sorted by address. */
function sectionLabels(elf: ElfFile, sectionIndex: number, sectionName: string): Label[] {
  const labels: Label[] = elf.symbols
    .filter(
      (s: ElfSymbol) => s.section === sectionIndex && s.type !== STT_SECTION && s.type !== STT_FILE && s.name !== '',
    )
    .map((s) => ({ address: s.value, name: s.name }));
  // Several symbols at one address (clang 14 leaves duplicate LBB labels where blocks merge): llvm-objdump
  // sorts by address, then name, and shows only the last of them, as header and as jump target.
  labels.sort((a, b) => a.address - b.address || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const shown = labels.filter((l, i) => labels[i + 1]?.address !== l.address);
  if (!shown.some((l) => l.address === 0)) shown.unshift({ address: 0, name: sectionName });
  return shown;
}

/** `<sym>` / `<sym+0x18>` for a byte address in the section: the closest label at or before it. */
function annotation(labels: Label[], address: number): string {
  let best: Label | undefined;
  for (const l of labels) if (l.address <= address) best = l;
  if (!best) return '';
  const delta = address - best.address;
  return ` <${best.name}${delta ? `+0x${delta.toString(16)}` : ''}>`;
}

/**
 * line_info by code section, keyed by byte offset: from the object's .BTF and .BTF.ext (--source). An
 * object without them has no source to show, which is an error rather than a silent plain listing.
 */
function sourceLineTable(elf: ElfFile, opts: ListingOptions): (section: string) => Map<number, BtfExtLineInfo> {
  if (!opts.sourceLines || opts.plain) return () => new Map();
  const where = opts.source ?? elf.source;
  const btfSec = elf.sections.find((s) => s.name === '.BTF');
  const extSec = elf.sections.find((s) => s.name === '.BTF.ext');
  if (!btfSec || !extSec)
    throw new InputError('no .BTF.ext line_info to take source lines from (compile with clang -g)', where);
  const ext = parseBtfExt(
    extSec.data,
    parseBtf(btfSec.data, `${where}: section '.BTF'`),
    `${where}: section '.BTF.ext'`,
  );
  return (section) => new Map((ext.lineInfo.get(section) ?? []).map((l) => [l.insnOff, l]));
}

function listElf(elf: ElfFile, opts: ListingOptions): string {
  const out: string[] = [];
  const lineInfoOf = sourceLineTable(elf, opts);
  if (!opts.plain) out.push('', `${opts.source ?? elf.source}:\tfile format elf64-bpf`, '');
  let found = false;
  for (const sec of elf.sections) {
    if ((sec.flags & SHF_EXECINSTR) === 0 || sec.size === 0) continue;
    if (opts.section !== undefined && sec.name !== opts.section) continue;
    found = true;
    const where = `${opts.source ?? elf.source}: section ${sec.name}`;
    const insns = decodeLenient(sec.data, elf.endian, where, opts.strict === true);
    if (opts.strict) strictCheck(insns, where);
    const labels = sectionLabels(elf, sec.index, sec.name);
    const relocs = opts.relocations ? elf.relocationsFor(sec.index) : [];
    const lines = opts.sourceLines && !opts.plain ? lineInfoOf(sec.name) : undefined;
    let shown: BtfExtLineInfo | undefined;
    let afterLabel = false;
    if (!opts.plain) out.push(`Disassembly of section ${sec.name}:`);
    let li = 0;
    let ri = 0;
    for (const insn of insns) {
      const addr = insn.pc * 8;
      while (li < labels.length && labels[li]!.address <= addr) {
        const l = labels[li++]!;
        if (opts.plain) out.push(`${l.name}:`);
        else out.push('', `${l.address.toString(16).padStart(16, '0')} <${l.name}>:`);
        afterLabel = true;
      }
      if (lines) {
        // line 0: code the compiler made up (no source line), which llvm-objdump does not show either
        const found = lines.get(addr);
        const rec = found && found.line !== 0 ? found : undefined;
        const next = rec && !(shown && rec.line === shown.line && rec.file === shown.file) ? rec : undefined;
        if (next || (afterLabel && shown)) out.push(`; ${(next ?? shown)!.source}`);
        if (next) shown = next;
        afterLabel = false;
      }
      const target = jumpTarget(insn);
      const isCall = insn.code === 0x85;
      const note =
        target !== undefined && !isCall && !opts.plain && target >= 0 && target * 8 < sec.size
          ? annotation(labels, target * 8)
          : '';
      out.push(formatLine(insn, sec.data, elf.endian, opts, note));
      const end = addr + (insn.code === OP_LDDW && !(insn as { broken?: string }).broken ? 16 : 8);
      while (ri < relocs.length && relocs[ri]!.offset < end) {
        const r = relocs[ri++]!;
        if (r.offset < addr || opts.plain) continue;
        const symName = r.symbol.type === STT_SECTION ? (elf.sections[r.symbol.section]?.name ?? '') : r.symbol.name;
        out.push(
          `\t\t${r.offset.toString(16).padStart(16, '0')}:  ${RELOC_NAMES[r.type] ?? `R_BPF_${r.type}`}\t${symName}`,
        );
      }
    }
    if (!opts.plain) out.push('');
  }
  if (opts.section !== undefined && !found) {
    const names = elf.sections.filter((s) => (s.flags & SHF_EXECINSTR) !== 0 && s.size > 0).map((s) => s.name);
    throw new InputError(
      `no executable section '${opts.section}' (sections with code: ${names.join(', ') || 'none'})`,
      opts.source ?? elf.source,
    );
  }
  // llvm-objdump ends with the blank line after the last section; drop the duplicate we added per section.
  if (!opts.plain && out.length && out[out.length - 1] === '') out.pop();
  return `${out.join('\n')}\n`;
}
