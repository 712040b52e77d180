/**
 * The kernel's classic BPF checker (net/core/filter.c: bpf_check_basics_ok, chk_code_allowed,
 * bpf_check_classic, check_load_and_stores), which decides what SO_ATTACH_FILTER and cls_bpf accept.
 * Same rules, same order, so the first failure reported is the one the kernel stops at; the kernel
 * only says EINVAL, this says which rule and which instruction.
 */
import {
  BPF_A,
  BPF_ABS,
  BPF_ALU,
  BPF_B,
  BPF_DIV,
  BPF_H,
  BPF_JA,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LSH,
  BPF_MAXINSNS,
  BPF_MEM,
  BPF_MEMWORDS,
  BPF_MOD,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_W,
  type SockFilter,
} from './insn.js';
import { ancillaryOf, SKF_AD_OFF } from './ancillary.js';
import { KERNEL_CLASSIC_OPCODES } from './opcodes.js';

/** Which of the kernel's rules a program broke. */
export type CheckRule =
  | 'length' // 0 or more than BPF_MAXINSNS instructions
  | 'opcode' // not in chk_code_allowed's table
  | 'div-by-zero' // DIV/MOD by constant 0
  | 'shift' // LSH/RSH by a constant >= 32
  | 'mem-index' // M[k] with k >= BPF_MEMWORDS
  | 'jump-range' // a jump lands past the last instruction
  | 'ancillary' // an absolute load at or above SKF_AD_OFF that names no known field
  | 'last-not-ret' // the last instruction is not a return
  | 'mem-uninit'; // M[k] read where some path has not written it

/** A rejection: the rule, the instruction index it applies to (-1 for the program's length) and a sentence. */
export interface CheckFailure {
  rule: CheckRule;
  pc: number;
  message: string;
}

const div = new Set([BPF_ALU | BPF_DIV | BPF_K, BPF_ALU | BPF_MOD | BPF_K]);
const shift = new Set([BPF_ALU | BPF_LSH | BPF_K, BPF_ALU | BPF_RSH | BPF_K]);
const memory = new Set([BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX]);
const absLoad = new Set([BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_H | BPF_ABS, BPF_LD | BPF_B | BPF_ABS]);

/** True for the conditional jumps the kernel allows (JEQ/JGT/JGE/JSET with K or X). */
function isCheckedCondJump(code: number): boolean {
  return (code & 0x07) === BPF_JMP && (code & 0xf0) !== BPF_JA && KERNEL_CLASSIC_OPCODES.has(code);
}

/** Rules beyond the kernel's. */
export interface CheckOptions {
  /**
   * Accept a `ja` whose k, read as a signed number, jumps backward to an instruction of the program, as
   * libpcap's userspace bpf_validate does (its unsigned sum wraps): what libpcap's `protochain` emits.
   * The kernel refuses such programs; only the interpreter runs them (with a step budget).
   */
  loops?: boolean;
}

/**
 * Check a program the way the kernel does before attaching it. Returns undefined when the kernel would
 * accept it, else the first rule it breaks.
 */
export function checkClassic(insns: readonly SockFilter[], options: CheckOptions = {}): CheckFailure | undefined {
  const flen = insns.length;
  if (flen === 0 || flen > BPF_MAXINSNS) {
    return { rule: 'length', pc: -1, message: `a program has 1..${BPF_MAXINSNS} instructions, this one has ${flen}` };
  }
  for (let pc = 0; pc < flen; pc++) {
    const { code, jt, jf } = insns[pc]!;
    const k = insns[pc]!.k >>> 0;
    const at = `instruction ${pc}`;
    if (!KERNEL_CLASSIC_OPCODES.has(code)) {
      return { rule: 'opcode', pc, message: `${at}: opcode 0x${code.toString(16)} is not one the kernel accepts` };
    }
    if (div.has(code) && k === 0)
      return { rule: 'div-by-zero', pc, message: `${at}: division or modulo by constant zero` };
    if (shift.has(code) && k >= 32) return { rule: 'shift', pc, message: `${at}: shift by ${k}, must be below 32` };
    if (memory.has(code) && k >= BPF_MEMWORDS) {
      return {
        rule: 'mem-index',
        pc,
        message: `${at}: M[${k}] is outside the scratch memory M[0..${BPF_MEMWORDS - 1}]`,
      };
    }
    const backward = options.loops === true && (k | 0) < 0 && pc + 1 + (k | 0) >= 0;
    if (code === (BPF_JMP | BPF_JA) && k >= flen - pc - 1 && !backward) {
      return { rule: 'jump-range', pc, message: `${at}: ja +${k} lands past the last instruction (${flen - 1})` };
    }
    if (isCheckedCondJump(code) && (pc + jt + 1 >= flen || pc + jf + 1 >= flen)) {
      const bad = pc + jt + 1 >= flen ? `jt ${jt}` : `jf ${jf}`;
      return { rule: 'jump-range', pc, message: `${at}: ${bad} lands past the last instruction (${flen - 1})` };
    }
    // The kernel compares the unsigned k with (u32)SKF_AD_OFF: every k from 0xfffff000 up must be a known field.
    if (absLoad.has(code) && k >= SKF_AD_OFF >>> 0 && ancillaryOf(k) === undefined) {
      return {
        rule: 'ancillary',
        pc,
        message: `${at}: [${k | 0}] is SKF_AD_OFF + ${k - (SKF_AD_OFF >>> 0)}, not an ancillary field the kernel knows`,
      };
    }
  }
  const last = insns[flen - 1]!.code;
  if (last !== (BPF_RET | BPF_K) && last !== (BPF_RET | BPF_A)) {
    return {
      rule: 'last-not-ret',
      pc: flen - 1,
      message: `instruction ${flen - 1}: the last instruction must be a return`,
    };
  }
  return checkLoadAndStores(insns);
}

/**
 * check_load_and_stores: a forward scan with one bitmask of written cells. A jump narrows the mask of
 * its targets and leaves "all written" behind it (what follows is reached only by other jumps), while a
 * return leaves its mask to fall into the next instruction, as the kernel's scan does.
 */
function checkLoadAndStores(insns: readonly SockFilter[]): CheckFailure | undefined {
  const masks = new Uint16Array(insns.length).fill(0xffff);
  let valid = 0;
  for (let pc = 0; pc < insns.length; pc++) {
    const { code, jt, jf, k } = insns[pc]!;
    valid &= masks[pc]!;
    if (code === BPF_ST || code === BPF_STX) {
      valid |= 1 << k;
    } else if (code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM)) {
      if ((valid & (1 << k)) === 0) {
        return {
          rule: 'mem-uninit',
          pc,
          message: `instruction ${pc}: M[${k}] is read before it is written on some path`,
        };
      }
    } else if (code === (BPF_JMP | BPF_JA)) {
      // A backward jump (loops only) goes to code already scanned: its stores were checked on the way in.
      if ((k | 0) >= 0) masks[pc + 1 + k]! &= valid;
      valid = 0xffff;
    } else if (isCheckedCondJump(code)) {
      masks[pc + 1 + jt]! &= valid;
      masks[pc + 1 + jf]! &= valid;
      valid = 0xffff;
    }
  }
  return undefined;
}
