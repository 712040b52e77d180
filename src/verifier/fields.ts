/**
 * Reserved fields in the kernel's words and at the kernel's moment. The kernel checks most of an
 * instruction's unused fields only when the walk reaches it (do_check: "BPF_ALU uses reserved fields"),
 * after the whole program's control flow was accepted, so a bad field in dead code goes unnoticed and an
 * earlier fault on the path is reported first. Only loads (BPF_LDX) are checked up front, with the
 * opcodes and lddw pairs (resolve_pseudo_ldimm64).
 */
import type { Instruction } from '../isa/instruction.js';
import { ATOMIC_OPS, checkInstruction } from '../isa/opcode-table.js';
import {
  BPF_ALU,
  BPF_ALU64,
  BPF_ATOMIC,
  BPF_DW,
  BPF_CALL,
  BPF_END,
  BPF_EXIT,
  BPF_JA,
  BPF_JMP,
  BPF_JMP32,
  BPF_LD,
  BPF_LDX,
  BPF_MEM,
  BPF_MEMSX,
  BPF_MOV,
  BPF_NEG,
  BPF_ST,
  BPF_STX,
  BPF_W,
  classOf,
  modeOf,
  opOf,
  sizeOf,
} from '../isa/opcodes.js';

/** BPF_STX | BPF_ATOMIC's load-acquire and store-release operations (imm), Linux ≥ 6.15. */
export const BPF_LOAD_ACQ = 0x100;
export const BPF_STORE_REL = 0x110;

/**
 * The kernel's opcode table (bpf_opcode_in_insntable) has BPF_STX | BPF_ATOMIC in all four sizes since
 * load-acquire and store-release; the byte and half-word ones are unknown to bpfkit's ISA table.
 */
export const isNarrowAtomic = (code: number): boolean => code === 0xd3 || code === 0xcb;

/** BPF_JMP | BPF_JCOND: may_goto (src 0), a loop exit the runtime takes after enough iterations. */
export const OP_MAY_GOTO = 0xe5;
const OP_LDDW = 0x18;

/** The kernel's name for the rule an instruction's fields break, by class and operation. */
function ruleName(insn: Instruction): string {
  const cls = classOf(insn.code);
  const op = opOf(insn.code);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64:
      if (op === BPF_MOV) return 'BPF_MOV';
      if (op === BPF_NEG) return 'BPF_NEG';
      if (op === BPF_END) return 'BPF_END';
      return 'BPF_ALU';
    case BPF_JMP:
    case BPF_JMP32:
      if (op === BPF_CALL) return 'BPF_CALL';
      if (op === BPF_EXIT) return 'BPF_EXIT';
      if (op === BPF_JA) return 'BPF_JA';
      return 'BPF_JMP/JMP32';
    case BPF_STX:
      return modeOf(insn.code) === BPF_ATOMIC ? 'BPF_ATOMIC' : 'BPF_STX';
    case BPF_ST:
      return 'BPF_ST';
    case BPF_LDX:
      return 'BPF_LDX';
    case BPF_LD:
      return 'BPF_LD_[ABS|IND]';
    default:
      return 'BPF';
  }
}

/** The fault in an instruction's fields (a register past r10 included), or undefined. */
export function fieldFault(insn: Instruction): string | undefined {
  // may_goto (BPF_JMP | BPF_JCOND): its own check, "invalid may_goto imm", when the walk reaches it.
  if (insn.code === OP_MAY_GOTO) return undefined;
  // lddw: its kind is resolve_pseudo_ldimm64's (ldimm64.ts), its offset and register check_ld_imm's (step.ts).
  if (insn.code === OP_LDDW) return undefined;
  // check_atomic looks at the operation (imm) first, check_atomic_rmw at the size next, then the registers.
  if (classOf(insn.code) === BPF_STX && modeOf(insn.code) === BPF_ATOMIC) {
    // Load-acquire and store-release: step.ts says they are not modelled.
    if (insn.imm === BPF_LOAD_ACQ || insn.imm === BPF_STORE_REL) return undefined;
    if (!ATOMIC_OPS.includes(insn.imm))
      return `BPF_ATOMIC uses invalid atomic opcode ${(insn.imm >>> 0).toString(16).padStart(2, '0')}`;
    const size = sizeOf(insn.code);
    if (size !== BPF_W && size !== BPF_DW) return 'invalid atomic operand size';
  }
  if (!checkInstruction(insn)) return undefined;
  // A register past r10 in a field that names one: with it replaced by a valid one, the fields are fine,
  // so the kernel gets as far as reading the registers (check_reg_arg): "R15 is invalid".
  const bad = (r: number) => r > 10;
  if (bad(insn.dst) || bad(insn.src)) {
    const fixed = { ...insn, dst: bad(insn.dst) ? 1 : insn.dst, src: bad(insn.src) ? 1 : insn.src };
    const cls = classOf(insn.code);
    if (cls !== BPF_LD && !checkInstruction(fixed)) {
      // The order the kernel reads them in: a conditional jump its destination first, the others the source.
      const dstFirst = cls === BPF_JMP || cls === BPF_JMP32;
      const order = dstFirst ? [insn.dst, insn.src] : [insn.src, insn.dst];
      const r = order.find(bad);
      if (r !== undefined) return `R${r} is invalid`;
    }
  }
  return `${ruleName(insn)} uses reserved fields`;
}

/**
 * A load's fault found before the walk and before opcodes are looked up: any BPF_LDX whose mode is not
 * MEM or MEMSX, or whose imm is set, is "BPF_LDX uses reserved fields" (resolve_pseudo_ldimm64).
 */
export function loadFieldFault(insn: Instruction): string | undefined {
  if (classOf(insn.code) !== BPF_LDX) return undefined;
  const mode = modeOf(insn.code);
  return (mode !== BPF_MEM && mode !== BPF_MEMSX) || insn.imm !== 0 ? 'BPF_LDX uses reserved fields' : undefined;
}
