/**
 * A tiny instruction builder for kernel tests (the project's assembler is someone else's module; these
 * tests must not depend on it). Each function returns one Instruction; `prog()` assigns pcs.
 */
import { type Instruction, makeInsn } from '../../../src/isa/instruction.js';
import { assignPcs } from '../../../src/isa/codec.js';
import * as op from '../../../src/isa/opcodes.js';

export const mov64Imm = (dst: number, imm: number) =>
  makeInsn({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst, imm });
export const mov64Reg = (dst: number, src: number) =>
  makeInsn({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst, src });
export const alu64Imm = (o: number, dst: number, imm: number) =>
  makeInsn({ code: op.BPF_ALU64 | o | op.BPF_K, dst, imm });
export const alu64Reg = (o: number, dst: number, src: number) =>
  makeInsn({ code: op.BPF_ALU64 | o | op.BPF_X, dst, src });
export const ldx = (size: number, dst: number, src: number, off: number) =>
  makeInsn({ code: op.BPF_LDX | op.BPF_MEM | size, dst, src, off });
export const stx = (size: number, dst: number, src: number, off: number) =>
  makeInsn({ code: op.BPF_STX | op.BPF_MEM | size, dst, src, off });
export const st = (size: number, dst: number, off: number, imm: number) =>
  makeInsn({ code: op.BPF_ST | op.BPF_MEM | size, dst, off, imm });
export const jmpImm = (o: number, dst: number, imm: number, off: number) =>
  makeInsn({ code: op.BPF_JMP | o | op.BPF_K, dst, imm, off });
export const jmpReg = (o: number, dst: number, src: number, off: number) =>
  makeInsn({ code: op.BPF_JMP | o | op.BPF_X, dst, src, off });
export const ja = (off: number) => makeInsn({ code: op.BPF_JMP | op.BPF_JA, off });
export const call = (helper: number) => makeInsn({ code: op.BPF_JMP | op.BPF_CALL, imm: helper });
export const exit = () => makeInsn({ code: op.BPF_JMP | op.BPF_EXIT });
/** lddw dst, imm64 (as two 32-bit halves); for map references the collection patches src/imm. */
export const lddw = (dst: number, lo: number, hi = 0) => makeInsn({ code: op.OP_LDDW, dst, imm: lo, imm2: hi });
export const ldAbs = (size: number, imm: number) => makeInsn({ code: op.BPF_LD | op.BPF_ABS | size, imm });

/** A jump whose target is a label (resolved by prog()). */
export type Item = Instruction | { label: string };
const targets = new WeakMap<Instruction, string>();
export function to<T extends Instruction>(insn: T, label: string): T {
  targets.set(insn, label);
  return insn;
}
export const label = (name: string) => ({ label: name });

/** Assign pcs and resolve label targets (jump offsets count slots, so lddw counts twice). */
export function prog(...items: Item[]): Instruction[] {
  const insns: Instruction[] = [];
  const labels = new Map<string, number>();
  for (const it of items) {
    if ('label' in it) labels.set(it.label, insns.length);
    else insns.push(it);
  }
  assignPcs(insns);
  const slotOf = (idx: number) => (idx < insns.length ? insns[idx]!.pc : insns[insns.length - 1]!.pc + 1);
  for (const i of insns) {
    const l = targets.get(i);
    if (l === undefined) continue;
    const idx = labels.get(l);
    if (idx === undefined) throw new Error(`no label ${l}`);
    const off = slotOf(idx) - i.pc - 1;
    if (i.code === (op.BPF_JMP | op.BPF_CALL)) i.imm = off;
    else i.off = off;
  }
  return insns;
}

/** Slot index of the n-th instruction (what MapReference.pc wants). */
export function pcOf(insns: Instruction[], index: number): number {
  return insns[index]!.pc;
}

export const atomicAdd64 = (dst: number, src: number, off: number) =>
  makeInsn({ code: op.BPF_STX | op.BPF_ATOMIC | op.BPF_DW, dst, src, off, imm: op.BPF_ADD });

export const Helper = {
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  tail_call: 12,
  xdp_adjust_head: 44,
} as const;
export { op };
