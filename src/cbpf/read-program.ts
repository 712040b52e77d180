/**
 * Read a classic program in whichever form it comes, told apart by content: a binary `struct
 * sock_filter[]` (any byte that is not text), C initialisers (tcpdump -dd, bpf_asm -c: braces), numbers
 * only (tcpdump -ddd, tc bytecode and bytecode-file) or anything starting with a number (bpf_asm lines
 * never do, so '1,6 0 0 -1,' gets the numeric parser's error, not an assembler's), else bpf_asm source.
 */
import { InputError } from '../util/errors.js';
import type { SockFilter } from './insn.js';
import { decodeClassic } from './codec.js';
import { parseClassicBpf } from './numeric-text.js';
import { assembleBpfAsm } from './bpf-asm.js';

/** The forms readClassicProgram recognises. */
export type ClassicFormat = 'binary' | 'c' | 'numbers' | 'bpf_asm';

/** Which form `bytes` is in. */
export function detectClassicFormat(bytes: Uint8Array): ClassicFormat {
  for (const b of bytes) if (b === 0 || (b < 0x20 && b !== 9 && b !== 10 && b !== 13) || b > 0x7e) return 'binary';
  const text = new TextDecoder().decode(bytes);
  if (text.includes('{')) return 'c';
  if (/^[\s\d,]*$/.test(text) || /^\s*-?\d/.test(text)) return 'numbers';
  return 'bpf_asm';
}

/**
 * The largest input read as a classic program, in bytes: a million instructions in binary, about as many
 * as text. The kernel takes 4096 (BPF_MAXINSNS) and libpcap's longest filters are some thousands, but a
 * listing of a longer one is still worth printing; past this, a hostile file would only cost memory (each
 * instruction becomes an object and a line).
 */
export const MAX_CLASSIC_INPUT_BYTES = 8_000_000;

/** Parse a program in any recognised form (binary in the host's byte order, little-endian). */
export function readClassicProgram(bytes: Uint8Array, source?: string): { insns: SockFilter[]; format: ClassicFormat } {
  if (bytes.length > MAX_CLASSIC_INPUT_BYTES)
    throw new InputError(
      `${bytes.length} bytes: longer than any classic BPF program bpfkit reads (${MAX_CLASSIC_INPUT_BYTES} bytes; the kernel takes 4096 instructions)`,
      source,
    );
  const format = detectClassicFormat(bytes);
  if (format === 'binary') {
    const insns = decodeClassic(bytes, 'little', source);
    if (insns.length === 0) throw new InputError('empty classic BPF program', source);
    return { insns, format };
  }
  const text = new TextDecoder().decode(bytes);
  if (format === 'bpf_asm') return { insns: assembleBpfAsm(text, source), format };
  return { insns: parseClassicBpf(text, source), format };
}
