/**
 * Classic BPF programs as text, the way people have them at hand:
 * - tcpdump -ddd: a count line, then one "code jt jf k" line per instruction (decimal);
 * - tc-bpf(8) bytecode: the same numbers on one line, comma-separated: "4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0,";
 * - tcpdump -dd: C initialisers "{ 0x28, 0, 0, 0x0000000c },".
 * The kernel checks the program itself when it is attached; here we only check the shape and ranges.
 */
import { InputError } from '../util/errors.js';

/** One classic BPF instruction (struct sock_filter). */
export interface ClassicInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** BPF_MAXINSNS in linux/bpf_common.h */
export const MAX_CLASSIC_INSNS = 4096;

/** Parse a classic BPF program from tcpdump -ddd, -dd or tc-bpf(8) text. Throws InputError naming `source`. */
export function parseClassicBpf(text: string, source = '--cbpf'): ClassicInsn[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new InputError('empty classic BPF program', source);
  let groups: string[][];
  let counted: boolean;
  if (trimmed.includes('{')) {
    groups = [...trimmed.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!.split(',').map((s) => s.trim()).filter(Boolean));
    counted = false;
  } else {
    groups = trimmed
      .split(/[,\n]/)
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => s.split(/\s+/));
    counted = true;
  }
  let count: number | undefined;
  if (counted) {
    const first = groups.shift()!;
    if (first.length !== 1) throw new InputError(`classic BPF text must start with the instruction count, got '${first.join(' ')}'`, source);
    count = num(first[0]!, source, 'count');
  }
  const insns = groups.map((g, i) => {
    if (g.length !== 4) throw new InputError(`instruction ${i} needs 4 numbers (code jt jf k), got '${g.join(' ')}'`, source);
    const [code, jt, jf, k] = g.map((s) => num(s, source, `instruction ${i}`)) as [number, number, number, number];
    if (code > 0xffff) throw new InputError(`instruction ${i}: code ${code} does not fit 16 bits`, source);
    if (jt > 255 || jf > 255) throw new InputError(`instruction ${i}: jump offsets must fit 8 bits`, source);
    if (k > 0xffffffff) throw new InputError(`instruction ${i}: k ${k} does not fit 32 bits`, source);
    return { code, jt, jf, k };
  });
  if (count !== undefined && count !== insns.length) {
    throw new InputError(`the count says ${count} instructions but ${insns.length} follow`, source);
  }
  if (insns.length === 0 || insns.length > MAX_CLASSIC_INSNS) throw new InputError(`a classic BPF program has 1..${MAX_CLASSIC_INSNS} instructions, got ${insns.length}`, source);
  return insns;
}

function num(s: string, source: string, what: string): number {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(s)) throw new InputError(`${what}: '${s}' is not a number`, source);
  return Number(s);
}
