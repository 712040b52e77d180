/**
 * Classic BPF programs as numbers in text, the way people have them at hand, and back:
 * - tcpdump -ddd: a count line, then one "code jt jf k" line per instruction (decimal);
 * - tc-bpf(8) `bytecode` (and `bytecode-file`): the same numbers comma-separated, as bpf_asm prints them:
 *   "4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0,";
 * - tcpdump -dd and bpf_asm -c: C initialisers "{ 0x28, 0, 0, 0x0000000c },".
 * Parsing checks shape and field ranges only; whether the kernel would run the program is checkClassic's job.
 */
import { InputError } from '../util/errors.js';
import { BPF_MAXINSNS, type SockFilter } from './insn.js';

/** The former name of SockFilter, kept for the capture code's users. */
export type ClassicInsn = SockFilter;

/** BPF_MAXINSNS in linux/bpf_common.h (also exported as BPF_MAXINSNS). */
export const MAX_CLASSIC_INSNS = BPF_MAXINSNS;

/**
 * Parse any of the numeric forms above (picked by content: braces mean C initialisers, else a count then
 * groups split by commas or newlines). Throws InputError naming the instruction index.
 */
export function parseClassicBpf(text: string, source = '--cbpf'): SockFilter[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new InputError('empty classic BPF program', source);
  let groups: string[][];
  let counted: boolean;
  if (trimmed.includes('{')) {
    groups = [...trimmed.matchAll(/\{([^}]*)\}/g)].map((m) =>
      m[1]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
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
    if (first.length !== 1)
      throw new InputError(`classic BPF text must start with the instruction count, got '${first.join(' ')}'`, source);
    count = num(first[0]!, source, 'count');
  }
  const insns = groups.map((g, i) => {
    if (g.length !== 4)
      throw new InputError(`instruction ${i} needs 4 numbers (code jt jf k), got '${g.join(' ')}'`, source);
    const [code, jt, jf, k] = g.map((s) => num(s, source, `instruction ${i}`)) as [number, number, number, number];
    if (code > 0xffff) throw new InputError(`instruction ${i}: code ${code} does not fit 16 bits`, source);
    if (jt > 255 || jf > 255) throw new InputError(`instruction ${i}: jump offsets must fit 8 bits`, source);
    if (k > 0xffffffff) throw new InputError(`instruction ${i}: k ${k} does not fit 32 bits`, source);
    return { code, jt, jf, k };
  });
  if (count !== undefined && count !== insns.length) {
    throw new InputError(`the count says ${count} instructions but ${insns.length} follow`, source);
  }
  if (insns.length === 0 || insns.length > MAX_CLASSIC_INSNS)
    throw new InputError(`a classic BPF program has 1..${MAX_CLASSIC_INSNS} instructions, got ${insns.length}`, source);
  return insns;
}

function num(s: string, source: string, what: string): number {
  if (/^-\d/.test(s)) throw new InputError(`${what}: '${s}' is negative (the fields are unsigned)`, source);
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(s)) throw new InputError(`${what}: '${s}' is not a number`, source);
  return Number(s);
}

/** tc's `bytecode` string, as bpf_asm prints it by default: "N,c t f k,c t f k," (no newline). */
export function formatBytecode(insns: readonly SockFilter[]): string {
  return `${insns.length},${insns.map((i) => `${i.code} ${i.jt} ${i.jf} ${i.k >>> 0},`).join('')}`;
}

/** tcpdump -ddd: the count, then "code jt jf k" per line, each line ending in a newline. */
export function formatDdd(insns: readonly SockFilter[]): string {
  return `${insns.length}\n${insns.map((i) => `${i.code} ${i.jt} ${i.jf} ${i.k >>> 0}\n`).join('')}`;
}

/** tcpdump -dd: libpcap's "{ 0x%x, %d, %d, 0x%08x }," lines. */
export function formatDd(insns: readonly SockFilter[]): string {
  return insns.map((i) => `{ 0x${i.code.toString(16)}, ${i.jt}, ${i.jf}, 0x${hex(i.k, 8)} },\n`).join('');
}

/** bpf_asm -c: "{ %#04x, %2u, %2u, %#010x }," lines (C's '#' flag prints no 0x before a zero). */
export function formatBpfAsmC(insns: readonly SockFilter[]): string {
  return insns.map((i) => `{ ${altHex(i.code, 4)}, ${pad(i.jt)}, ${pad(i.jf)}, ${altHex(i.k >>> 0, 10)} },\n`).join('');
}

function hex(v: number, width: number): string {
  return (v >>> 0).toString(16).padStart(width, '0');
}

/** printf("%#0Nx"): "0x" then digits zero-padded to N characters in all; a zero is just N zeros. */
function altHex(v: number, width: number): string {
  return v === 0 ? '0'.repeat(width) : `0x${v.toString(16).padStart(width - 2, '0')}`;
}

function pad(v: number): string {
  return String(v).padStart(2, ' ');
}
