/**
 * The conformance suite's `.data` format (see ../shared/conformance/README.md): `-- name` starts a
 * section; `-- asm` holds the program, `-- raw` (64-bit instruction words, one per line) replaces it,
 * `-- mem` hex bytes, `-- result` the expected r0, `-- error` the expected error text. `#` starts a
 * comment line. Unknown sections are ignored. Malformed files throw InputError naming file:line.
 */
import { InputError } from '../util/errors.js';

export interface ConformanceCase {
  /** File name without directory and `.data`. */
  name: string;
  file: string;
  /** Assembly source and the file line its first line came from. */
  asm?: { text: string; line: number };
  /** Little-endian program bytes from `-- raw`. */
  raw?: Uint8Array;
  mem: Uint8Array;
  /** Expected r0 (unsigned 64-bit). */
  result?: bigint;
  /** Expected error text. */
  error?: string;
}

interface Section {
  name: string;
  line: number;
  lines: { text: string; line: number }[];
}

export function parseConformanceData(text: string, file: string): ConformanceCase {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const m = /^--\s*(.*?)\s*$/.exec(raw);
    if (m) {
      const name = (m[1] as string).toLowerCase();
      if (sections.has(name)) throw new InputError(`section '-- ${name}' appears twice`, `${file}:${line}`);
      current = { name, line, lines: [] };
      sections.set(name, current);
      return;
    }
    if (current) current.lines.push({ text: raw, line });
    else if (raw.trim() !== '' && !raw.trim().startsWith('#')) {
      throw new InputError(`text before the first '-- section' line: '${raw.trim()}'`, `${file}:${line}`);
    }
  });
  const content = (s: Section) => s.lines.filter((l) => l.text.trim() !== '' && !l.text.trim().startsWith('#'));
  const base = file.split('/').pop() ?? file;
  const c: ConformanceCase = { name: base.replace(/\.data$/, ''), file, mem: new Uint8Array(0) };

  const asm = sections.get('asm');
  const raw = sections.get('raw');
  if (raw) c.raw = parseRaw(content(raw), file);
  else if (asm) c.asm = { text: asm.lines.map((l) => l.text).join('\n'), line: asm.line + 1 };
  else throw new InputError("no '-- asm' or '-- raw' section", `${file}:1`);

  const mem = sections.get('mem');
  if (mem) c.mem = parseHexBytes(content(mem), file);

  const result = sections.get('result');
  const error = sections.get('error');
  if (result) {
    const l = content(result)[0];
    if (!l) throw new InputError("'-- result' section is empty", `${file}:${result.line}`);
    c.result = parseResult(l.text.trim(), `${file}:${l.line}`);
  }
  if (error) {
    const l = content(error)[0];
    if (!l) throw new InputError("'-- error' section is empty", `${file}:${error.line}`);
    c.error = l.text.trim();
  }
  if (c.result === undefined && c.error === undefined)
    throw new InputError("no '-- result' or '-- error' section", `${file}:1`);
  return c;
}

function parseResult(text: string, where: string): bigint {
  if (!/^-?(0x[0-9a-f]+|\d+)$/i.test(text))
    throw new InputError(`result '${text}' is not a number (hex with 0x, or decimal)`, where);
  const neg = text.startsWith('-');
  const v = BigInt(neg ? text.slice(1) : text);
  if (v >= 1n << 64n) throw new InputError(`result '${text}' does not fit in 64 bits`, where);
  return BigInt.asUintN(64, neg ? -v : v);
}

function parseHexBytes(lines: { text: string; line: number }[], file: string): Uint8Array {
  const out: number[] = [];
  for (const { text, line } of lines) {
    for (const tok of text.trim().split(/\s+/)) {
      if (!/^[0-9a-f]{2}$/i.test(tok))
        throw new InputError(`bad hex byte '${tok}' in '-- mem' (want two hex digits)`, `${file}:${line}`);
      out.push(parseInt(tok, 16));
    }
  }
  return Uint8Array.from(out);
}

function parseRaw(lines: { text: string; line: number }[], file: string): Uint8Array {
  const out = new Uint8Array(lines.length * 8);
  const dv = new DataView(out.buffer);
  lines.forEach(({ text, line }, i) => {
    const t = text.trim();
    if (!/^0x[0-9a-f]{1,16}$/i.test(t))
      throw new InputError(
        `bad raw instruction '${t}' (want one 64-bit hex word like 0x0000000000000095)`,
        `${file}:${line}`,
      );
    dv.setBigUint64(i * 8, BigInt(t), true);
  });
  return out;
}

/** Decode a hex string (whitespace ignored) to bytes, or throw InputError. */
export function hexToBytes(hex: string, what: string): Uint8Array {
  const h = hex.replace(/\s+/g, '');
  if (h.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(h)) throw new InputError(`${what} is not an even-length hex string`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}
