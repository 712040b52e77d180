/**
 * `.kconfig` extern values, as libbpf computes them: CONFIG_* from the kernel's build configuration
 * (`/proc/config.gz` or `/boot/config-$(uname -r)`, text lines `CONFIG_X=y|m|"text"|123|0x1f` and
 * `# CONFIG_X is not set`), and the "virtual" LINUX_* values libbpf supplies itself. Pure: text in,
 * bytes out; reading the files is kernel-env.ts's job.
 */
import { InputError } from '../util/errors.js';
import type { ExternSpec } from '../elf/spec.js';

/** Parse a kernel config file's text into name -> raw value (`n` for "is not set"). */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const unset = /^# (CONFIG_\w+) is not set/.exec(line);
    if (unset) {
      out.set(unset[1]!, 'n');
      continue;
    }
    const m = /^(CONFIG_\w+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/**
 * The bytes of one `.kconfig` variable for `raw` (a config file's value: y, n, m, "text" or a number), in
 * the object's byte order. A value its C type cannot hold is an InputError naming the extern and `where`.
 */
export function encodeKconfig(ext: ExternSpec, raw: string, endian: 'little' | 'big', where: string): Uint8Array {
  const size = ext.size!;
  const out = new Uint8Array(size);
  const fail = (why: string): never => {
    throw new InputError(`extern '${ext.name}': value '${raw}' ${why}`, where);
  };
  const type = ext.kconfigType!;
  if (raw === 'y' || raw === 'n' || raw === 'm') {
    switch (type) {
      case 'bool':
        if (raw === 'm') fail('is a module (m), which a bool cannot hold (use enum libbpf_tristate or char)');
        out[0] = raw === 'y' ? 1 : 0;
        return out;
      case 'tristate':
        return writeInt(out, BigInt(raw === 'y' ? 1 : raw === 'm' ? 2 : 0), endian);
      case 'char':
        out[0] = raw.charCodeAt(0);
        return out;
      default:
        return fail('is y/n/m, which needs a bool, char or enum libbpf_tristate extern');
    }
  }
  if (raw.startsWith('"')) {
    if (type !== 'chars') fail('is a string, which needs a char array extern');
    if (raw.length < 2 || !raw.endsWith('"')) fail('is not a well-formed string');
    const text = new TextEncoder().encode(raw.slice(1, -1));
    // As libbpf: a longer string is cut to fit, and always NUL-terminated.
    out.set(text.subarray(0, size - 1));
    return out;
  }
  const n = parseNumber(raw);
  if (n === undefined) return fail('is neither y/n/m, a "string" nor a number');
  if (type !== 'int' && type !== 'char' && type !== 'bool') fail('is a number, which needs an integer extern');
  if (type === 'bool' && n !== 0n && n !== 1n) fail('does not fit a bool');
  const bits = BigInt(size * 8);
  const fits = ext.signed ? n >= -(1n << (bits - 1n)) && n < 1n << (bits - 1n) : n >= 0n && n < 1n << bits;
  if (!fits) fail(`does not fit ${ext.signed ? 'a signed' : 'an unsigned'} ${size}-byte integer`);
  return writeInt(out, n, endian);
}

/** strtoull with base 0: decimal, 0x hex or leading-0 octal, with an optional minus sign. */
function parseNumber(raw: string): bigint | undefined {
  const m = /^(-?)(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i.exec(raw.trim());
  if (!m) return undefined;
  const body = m[2]!;
  const v = /^0x/i.test(body)
    ? BigInt(body)
    : body.length > 1 && body.startsWith('0')
      ? BigInt(`0o${body.slice(1)}`)
      : BigInt(body);
  return m[1] ? -v : v;
}

function writeInt(out: Uint8Array, v: bigint, endian: 'little' | 'big'): Uint8Array {
  const u = BigInt.asUintN(out.length * 8, v);
  for (let i = 0; i < out.length; i++) {
    const byte = Number((u >> BigInt(8 * i)) & 0xffn);
    out[endian === 'little' ? i : out.length - 1 - i] = byte;
  }
  return out;
}
