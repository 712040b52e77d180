/**
 * bpf_snprintf's format, read at load time (check_bpf_snprintf_call): the verifier runs the kernel's
 * printf-format parser (bpf_bprintf_prepare) over the constant string with as many arguments as the data
 * length gives, and refuses the call with "Invalid format string" when the parser would refuse it at run
 * time. The rules, as the parser has them: no ASCII control byte but white space, one argument per
 * conversion (`%%` takes none), an optional `[0 +-]` flag run and width, then `%p` (alone before white
 * space, punctuation or the end; `%pK`, `%px`, `%ps`, `%pS`, `%pB`; `%pks`/`%pus`, `%s` before white space,
 * punctuation or the end; `%pi4`, `%pI4`, `%pi6`, `%pI6`), `%c`, or `%d`, `%i`, `%u`, `%x`, `%X` after up
 * to two `l`s.
 */
import { Rejection } from './reject.js';
import type { Reg } from './state.js';

/** The kernel's ctype classes for the bytes a format may hold (Latin-1 above 0x7f, as lib/ctype.c). */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0;
}
function isPunct(c: number): boolean {
  return (
    (c >= 0x21 && c <= 0x2f) ||
    (c >= 0x3a && c <= 0x40) ||
    (c >= 0x5b && c <= 0x60) ||
    (c >= 0x7b && c <= 0x7e) ||
    (c >= 0xa1 && c <= 0xbf) ||
    c === 0xd7 ||
    c === 0xf7
  );
}
const isPrint = (c: number): boolean => c >= 0x20 && c <= 0x7e;
const isAscii = (c: number): boolean => c <= 0x7f;
/** What may follow `%p`, `%s` or `%pks` for it to be that conversion alone: the end, white space, punctuation. */
const ends = (c: number): boolean => c === 0 || isSpace(c) || isPunct(c);

/**
 * Whether bpf_bprintf_prepare accepts `fmt` (the bytes up to its NUL, which must be there) with `numArgs`
 * arguments.
 */
export function bprintfFormatOk(fmt: Uint8Array, numArgs: number): boolean {
  const end = fmt.indexOf(0);
  if (end < 0) return false;
  // Reads past the string see its terminating zero, as the kernel's do.
  const at = (i: number): number => (i < end ? fmt[i]! : 0);
  let spec = 0;
  for (let i = 0; i < end; i++) {
    let c = at(i);
    if (isAscii(c) && !isPrint(c) && !isSpace(c)) return false;
    if (c !== 0x25) continue;
    if (at(i + 1) === 0x25) {
      i++;
      continue;
    }
    if (spec >= numArgs) return false;
    i++;
    c = at(i);
    if (!isAscii(c)) return false;
    // Flags and width.
    while (at(i) === 0x30 || at(i) === 0x2b || at(i) === 0x2d || at(i) === 0x20) i++;
    if (at(i) >= 0x31 && at(i) <= 0x39) {
      i++;
      while (at(i) >= 0x30 && at(i) <= 0x39) i++;
    }
    const ch = String.fromCharCode(at(i));
    if (ch === 'p') {
      const next = String.fromCharCode(at(i + 1));
      if (ends(at(i + 1))) {
        // plain %p
      } else if ((next === 'k' || next === 'u') && at(i + 2) === 0x73) {
        i += 2;
        if (!ends(at(i + 1))) return false;
      } else if (next === 'K' || next === 'x' || next === 's' || next === 'S' || next === 'B') {
        i++;
      } else if ((next === 'i' || next === 'I') && (at(i + 2) === 0x34 || at(i + 2) === 0x36)) {
        i += 2;
      } else return false;
    } else if (ch === 's') {
      if (!ends(at(i + 1))) return false;
    } else if (ch !== 'c') {
      if (at(i) === 0x6c) i++;
      if (at(i) === 0x6c) i++;
      if (!'iduxX'.includes(String.fromCharCode(at(i)))) return false;
    }
    spec++;
  }
  return true;
}

/**
 * check_bpf_snprintf_call on bpf_snprintf's format (R3, a constant string const-str.ts has checked) and
 * data length (R5): the length must be a multiple of 8 (the kernel refuses without a word, so its log
 * ends at the call instruction), then the format must parse with length / 8 arguments.
 */
export function snprintfFormat(pc: number, fmt: Reg, dataLen: Reg): void {
  const len = dataLen.s.t.value;
  if (len % 8n !== 0n) throw new Rejection(pc, `${pc}: (85) call bpf_snprintf#165`);
  const start = fmt.off + Number(fmt.s.t.value);
  const numArgs = len / 8n > 0xffffffffn ? 0xffffffff : Number(len / 8n);
  if (!bprintfFormatOk(fmt.map!.frozenValue!.subarray(start), numArgs))
    throw new Rejection(pc, 'Invalid format string');
}
