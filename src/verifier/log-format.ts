/**
 * The verifier's log in the kernel's format (kernel/bpf/log.c): registers as `R2=fp-4`,
 * `R0=map_value_or_null(id=1,map=arr,ks=4,vs=8)`, `R3=scalar(smin=0,smax=umax=255,var_off=(0x0; 0xff))`;
 * stack slots as `fp-8=0000????`; each instruction as `N: (op) text`, followed at log level 1 by the
 * registers and slots it touched after a `;` at the kernel's column; the C source line from line_info
 * as `; text @ file:line` whenever it changes; `from X to Y:` with the whole state where a path resumes.
 */
import type { Instruction } from '../isa/instruction.js';
import {
  BPF_ALU,
  BPF_ALU64,
  BPF_CALL,
  BPF_EXIT,
  BPF_JA,
  BPF_JMP,
  BPF_JMP32,
  BPF_LD,
  BPF_LDX,
  BPF_ST,
  BPF_STX,
  BPF_X,
  OP_LDDW,
  classOf,
  opOf,
  sizeBytes,
  sizeOf,
} from '../isa/index.js';
import { type InsnNames, kernelInsnText } from './kernel-insn.js';
import type { Scalar } from './scalar.js';
import { ByteType, type Frame, type Reg, type State, cur, kindText } from './state.js';

const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffffffffn;
const S32_MIN = -(1n << 31n);
const S32_MAX = (1n << 31n) - 1n;
/** The kernel's log buffer is bounded; so is bpfkit's (16 MiB of text). */
const MAX_LOG = 16 << 20;

const unum = (v: bigint) => (v <= 0xffffn ? `${v}` : `0x${BigInt.asUintN(64, v).toString(16)}`);
const snum = (v: bigint) => (v >= -32768n && v <= 32767n ? `${v}` : `0x${BigInt.asUintN(64, v).toString(16)}`);

/** print_scalar_ranges: the bounds that say something, equal ones merged (`smax=umax=255`). */
function rangesText(s: Scalar): string[] {
  // The 32-bit bounds as bpfkit tracks them (as the kernel does), each printed unless at its type's limit.
  const b = { smin: BigInt(s.s32min), smax: BigInt(s.s32max), umin: BigInt(s.u32min), umax: BigInt(s.u32max) };
  const items = [
    { name: 'smin', val: s.smin, omit: s.smin === S64_MIN },
    { name: 'smax', val: s.smax, omit: s.smax === S64_MAX },
    { name: 'umin', val: s.umin, omit: s.umin === 0n },
    { name: 'umax', val: s.umax, omit: s.umax === U64_MAX },
    { name: 'smin32', val: b.smin >= -32768n ? b.smin : b.smin & U32_MAX, omit: b.smin === S32_MIN },
    { name: 'smax32', val: b.smax >= -32768n ? b.smax : b.smax & U32_MAX, omit: b.smax === S32_MAX },
    { name: 'umin32', val: b.umin, omit: b.umin === 0n },
    { name: 'umax32', val: b.umax, omit: b.umax === U32_MAX },
  ];
  const out: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const m1 = items[i]!;
    if (m1.omit) continue;
    // Signed values compare with unsigned ones by their 64-bit pattern, as the kernel's u64 array does.
    const bits = (m: { name: string; val: bigint }) => BigInt.asUintN(64, m.val);
    const neg1 = m1.name[0] === 's' && m1.val < 0n;
    let names = `${m1.name}=`;
    for (let j = i + 2; j < items.length; j += 2) {
      const m2 = items[j]!;
      if (m2.omit || bits(m2) !== bits(m1)) continue;
      if ((m2.name[0] === 's' && m2.val < 0n) !== neg1) continue;
      m2.omit = true;
      names += `${m2.name}=`;
    }
    out.push(names + (m1.name[0] === 's' ? snum(m1.val) : unum(m1.val)));
  }
  return out;
}

const tnumText = (s: Scalar) => `(0x${s.t.value.toString(16)}; 0x${s.t.mask.toString(16)})`;
const isConst = (s: Scalar) => s.t.mask === 0n;

/** A register as the kernel prints it (print_reg_state); `frame` is the frame it is printed in. */
export function kernelRegText(r: Reg, frame: number): string {
  if (r.kind === 'scalar') {
    // Precise scalars (only remembered states have them) print with the kernel's P.
    if (r.precise) return `P${kernelRegText({ ...r, precise: false }, frame)}`;
    if (isConst(r.s)) return snum(BigInt.asIntN(64, r.s.t.value));
    const parts = rangesText(r.s);
    if (r.id) parts.unshift(r.addConst ? `id=${r.id}${r.off < 0 ? '' : '+'}${r.off}` : `id=${r.id}`);
    if (r.s.t.mask !== U64_MAX) parts.push(`var_off=${tnumText(r.s)}`);
    return `scalar(${parts.join(',')})`;
  }
  let text = kindText(r);
  // print_verifier_state: a BTF pointer's type name follows its kind (`trusted_ptr_task_struct(...)`).
  if (r.kind === 'btf_id' && r.btf) text += r.btf.name;
  if (r.kind === 'fp') {
    if (r.frame !== frame) text += `[${r.frame}]`;
    if (isConst(r.s)) return text + snum(BigInt(r.off) + BigInt.asIntN(64, r.s.t.value));
  }
  const parts: string[] = [];
  if (r.id) parts.push(`id=${r.id}`);
  if (r.ref) parts.push(`ref_obj_id=${r.ref}`);
  if (r.map && (r.kind === 'map_ptr' || r.kind === 'map_value' || r.kind === 'map_key')) {
    if (r.map.name) parts.push(`map=${r.map.name}`);
    parts.push(`ks=${r.map.keySize},vs=${r.map.valueSize}`);
  }
  if (r.off) parts.push(`off=${snum(BigInt(r.off))}`);
  if (r.kind === 'pkt' || r.kind === 'pkt_meta') parts.push(`r=${unum(BigInt(r.range))}`);
  if (r.kind === 'mem' || r.kind === 'untrusted_mem') parts.push(`sz=${unum(BigInt(r.size))}`);
  if (isConst(r.s)) {
    if (r.s.t.value) parts.push(`imm=${snum(BigInt.asIntN(64, r.s.t.value))}`);
  } else {
    parts.push(...rangesText(r.s));
    if (r.s.t.mask !== U64_MAX) parts.push(`var_off=${tnumText(r.s)}`);
  }
  return `${text}(${parts.join(',')})`;
}

const SLOT_CHARS = ['?', 'm', '0', 'r'];

/** The registers and stack slots touched by an instruction, printed after it. */
export interface Touched {
  regs: number[];
  slots: number[];
}

/** A frame's state as print_verifier_state prints it: every register and slot, or only the touched ones. */
export function kernelFrameText(f: Frame, frameNo: number, only?: Touched, refs: readonly number[] = []): string {
  let out = frameNo ? ` frame${frameNo}:` : '';
  f.regs.forEach((r, i) => {
    if (r.kind === 'not_init' || (only && !only.regs.includes(i))) return;
    out += ` R${i}=${kernelRegText(r, frameNo)}`;
  });
  for (const [k, slot] of [...f.stack].sort((a, b) => a[0] - b[0])) {
    if (only && !only.slots.includes(k)) continue;
    // The kernel lists a slot's bytes from the highest address down.
    const bytes = [...slot.bytes].reverse();
    if (!slot.spill && bytes.every((b) => b === ByteType.Invalid)) continue;
    const off = -(k + 1) * 8;
    // A dynptr prints once, at its first slot, with its ids (the kernel adds a dynptr_id bpfkit has not).
    const d = slot.dynptr;
    if (d) {
      if (d.first) out += ` fp${off}=dynptr_${d.type}(id=${d.id}${d.ref ? `,ref_id=${d.ref}` : ''})`;
      continue;
    }
    if (slot.spill) {
      const above = 8 - (slot.spillSize ?? 8);
      const prefix = bytes
        .slice(0, above)
        .map((b) => SLOT_CHARS[b] ?? '?')
        .join('');
      out += ` fp${off}=${prefix}${kernelRegText(slot.spill, frameNo)}`;
    } else out += ` fp${off}=${bytes.map((b) => SLOT_CHARS[b] ?? '?').join('')}`;
  }
  if (refs.length) out += ` refs=${refs.join(',')}`;
  return out;
}

/** The whole innermost frame, as at the start of a path. */
export const kernelStateText = (st: State): string =>
  kernelFrameText(cur(st), st.frames.length - 1, undefined, [...st.refs.keys()]);

/** What an instruction reads and writes (check_reg_arg and stack accesses mark them for printing). */
export function touchedBy(insn: Instruction, st: State): Touched {
  const cls = classOf(insn.code);
  const regs: number[] = [];
  const slots: number[] = [];
  const f = cur(st);
  const slotsOf = (base: number, size: number) => {
    const r = f.regs[base];
    if (!r || r.kind !== 'fp' || !isConst(r.s) || r.frame !== st.frames.length - 1) return;
    const lo = r.off + insn.off;
    for (let b = lo; b < lo + size; b++) if (b < 0) slots.push(Math.floor((-b - 1) / 8));
  };
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64:
      regs.push(insn.dst);
      if (insn.code & BPF_X) regs.push(insn.src);
      break;
    case BPF_LDX:
      regs.push(insn.dst, insn.src);
      slotsOf(insn.src, sizeBytes(sizeOf(insn.code)));
      break;
    case BPF_STX:
      regs.push(insn.dst, insn.src);
      slotsOf(insn.dst, sizeBytes(sizeOf(insn.code)));
      break;
    case BPF_ST:
      regs.push(insn.dst);
      slotsOf(insn.dst, sizeBytes(sizeOf(insn.code)));
      break;
    case BPF_LD:
      regs.push(insn.code === OP_LDDW ? insn.dst : 0);
      break;
    case BPF_JMP:
    case BPF_JMP32: {
      const op = opOf(insn.code);
      if (op === BPF_CALL) regs.push(0, 1, 2, 3, 4, 5);
      else if (op !== BPF_EXIT && op !== BPF_JA) {
        regs.push(insn.dst);
        if (insn.code & BPF_X) regs.push(insn.src);
      }
      break;
    }
  }
  return { regs, slots };
}

/** A source line for an instruction, from .BTF.ext line_info. */
export interface LogLine {
  pc: number;
  file: string;
  source: string;
  line: number;
}

/** A place in the log: the line of the instruction that set a path aside, and its text. */
export interface LogMark {
  index: number;
  text: string;
}

/**
 * The walk's log, written as the kernel writes its verifier log. At level 1 the kernel keeps only the
 * path being walked: when a path ends well, the log is rewound to the branch that set the next path
 * aside, and that path's state is printed on the branch's line. Level 2 keeps every path.
 */
export class WalkLog {
  readonly lines: string[] = [];
  private size = 0;
  private lastLine: LogLine | undefined;
  private pending: { index: number; touched: Touched } | undefined;
  private lastInsn: LogMark | undefined;
  private readonly byPc: LogLine[];
  constructor(
    readonly level: number,
    private readonly names: InsnNames = { helper: () => undefined, map: () => undefined },
    lineInfo: readonly LogLine[] = [],
    /** Called with every instruction walked and the state before it (the debugger's state view). */
    readonly onInsn?: (pc: number, st: State) => void,
  ) {
    this.byPc = [...lineInfo].sort((a, b) => a.pc - b.pc);
  }

  /** Append one line. */
  add(line: string): void {
    if (this.size > MAX_LOG) return;
    this.size += line.length + 1;
    this.lines.push(line);
  }

  /** The line_info entry covering `pc` (the last one at or before it). */
  private lineAt(pc: number): LogLine | undefined {
    let lo = 0;
    let hi = this.byPc.length - 1;
    let found: LogLine | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.byPc[mid]!.pc <= pc) {
        found = this.byPc[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  private source(pc: number): void {
    const l = this.lineAt(pc);
    // Entries for other columns of the same line print once, as in the kernel's log.
    const same = (a: LogLine | undefined) => a && l && a.file === l.file && a.line === l.line;
    if (!l || same(this.lastLine)) return;
    this.lastLine = l;
    this.add(`; ${l.source.trimStart()} @ ${l.file.split('/').pop()}:${l.line}`);
  }

  /** An instruction as the kernel prints it (for precision tracking's level-2 lines). */
  insnText(insn: Instruction): string {
    return kernelInsnText(insn, this.names);
  }

  /** Where the log stands now (taken when a branch sets a path aside). */
  mark(): LogMark | undefined {
    return this.lastInsn;
  }

  /** A path begins (the entry) or resumes after a branch (`from`, set aside at `mark`), with its whole state. */
  pathStart(pc: number, st: State, from?: number, mark?: LogMark): void {
    if (this.level === 0) return;
    if (from === undefined) this.add(`${pc}:${kernelStateText(st)}`);
    else if (this.level === 1 && mark && mark.index < this.lines.length) {
      for (let i = mark.index + 1; i < this.lines.length; i++) this.size -= this.lines[i]!.length + 1;
      this.lines.length = mark.index + 1;
      this.lines[mark.index] = `${mark.text} ${pc}:${kernelStateText(st)}`;
      this.lastInsn = undefined;
    } else {
      this.add('');
      this.add(`from ${from} to ${pc}:${kernelStateText(st)}`);
    }
  }

  /** A path ends at `pc` because an explored state covers it. */
  safe(pc: number): void {
    if (this.level > 0) this.add(`${pc}: safe`);
  }

  /** Before an instruction: its source line, (level 2) the whole state, the instruction. */
  before(insn: Instruction, st: State): void {
    this.onInsn?.(insn.pc, st);
    this.pending = undefined;
    if (this.level === 0) return;
    if (this.level >= 2) this.add(`${insn.pc}:${kernelStateText(st)}`);
    this.source(insn.pc);
    this.add(`${insn.pc}: ${kernelInsnText(insn, this.names)}`);
    this.pending = { index: this.lines.length - 1, touched: touchedBy(insn, st) };
    this.lastInsn = { index: this.lines.length - 1, text: this.lines[this.lines.length - 1]! };
  }

  /** After an instruction: what it touched, at the kernel's column on the instruction's line. */
  after(st: State | undefined): void {
    const p = this.pending;
    this.pending = undefined;
    if (!p || !st || p.index !== this.lines.length - 1) return;
    const text = kernelFrameText(cur(st), st.frames.length - 1, p.touched, [...st.refs.keys()]);
    if (!text) return;
    const line = this.lines[p.index]!;
    const pos = line.length + 1;
    const col = Math.ceil(Math.max(pos + 4, 40) / 8) * 8 - pos - 1;
    this.lines[p.index] = `${line}${' '.repeat(col)};${text}`;
  }

  /** The walk stops at a fault: at log level 0 the state, source line and instruction are printed now. */
  fault(insn: Instruction, st: State): void {
    this.pending = undefined;
    if (this.level > 0) return;
    this.add(`${insn.pc}:${kernelStateText(st)}`);
    this.source(insn.pc);
    this.add(`${insn.pc}: ${kernelInsnText(insn, this.names)}`);
  }
}
