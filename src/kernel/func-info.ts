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
import { BPF_FUNC_INFO, BPF_LINE_INFO, BTF_HEADER, setU16, setU32, setU8 } from './abi/index.js';
import type { FuncInfoSpec, LineInfoSpec } from '../elf/spec.js';

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
  const hdrLen = BTF_HEADER.size;
  const btf = new Uint8Array(hdrLen + typeLen + strLen);
  const v = new DataView(btf.buffer);
  const h = BTF_HEADER.fields;
  setU16(v, h.magic, 0xeb9f);
  setU8(v, h.version, 1);
  setU32(v, h.hdr_len, hdrLen);
  setU32(v, h.type_off, 0); // offsets count from the end of the header
  setU32(v, h.type_len, typeLen);
  setU32(v, h.str_off, typeLen);
  setU32(v, h.str_len, strLen);
  types.forEach((w, i) => v.setUint32(hdrLen + i * 4, w >>> 0, true));
  btf.set(strings, hdrLen + typeLen);
  const rec = BPF_FUNC_INFO.size;
  const funcInfo = new Uint8Array(starts.length * rec);
  const fv = new DataView(funcInfo.buffer);
  starts.forEach((s, i) => {
    setU32(fv, BPF_FUNC_INFO.fields.insn_off, s, i * rec);
    setU32(fv, BPF_FUNC_INFO.fields.type_id, 3 + i, i * rec);
  });
  return { btf, funcInfo };
}

/**
 * The object's own `.BTF.ext` records of a linked program (src/elf placed them at the program's slots),
 * encoded for BPF_PROG_LOAD against the object's BTF: func_info then line_info, host byte order.
 */
export function encodeBtfExtInfo(
  funcInfo: readonly FuncInfoSpec[],
  lineInfo: readonly LineInfoSpec[] = [],
): { funcInfo: Uint8Array; lineInfo: Uint8Array } {
  const f = new Uint8Array(funcInfo.length * BPF_FUNC_INFO.size);
  const fv = new DataView(f.buffer);
  funcInfo.forEach((r, i) => {
    setU32(fv, BPF_FUNC_INFO.fields.insn_off, r.pc, i * BPF_FUNC_INFO.size);
    setU32(fv, BPF_FUNC_INFO.fields.type_id, r.typeId, i * BPF_FUNC_INFO.size);
  });
  const l = new Uint8Array(lineInfo.length * BPF_LINE_INFO.size);
  const lv = new DataView(l.buffer);
  const F = BPF_LINE_INFO.fields;
  lineInfo.forEach((r, i) => {
    const at = i * BPF_LINE_INFO.size;
    setU32(lv, F.insn_off, r.pc, at);
    setU32(lv, F.file_name_off, r.fileNameOff, at);
    setU32(lv, F.line_off, r.lineOff, at);
    setU32(lv, F.line_col, r.lineCol, at);
  });
  return { funcInfo: f, lineInfo: l };
}
