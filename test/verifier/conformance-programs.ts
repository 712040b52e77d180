/**
 * The shared conformance suite's programs as programs the kernel can load. They expect a memory block in
 * r1 (and its length in r2), which the kernel never hands a program, so each becomes an XDP program whose
 * prologue stores the `-- mem` bytes at the bottom of the stack and points r1 at them — the same setting
 * test/kernel/differential-conformance.test.ts runs them in. Programs without memory get r1 = 0.
 */
import { readFileSync } from 'node:fs';
import { parseConformanceData } from '../../src/conformance/data-file.js';
import { caseProgram, collectDataFiles } from '../../src/conformance/runner.js';
import { assignPcs } from '../../src/isa/codec.js';
import { makeInsn, type Instruction } from '../../src/isa/instruction.js';
import * as op from '../../src/isa/opcodes.js';
import { ProgType } from '../../src/uapi/types.js';
import type { BoundaryProgram } from './boundary-programs.js';

const MEM_AT = -512;

/** Store `mem` at fp-512 eight bytes at a time, then r1 = its address, r2 = its length, r0 = 0. */
function memPrologue(mem: Uint8Array): Instruction[] {
  const words = new Uint8Array(Math.ceil(mem.length / 8) * 8);
  words.set(mem);
  const dv = new DataView(words.buffer);
  const out: Instruction[] = [];
  for (let i = 0; i < words.length; i += 8) {
    out.push(makeInsn({ code: op.OP_LDDW, dst: 0, imm: dv.getInt32(i, true), imm2: dv.getInt32(i + 4, true) }));
    out.push(makeInsn({ code: op.BPF_STX | op.BPF_MEM | op.BPF_DW, dst: 10, src: 0, off: MEM_AT + i }));
  }
  const alu = op.BPF_ALU64 | op.BPF_K;
  if (mem.length > 0) {
    out.push(makeInsn({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst: 1, src: 10 }));
    out.push(makeInsn({ code: alu | op.BPF_ADD, dst: 1, imm: MEM_AT }));
  } else {
    out.push(makeInsn({ code: alu | op.BPF_MOV, dst: 1, imm: 0 }));
  }
  out.push(makeInsn({ code: alu | op.BPF_MOV, dst: 2, imm: mem.length }));
  out.push(makeInsn({ code: alu | op.BPF_MOV, dst: 0, imm: 0 }));
  return out;
}

/** Every conformance case that assembles and fits the stack, as an XDP program (error cases included). */
export function conformancePrograms(dir: string): BoundaryProgram[] {
  const out: BoundaryProgram[] = [];
  for (const file of collectDataFiles([dir])) {
    const c = parseConformanceData(readFileSync(file, 'utf8'), file);
    let body: Instruction[];
    try {
      body = caseProgram(c);
    } catch {
      continue; // cases whose text does not assemble test the assembler, not the verifier
    }
    if (c.mem.length > 256 || body.length === 0) continue;
    const insns = assignPcs([...memPrologue(c.mem), ...body.map((i) => ({ ...i }))]);
    out.push({ name: `conformance:${c.name}`, type: ProgType.XDP, insns, maps: [] });
  }
  return out;
}
