/**
 * The printf helpers that take their arguments as an array of u64: bpf_snprintf (165) and
 * bpf_trace_vprintk (177). Formatting is trace_printk's (trace-printk.ts) with up to 12 arguments
 * (MAX_BPF_FUNC_VARARGS); a data length that is not a multiple of 8, more than 12 arguments, or a format
 * the kernel refuses is -EINVAL, as in bpf_bprintf_prepare.
 */
import type { HelperCall } from '../helper-abi.js';
import type { RunContext } from '../contexts/run-context.js';
import { E } from '../maps/base.js';
import { PRINTK_MAX_CHARS, formatPrintk, type PrintkArg } from './trace-printk.js';

const MAX_VARARGS = 12;
/** snprintf's result counts the whole line even past str_size; the VM formats at most this much of it. */
const SNPRINTF_MAX = 1 << 16;
const decoder = new TextDecoder('latin1');
const encoder = new TextEncoder();

/** The u64 argument array (pointer argument `i`, byte length argument `i + 1`), or undefined when -EINVAL. */
function varargs(call: HelperCall, i: number): PrintkArg[] | undefined {
  const len = call.argNumber(i + 1);
  if (len % 8 !== 0 || len / 8 > MAX_VARARGS) return undefined;
  if (len === 0) return [];
  const v = call.memory.view(call.argPtr(i), len, false, call.pc);
  const dv = new DataView(v.bytes.buffer, v.bytes.byteOffset + v.offset, len);
  const out: PrintkArg[] = [];
  for (let o = 0; o < len; o += 8) out.push({ lo: dv.getInt32(o, true), hi: dv.getInt32(o + 4, true) });
  return out;
}

/** Format with `args`, reading %s strings from VM memory; undefined when the format is refused. */
function format(call: HelperCall, fmt: string, args: PrintkArg[], max = PRINTK_MAX_CHARS): string | undefined {
  return formatPrintk(
    fmt,
    args,
    (addr) => {
      try {
        return decoder.decode(call.memory.readCString(addr, 1024, call.pc));
      } catch {
        return '(efault)';
      }
    },
    max,
    MAX_VARARGS,
  );
}

/** The NUL-terminated format at pointer argument `i`, at most `size` bytes; undefined without a NUL. */
function fmtArg(call: HelperCall, i: number, size: number): string | undefined {
  const raw = call.memory.read(call.argPtr(i), size, call.pc);
  const nul = raw.indexOf(0);
  return nul < 0 ? undefined : decoder.decode(raw.subarray(0, nul));
}

/**
 * bpf_snprintf(str, str_size, fmt, data, data_len): writes at most str_size bytes, NUL-terminated, and
 * returns the length of the whole line plus one (its NUL), as snprintf's result + 1 in the kernel.
 */
export function snprintf(call: HelperCall): void {
  const size = call.argU32(2);
  const dst = size === 0 ? undefined : call.memory.view(call.argPtr(1), size, true, call.pc); // NULL with 0
  const fmtAddr = call.argPtr(3);
  const fmt = decoder.decode(call.memory.readCString(fmtAddr, SNPRINTF_MAX, call.pc));
  const args = varargs(call, 4);
  const text = args && format(call, fmt, args, SNPRINTF_MAX);
  if (text === undefined) return call.retI32(-E.EINVAL);
  const bytes = encoder.encode(text);
  call.chargeBytes(Math.min(bytes.length, size));
  if (dst !== undefined) {
    const n = Math.min(bytes.length, size - 1);
    dst.bytes.set(bytes.subarray(0, n), dst.offset);
    dst.bytes[dst.offset + n] = 0;
  }
  call.ret(bytes.length + 1);
}

/** bpf_trace_vprintk(fmt, fmt_size, data, data_len): trace_printk with the arguments in an array. */
export function traceVprintk(call: HelperCall): void {
  const size = call.argU32(2);
  call.chargeBytes(size);
  const fmt = size === 0 ? undefined : fmtArg(call, 1, size);
  const args = fmt === undefined ? undefined : varargs(call, 3);
  const text = args && format(call, fmt!, args);
  if (text === undefined) return call.retI32(-E.EINVAL);
  (call.context as RunContext).host.trace(text);
  call.ret(text.length);
}
