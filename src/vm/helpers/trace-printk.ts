/**
 * bpf_trace_printk's formatting: the conversions the kernel accepts (%d %i %u %x %X %c %s %p %% with the
 * l/ll length modifiers, flags '-', '+', ' ', '#', '0' and a width), up to `maxArgs` arguments (three for
 * trace_printk, up to 12 from the data array for snprintf and trace_vprintk). Anything else
 * makes the helper return -EINVAL as the kernel's bpf_bprintf_prepare does.
 */
export interface PrintkArg {
  lo: number;
  hi: number;
}

/**
 * The kernel formats bpf_trace_printk into a 1,024-byte buffer (BPF_TRACE_PRINTK_SIZE), NUL included: a
 * longer line is cut at 1,023 characters.
 */
export const PRINTK_MAX_CHARS = 1023;

/**
 * Format `fmt` with raw 64-bit args; `readString(addr)` fetches %s strings. Returns undefined when invalid.
 * The line never exceeds `max` characters (the kernel's buffer, whose output it matches): padding stops
 * where the line is cut, so a hostile `%536870000d` costs no more than a short one.
 */
export function formatPrintk(
  fmt: string,
  args: PrintkArg[],
  readString: (addr: number) => string,
  max = PRINTK_MAX_CHARS,
  maxArgs = 3,
): string | undefined {
  let out = '';
  let argi = 0;
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i]!;
    if (ch !== '%') {
      if (out.length < max) out += ch;
      continue;
    }
    i++;
    if (fmt[i] === '%') {
      out += '%';
      continue;
    }
    let flags = '';
    while (i < fmt.length && '-+ #0'.includes(fmt[i]!)) flags += fmt[i++];
    let width = 0;
    while (i < fmt.length && fmt[i]! >= '0' && fmt[i]! <= '9')
      width = Math.min(width * 10 + Number(fmt[i++]), 0x7fffffff);
    let longs = 0;
    while (fmt[i] === 'l') {
      longs++;
      i++;
    }
    if (longs > 2) return undefined;
    const conv = fmt[i];
    if (conv === undefined) return undefined;
    if (argi >= Math.min(args.length, maxArgs)) return undefined;
    const a = args[argi++]!;
    const big = (BigInt(a.hi >>> 0) << 32n) | BigInt(a.lo >>> 0);
    let s: string;
    switch (conv) {
      case 'd':
      case 'i':
        s = longs ? BigInt.asIntN(64, big).toString() : String(a.lo | 0);
        if (flags.includes('+') && !s.startsWith('-')) s = '+' + s;
        else if (flags.includes(' ') && !s.startsWith('-')) s = ' ' + s;
        break;
      case 'u':
        s = longs ? big.toString() : String(a.lo >>> 0);
        break;
      case 'x':
      case 'X':
        s = longs ? big.toString(16) : (a.lo >>> 0).toString(16);
        if (conv === 'X') s = s.toUpperCase();
        if (flags.includes('#') && s !== '0') s = (conv === 'X' ? '0X' : '0x') + s;
        break;
      case 'c':
        if (longs) return undefined;
        s = String.fromCharCode(a.lo & 0xff);
        break;
      case 's':
        if (longs) return undefined;
        s = readString(a.lo >>> 0);
        break;
      case 'p': {
        // %pK/%px/%pB/%pi4... take a suffix; plain %p prints the address (the kernel hashes it).
        if (longs) return undefined;
        const next = fmt[i + 1];
        if (next === 'K' || next === 'x' || next === 'B') i++;
        s = big.toString(16).padStart(16, '0');
        break;
      }
      default:
        return undefined;
    }
    // Padding past the buffer's end could never show: pad only as far as the line can still go.
    width = Math.min(width, Math.max(0, max - out.length) + s.length);
    if (s.length < width) {
      if (flags.includes('-')) s = s.padEnd(width);
      else if (flags.includes('0') && conv !== 's' && conv !== 'c') {
        const sign = /^[+\- ]/.test(s) ? s[0]! : '';
        s = sign + s.slice(sign.length).padStart(width - sign.length, '0');
      } else s = s.padStart(width);
    }
    out += s;
    if (out.length >= max) out = out.slice(0, max); // (the format's remaining conversions are still validated)
  }
  return out.length > max ? out.slice(0, max) : out;
}
