/**
 * Programs that pass a callback to a helper (bpf_loop, bpf_for_each_map_elem, timers) take its address
 * with a BPF_PSEUDO_FUNC lddw, and the verifier then insists on BTF func_info ("missing btf func_info").
 * The object's own .BTF.ext would do, but its offsets refer to ELF sections, not to our linked program;
 * instead we describe the linked program's functions with a tiny BTF of our own: one `int (void)`
 * prototype and one static FUNC per subprogram. The verifier only checks that func_info lists exactly
 * its subprogram starts and that each names a FUNC; static functions' signatures are not checked.
 */
import type { Instruction } from '../isa/instruction.js';
import { BPF_CALL, BPF_JMP, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, OP_LDDW } from '../isa/opcodes.js';

/** Slot indexes where subprograms start, as the verifier finds them (0, call targets, callback targets). */
export function subprogramStarts(insns: readonly Instruction[]): number[] {
  const starts = new Set<number>([0]);
  for (const i of insns) {
    if (i.code === (BPF_JMP | BPF_CALL) && i.src === BPF_PSEUDO_CALL) starts.add(i.pc + i.imm + 1);
    if (i.code === OP_LDDW && i.src === BPF_PSEUDO_FUNC) starts.add(i.pc + i.imm + 1);
  }
  return [...starts].sort((a, b) => a - b);
}

export function needsFuncInfo(insns: readonly Instruction[]): boolean {
  return insns.some((i) => i.code === OP_LDDW && i.src === BPF_PSEUDO_FUNC);
}

const BTF_KIND_INT = 1;
const BTF_KIND_FUNC = 12;
const BTF_KIND_FUNC_PROTO = 13;

/**
 * Raw BTF (host byte order) with types [1] int, [2] int(void), [3..] FUNC f<start> for each start, and
 * the func_info records (insn_off, type_id) pointing at them.
 */
export function synthesizeFuncBtf(starts: number[]): { btf: Uint8Array; funcInfo: Uint8Array } {
  const strings: number[] = [0];
  const addString = (s: string) => {
    const off = strings.length;
    for (const ch of s) strings.push(ch.charCodeAt(0));
    strings.push(0);
    return off;
  };
  const types: number[] = [];
  // [1] int: INT, size 4, encoding signed (1 << 24) | bits 32
  types.push(addString('int'), BTF_KIND_INT << 24, 4, (1 << 24) | 32);
  // [2] int (void)
  types.push(0, BTF_KIND_FUNC_PROTO << 24, 1);
  // [3 + n] static FUNC f<start> (linkage 0 in vlen)
  for (const s of starts) types.push(addString(`f${s}`), BTF_KIND_FUNC << 24, 2);
  const typeLen = types.length * 4;
  const strLen = strings.length;
  const btf = new Uint8Array(24 + typeLen + strLen);
  const v = new DataView(btf.buffer);
  v.setUint16(0, 0xeb9f, true);
  v.setUint8(2, 1); // version
  v.setUint32(4, 24, true); // hdr_len
  v.setUint32(8, 0, true); // type_off
  v.setUint32(12, typeLen, true);
  v.setUint32(16, typeLen, true); // str_off
  v.setUint32(20, strLen, true);
  types.forEach((w, i) => v.setUint32(24 + i * 4, w >>> 0, true));
  btf.set(strings, 24 + typeLen);
  const funcInfo = new Uint8Array(starts.length * 8);
  const fv = new DataView(funcInfo.buffer);
  starts.forEach((s, i) => {
    fv.setUint32(i * 8, s, true);
    fv.setUint32(i * 8 + 4, 3 + i, true);
  });
  return { btf, funcInfo };
}
