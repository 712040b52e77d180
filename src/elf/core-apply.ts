/**
 * CO-RE: rewrite each program's relocated instructions for a target BTF, as libbpf's bpf_core_patch_insn
 * does. The values come from src/btf/core (pure lookups in two BTFs); this file only patches:
 *   - ALU/ALU64 with an immediate: imm = value;
 *   - loads and stores: off = value (at most 32767), and the access width follows the field's when it
 *     changes between unsigned ints, pointers or unsigned enums (any other change poisons);
 *   - lddw: the 64-bit immediate = value.
 * The compiler's value is checked first (a mismatch means the record does not describe the instruction).
 * A relocation with no match in the target poisons its instruction: a call to helper 0xbad2310, which the
 * verifier (and the VM) reject only if the program reaches it — guarded code stays loadable.
 *
 * The result is a new ObjectSpec whose programs carry `coreResults` instead of `coreRelos`, so an engine
 * can tell a relocated spec from one nobody relocated (validateSpec refuses the latter).
 */
import { InputError } from '../util/errors.js';
import { parseBtf, type Btf } from '../btf/btf.js';
import { CoreRelocationError, resolveCoreRelocation } from '../btf/core/resolve.js';
import { coreReloKindName } from '../btf/core/kinds.js';
import type { Instruction } from '../isa/instruction.js';
import { lddwValue, splitLddw } from '../isa/instruction.js';
import {
  BPF_ALU,
  BPF_ALU64,
  BPF_B,
  BPF_CALL,
  BPF_DW,
  BPF_H,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_ST,
  BPF_STX,
  BPF_W,
  OP_LDDW,
} from '../isa/opcodes.js';
import type { CoreResultSpec, ObjectSpec, ProgramSpec } from './spec.js';

import { CORE_POISON_HELPER } from './core-poison.js';

export { CORE_POISON_HELPER };

/** Whether any program of the spec still has CO-RE relocations to apply. */
export const hasCoreRelocations = (spec: ObjectSpec): boolean =>
  spec.programs.some((p) => (p.coreRelos?.length ?? 0) > 0);

const SIZE_BYTES: Record<number, number> = { [BPF_B]: 1, [BPF_H]: 2, [BPF_W]: 4, [BPF_DW]: 8 };
const BYTES_SIZE: Record<number, number> = { 1: BPF_B, 2: BPF_H, 4: BPF_W, 8: BPF_DW };

/**
 * Apply every program's CO-RE relocations against `target` (a kernel's or a user's BTF). Returns a new
 * spec; the input is not modified. Throws InputError (one line: object, program, pc, relocation) for
 * what libbpf refuses: ambiguity, an access string that does not fit its type, an instruction that does
 * not hold the value the compiler recorded.
 */
export function applyCoreRelocations(spec: ObjectSpec, target: Btf): ObjectSpec {
  if (!hasCoreRelocations(spec)) return spec;
  const source = spec.path ?? 'object';
  if (!spec.btf) throw new InputError(`has CO-RE relocations but no '.BTF' section`, source);
  const local = parseBtf(spec.btf, `${source}: section '.BTF'`);
  return { ...spec, programs: spec.programs.map((p) => relocateProgram(p, local, target, spec.endian, source)) };
}

function relocateProgram(
  p: ProgramSpec,
  local: Btf,
  target: Btf,
  endian: 'little' | 'big',
  source: string,
): ProgramSpec {
  if (!p.coreRelos || p.coreRelos.length === 0) return p;
  const insns = p.insns.map((i) => ({ ...i }));
  const byPc = new Map<number, number>();
  insns.forEach((insn, i) => byPc.set(insn.pc, i));
  const poisoned = new Set<number>();
  const results: CoreResultSpec[] = [];
  p.coreRelos.forEach((relo, n) => {
    const where = `${source}: program '${p.name}' pc ${relo.pc} (CO-RE relocation #${n}: ${coreReloKindName(relo.kind)} [${relo.typeId}] "${relo.access}")`;
    const index = byPc.get(relo.pc);
    if (index === undefined) throw new InputError(`relocation is not at the start of an instruction`, where);
    let r;
    try {
      r = resolveCoreRelocation(local, target, relo, endian);
    } catch (err) {
      if (err instanceof CoreRelocationError) throw new InputError(err.message, where);
      throw err;
    }
    const insn = insns[index]!;
    let poison = r.poison;
    if (!poison) poison = patch(insn, r, where);
    if (poison) poisoned.add(index);
    results.push({
      ...relo,
      localValue: r.localValue,
      targetValue: r.targetValue,
      poisoned: poison,
      description:
        poison && !r.poison ? `${r.description}; load width cannot change, instruction poisoned` : r.description,
    });
  });
  // Poisoned lddws become two calls (libbpf poisons both halves so the verifier never sees "unknown opcode 00").
  const out: Instruction[] = [];
  insns.forEach((insn, i) => {
    if (!poisoned.has(i)) return void out.push(insn);
    const call = { pc: insn.pc, code: BPF_JMP | BPF_CALL, dst: 0, src: 0, off: 0, imm: CORE_POISON_HELPER, imm2: 0 };
    out.push(call);
    if (insn.code === OP_LDDW) out.push({ ...call, pc: insn.pc + 1 });
  });
  const { coreRelos: _, ...rest } = p;
  return { ...rest, insns: out, coreResults: results };
}

/** Patch one instruction with a resolved value; returns true when it must be poisoned instead. */
function patch(insn: Instruction, r: ReturnType<typeof resolveCoreRelocation>, where: string): boolean {
  const cls = insn.code & 0x07;
  const mismatch = (got: number | bigint) =>
    new InputError(`instruction holds ${got}, but the compiler recorded ${r.localValue} for this relocation`, where);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      if ((insn.code & 0x08) !== BPF_K)
        throw new InputError(`relocated ALU instruction uses a register, not an immediate`, where);
      if (r.validate && insn.imm >>> 0 !== r.localValue >>> 0) throw mismatch(insn.imm);
      insn.imm = r.targetValue | 0;
      return false;
    }
    case BPF_LDX:
    case BPF_ST:
    case BPF_STX: {
      if (r.validate && insn.off !== r.localValue) throw mismatch(insn.off);
      if (r.targetValue > 0x7fff)
        throw new InputError(`field offset ${r.targetValue} does not fit a load/store offset (at most 32767)`, where);
      if (r.failMemSizeAdjust) return true;
      insn.off = r.targetValue;
      if (r.localSize !== r.targetSize) {
        const bytes = SIZE_BYTES[insn.code & 0x18]!;
        if (bytes !== r.localSize)
          throw new InputError(`access is ${bytes} bytes wide, the field ${r.localSize}`, where);
        const size = BYTES_SIZE[r.targetSize];
        if (size === undefined)
          throw new InputError(`field is ${r.targetSize} bytes in the target, no load has that width`, where);
        insn.code = (insn.code & ~0x18) | size;
      }
      return false;
    }
    case BPF_LD: {
      if (insn.code !== OP_LDDW || insn.src !== 0 || insn.off !== 0)
        throw new InputError(`relocated instruction is a BPF_LD but not a plain lddw`, where);
      const got = lddwValue(insn);
      if (r.validate && got !== BigInt.asUintN(64, BigInt(r.localValue))) throw mismatch(got);
      const { imm, imm2 } = splitLddw(BigInt(r.targetValue));
      insn.imm = imm;
      insn.imm2 = imm2;
      return false;
    }
    default:
      throw new InputError(`instruction with opcode 0x${insn.code.toString(16)} cannot be relocated`, where);
  }
}
