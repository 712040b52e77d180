/**
 * Text -> instructions, in the conformance suite's syntax, the LLVM/kernel syntax, or both mixed
 * ('auto' decides per line). Two passes: parse every line (labels record the slot they stand at), then
 * resolve label and numeric jump targets into offsets with range checks.
 *
 * Accepted around instructions: `# comment`, `// comment`, `; comment`, `label:` (alone or before an
 * instruction), blank lines, and what llvm-objdump / `bpfkit disasm` listings add — `  12:` pc prefixes,
 * `0000000000000078 <LBB0_2>:` symbol headers (become labels), `Disassembly of section`, `file format`
 * lines and ` <sym+0x10>` jump annotations — so a listing assembles back to its bytes.
 * The conformance suite's implicit label `exit` (the first `exit` instruction) works when not defined.
 */
import { InputError } from '../util/errors.js';
import { type Instruction, slotsOf } from '../isa/instruction.js';
import { AsmLineError, type ParsedInsn, type Target, field } from './operands.js';
import { parseConformanceLine } from './parse-conformance.js';
import { looksLikeLlvm, parseLlvmLine } from './parse-llvm.js';
import { makeInsn } from '../isa/instruction.js';
import { BPF_EXIT, BPF_JMP } from '../isa/opcodes.js';

/** Assembly syntaxes: the conformance suite's, LLVM's, or `auto` (decided per line). */
export type AsmSyntax = 'auto' | 'conformance' | 'llvm';

/** Options of `assemble`. */
export interface AssembleOptions {
  syntax?: AsmSyntax;
  /** File name for error messages (`prog.s:12: ...`). */
  source?: string;
}

interface Pending {
  parsed: ParsedInsn;
  line: number;
}

/** Parse `.insn op=0x.. dst=.. src=.. off=.. imm=.. [imm2=..]` (any order, missing fields are 0). */
function parseRawInsn(rest: string): ParsedInsn {
  const fields: Record<string, number> = {};
  for (const part of rest
    .trim()
    .split(/[\s,]+/)
    .filter(Boolean)) {
    const m = /^(op|code|dst|src|off|imm|imm2)=(\S+)$/i.exec(part);
    if (!m) throw new AsmLineError(`.insn wants op=.. dst=.. src=.. off=.. imm=.., got '${part}'`);
    const name = m[1]!.toLowerCase();
    const v = m[2]!;
    if (name === 'op' || name === 'code') fields.code = field(v, 'op', 255);
    else if (name === 'dst' || name === 'src') fields[name] = field(v, name, 15);
    else if (name === 'off') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < -32768 || n > 65535) throw new AsmLineError(`off=${v} is out of range (16 bits)`);
      fields.off = (n << 16) >> 16;
    } else {
      const n = Number(v);
      if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff)
        throw new AsmLineError(`${name}=${v} is out of range (32 bits)`);
      fields[name] = n | 0;
    }
  }
  if (fields.code === undefined) throw new AsmLineError('.insn needs op=');
  return { insn: makeInsn({ ...fields, code: fields.code }) };
}

/** Remove a trailing comment (# // ;) — none of the syntaxes use those characters otherwise. */
function stripComment(line: string): string {
  const at = line.search(/#|\/\/|;/);
  return at < 0 ? line : line.slice(0, at);
}

/**
 * Assemble program text into instructions. Labels and relative offsets both work for jumps and local
 * calls. The first problem throws InputError as `source:line: message`.
 */
export function assemble(text: string, opts: AssembleOptions = {}): Instruction[] {
  const syntax = opts.syntax ?? 'auto';
  const source = opts.source ?? '<input>';
  const labels = new Map<string, { pc: number; line: number }>();
  const pending: Pending[] = [];
  let pc = 0;
  let firstExit: number | undefined;
  const lines = text.split(/\r?\n/);

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const where = `${source}:${lineNo}`;
    let t = stripComment(lines[i]!).trim();
    if (t === '' || /^Disassembly of section /.test(t) || /:\s+file format /.test(t)) continue;
    try {
      // llvm-objdump symbol header: "0000000000000078 <LBB2_2>:"
      let m = /^[0-9a-f]{8,16}\s+<([^>]+)>:$/i.exec(t);
      if (m) {
        defineLabel(labels, m[1]!, pc, lineNo, where);
        continue;
      }
      // listing pc prefix "  12:" and jump annotations " <sym+0x10>"
      t = t
        .replace(/^\d+:\s*/, '')
        .replace(/\s*<[^<>]*>$/, '')
        .trim();
      // "name:" labels, possibly followed by an instruction
      while ((m = /^([A-Za-z_.$][\w.$]*):\s*(.*)$/.exec(t)) && !/^\.insn\b/.test(t)) {
        defineLabel(labels, m[1]!, pc, lineNo, where);
        t = m[2]!.trim();
      }
      if (t === '') continue;
      let parsed: ParsedInsn;
      if (/^\.insn\b/i.test(t)) parsed = parseRawInsn(t.slice(5));
      else if (syntax === 'llvm' || (syntax === 'auto' && looksLikeLlvm(t))) parsed = parseLlvmLine(t);
      else if (syntax === 'conformance') parsed = parseConformanceLine(t);
      else parsed = parseAuto(t);
      parsed.insn.pc = pc;
      if (firstExit === undefined && parsed.insn.code === (BPF_JMP | BPF_EXIT)) firstExit = pc;
      pending.push({ parsed, line: lineNo });
      pc += slotsOf(parsed.insn);
    } catch (err) {
      if (err instanceof AsmLineError) throw new InputError(err.message, where);
      throw err;
    }
  }

  for (const { parsed, line } of pending) {
    if (!parsed.jump) continue;
    const where = `${source}:${line}`;
    const offset = resolve(parsed.jump.target, parsed.insn.pc, labels, firstExit, where);
    if (parsed.jump.field === 'off') {
      if (offset < -32768 || offset > 32767) {
        throw new InputError(
          `jump offset ${offset} does not fit the 16-bit offset field (-32768..32767); use gotol for long jumps`,
          where,
        );
      }
      parsed.insn.off = offset;
    } else {
      parsed.insn.imm = offset;
    }
  }
  return pending.map((p) => p.parsed.insn);
}

/** Auto-detect for a line that does not look like LLVM syntax: conformance first, LLVM's error if both fail. */
function parseAuto(t: string): ParsedInsn {
  try {
    return parseConformanceLine(t);
  } catch (err) {
    if (!(err instanceof AsmLineError)) throw err;
    // `exit`, `call 1`, `goto`-less forms parse the same in both; report the conformance error unless LLVM succeeds.
    try {
      return parseLlvmLine(t);
    } catch {
      throw err;
    }
  }
}

function defineLabel(
  labels: Map<string, { pc: number; line: number }>,
  name: string,
  pc: number,
  line: number,
  where: string,
) {
  const prev = labels.get(name);
  if (prev) throw new InputError(`duplicate label '${name}' (first defined on line ${prev.line})`, where);
  labels.set(name, { pc, line });
}

function resolve(
  t: Target,
  pc: number,
  labels: Map<string, { pc: number; line: number }>,
  firstExit: number | undefined,
  where: string,
): number {
  if ('offset' in t) return t.offset;
  const label = labels.get(t.label);
  if (label) return label.pc - pc - 1;
  if (t.label === 'exit' && firstExit !== undefined) return firstExit - pc - 1;
  throw new InputError(`undefined label '${t.label}'`, where);
}
