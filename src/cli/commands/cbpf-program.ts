/**
 * What the `bpfkit cbpf` commands and the debugger shell share: reading a program given as a file, `-`
 * or the text itself, and where a capture's network header starts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { InputError } from '../../util/errors.js';
import { readClassicProgram, type SockFilter } from '../../cbpf/index.js';
import { LINKTYPE } from '../../packet/index.js';

/** Read a program: a file in any form, '-' for stdin, or the program text itself. */
export function readProgramArg(arg: string): { insns: SockFilter[]; source: string } {
  let bytes: Uint8Array;
  let source: string;
  if (arg === '-') {
    bytes = readFileSync(0);
    source = '<stdin>';
  } else if (existsSync(arg)) {
    try {
      bytes = readFileSync(arg);
    } catch (err) {
      throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, arg);
    }
    source = arg;
  } else {
    if (!/[\s,#[]/.test(arg)) throw new InputError('no such file (and not program text)', arg);
    bytes = new TextEncoder().encode(arg);
    source = '<program>';
  }
  return { insns: readClassicProgram(bytes, source).insns, source };
}

/** Where the network header starts for a capture's link type (for SKF_NET_OFF loads). */
export function netOffsetOf(linktype: number): number {
  if (linktype === LINKTYPE.LINUX_SLL) return 16;
  if (linktype === LINKTYPE.LINUX_SLL2) return 20;
  if (linktype === LINKTYPE.RAW) return 0;
  return 14;
}
