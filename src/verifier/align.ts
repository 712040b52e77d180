/**
 * BPF_F_STRICT_ALIGNMENT (check_ptr_alignment in strict mode): every load and store of more than one
 * byte must be aligned to its size, whatever the pointer, as on a machine without efficient unaligned
 * access. A packet counts from NET_IP_ALIGN (2: the IP header's alignment after a 14-byte Ethernet
 * header). The stack is always strict (memory.ts), an arena never. Without the flag, on the x86-64 and
 * arm64 kernels bpfkit targets, only the stack and atomic operations are held to it.
 */
import { type Tnum, tadd, tconst, tstr } from './tnum.js';
import type { Reg } from './state.js';

/** check_ptr_alignment's word for each pointer type (reg_type matched exactly: no NULL or other flag). */
const DESC: Partial<Record<Reg['kind'], string>> = {
  map_key: 'key ',
  map_value: 'value ',
  ctx: 'context ',
  flow_keys: 'flow keys ',
  sock: 'sock ',
  sock_common: 'sock_common ',
  tcp_sock: 'tcp_sock ',
};

/** UNUM_MAX_DECIMAL: tnum_strn prints a known value up to this in decimal, above in hex. */
const MAX_DECIMAL = 0xffffn;

/** tnum_strn: a known value as a number, else (value; mask). */
function varOffText(t: Tnum): string {
  if (t.mask !== 0n) return tstr(t);
  return t.value <= MAX_DECIMAL ? String(t.value) : `0x${t.value.toString(16)}`;
}

/**
 * The strict-mode refusal of an access of `size` bytes at `off` (the instruction's offset) through `reg`
 * (not a stack pointer), or undefined when it is aligned.
 */
export function strictAlignmentFault(reg: Reg, off: number, size: number): string | undefined {
  if (size === 1) return undefined;
  const pkt = (reg.kind === 'pkt' || reg.kind === 'pkt_meta') && !reg.nullable;
  const at = tadd(reg.s.t, tconst(BigInt.asUintN(64, BigInt((pkt ? 2 : 0) + reg.off + off))));
  if (((at.value | at.mask) & BigInt(size - 1)) === 0n) return undefined;
  const v = varOffText(reg.s.t);
  if (pkt) return `misaligned packet access off 2+${v}+${reg.off}+${off} size ${size}`;
  const desc = reg.nullable ? '' : (DESC[reg.kind] ?? '');
  return `misaligned ${desc}access off ${v}+${reg.off}+${off} size ${size}`;
}
