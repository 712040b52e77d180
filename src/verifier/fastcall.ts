/**
 * bpf_fastcall (the kernel's mark_fastcall_patterns, check_fastcall_stack_contract and
 * remove_fastcall_spills_fills): around a call of a helper the JIT inlines without touching r1-r5
 * (bpf_get_smp_processor_id), clang saves the registers the call would otherwise clobber in stack slots
 * just below everything else, and restores them right after. When every access to those slots comes
 * from such spill/fill pairs, the kernel removes the pairs after verification, and with them the slots:
 * the subprogram's stack, as check_max_stack_depth counts it, ends above them.
 */
import type { Instruction } from '../isa/instruction.js';
import type { Cfg } from './cfg.js';
import { helperAllowed, helperProto } from './helpers.js';

/** Helpers the kernel marks allow_fastcall and inlines (x86-64 and arm64 JITs): bpf_get_smp_processor_id. */
const INLINED = new Set([8]);
const STX_DW_MEM = 0x7b;
const LDX_DW_MEM = 0x79;
const CALL = 0x85;
/** S16_MIN: a subprogram whose fastcall slots something else touched keeps its whole stack. */
const DISABLED = -32768;

/** What the patterns are, per program; `touched` follows the walk's stack accesses. */
export interface Fastcall {
  /** Slots of the spill and fill instructions of every pattern. */
  readonly pattern: Set<number>;
  /** Per subprogram (first slot): where its fastcall slots end (their highest offset, <= 0). */
  readonly stackOff: Map<number, number>;
  /** Subprograms with a pattern around a call the kernel does not inline: their spills stay. */
  readonly keep: Set<number>;
  /** Subprograms with a pattern around an inlined call: the pairs (and slots) go. */
  readonly inlined: Set<number>;
}

/**
 * mark_fastcall_patterns: for each subprogram, from the lowest offset any 64-bit store through r10 uses,
 * the pairs `*(u64 *)(r10 + off) = rX` just before a helper call and `rX = *(u64 *)(r10 + off)` just
 * after it, one per register the call leaves alone, at successive offsets. Undefined when none.
 */
export function fastcallPatterns(insns: readonly Instruction[], cfg: Cfg, progType: number): Fastcall | undefined {
  const out: Fastcall = { pattern: new Set(), stackOff: new Map(), keep: new Set(), inlined: new Set() };
  const at = (pc: number): Instruction | undefined => {
    const i = pc >= 0 && pc < cfg.slots ? cfg.index[pc]! : -1;
    return i >= 0 ? insns[i] : undefined;
  };
  // check_cfg's jump targets (a jump's, a local call's or a callback reference's): a pattern does not
  // grow past one, since its spills and fills would not run as a unit.
  const target = new Uint8Array(cfg.slots + 1);
  for (const insn of insns) {
    const cls = insn.code & 7;
    const op = insn.code & 0xf0;
    if ((cls === 5 || cls === 6) && op !== 0x80 && op !== 0x90) {
      // JMP32's gotol takes its offset from imm.
      const off = cls === 6 && op === 0x00 ? insn.imm : insn.off;
      const to = insn.pc + off + 1;
      if (to >= 0 && to <= cfg.slots) target[to] = 1;
    } else if (cls === 5 && op === 0x80 && insn.src === 1) {
      const to = insn.pc + insn.imm + 1;
      if (to >= 0 && to <= cfg.slots) target[to] = 1;
    } else if (insn.code === 0x18 && insn.src === 4) {
      const to = insn.pc + insn.imm + 1;
      if (to >= 0 && to <= cfg.slots) target[to] = 1;
    }
  }
  for (let s = 0; s < cfg.subprogs.length; s++) {
    const start = cfg.subprogs[s]!;
    const end = s + 1 < cfg.subprogs.length ? cfg.subprogs[s + 1]! : cfg.slots;
    let lowest = 0;
    for (let pc = start; pc < end; pc++) {
      const insn = at(pc);
      if (insn && insn.code === STX_DW_MEM && insn.dst === 10) lowest = Math.min(lowest, insn.off);
    }
    for (let pc = start; pc < end; pc++) {
      const call = at(pc);
      if (!call || call.code !== CALL || call.src !== 0) continue;
      // get_call_summary: a helper the program type has (others are refused later, if reached).
      const proto = helperProto(call.imm, progType);
      if (!proto || !helperAllowed(proto, progType)) continue;
      // The registers the call clobbers: r0 unless void, r1..rN for its N arguments.
      const clobbered = ((1 << (proto.args.length + 1)) - 1) & ~(proto.ret === 'void' ? 1 : 0);
      let expected = ~clobbered & 0x3f;
      let i = 1;
      let off = lowest;
      for (; i <= 6; i++, off += 8) {
        if (pc - i < 0 || pc + i >= cfg.slots) break;
        if (target[pc - i + 1] || target[pc + i]) break;
        const stx = at(pc - i);
        const ldx = at(pc + i);
        if (!stx || !ldx || stx.code !== STX_DW_MEM || ldx.code !== LDX_DW_MEM || stx.dst !== 10 || ldx.src !== 10)
          break;
        if (stx.src !== ldx.dst || ((1 << stx.src) & expected) === 0) break;
        if (stx.off !== off || ldx.off !== off) break;
        expected &= ~(1 << stx.src);
        out.pattern.add(pc - i);
        out.pattern.add(pc + i);
      }
      if (i === 1) continue;
      if (INLINED.has(call.imm)) out.inlined.add(start);
      else out.keep.add(start);
      out.stackOff.set(start, Math.min(out.stackOff.get(start) ?? 0, off));
    }
  }
  return out.pattern.size ? out : undefined;
}

/**
 * check_fastcall_stack_contract: an access at `off` (the lowest byte it touches) to the stack of
 * `subprog` from the instruction at `pc`. One below the fastcall slots' end from anything but a
 * pattern's spill or fill keeps the subprogram's spills (and its whole stack).
 */
export function fastcallAccess(fc: Fastcall, subprog: number, off: number, pc: number): void {
  const end = fc.stackOff.get(subprog) ?? 0;
  if (end <= off || fc.pattern.has(pc) || end === DISABLED) return;
  fc.stackOff.set(subprog, DISABLED);
}

/**
 * remove_fastcall_spills_fills: the stack depth check_max_stack_depth counts for `subprog`, given the
 * deepest access the walk saw.
 */
export function fastcallDepth(fc: Fastcall | undefined, subprog: number, depth: number): number {
  if (!fc || !fc.inlined.has(subprog) || fc.keep.has(subprog)) return depth;
  const end = fc.stackOff.get(subprog) ?? 0;
  return end === DISABLED ? depth : -end;
}
