/**
 * Tiny raw BTF and .BTF.ext builders for unit tests (little-endian), so relocation rules can be checked
 * on hand-made types without clang or a kernel.
 */

/** Strings of a BTF under construction: offset of each added string. */
export class Strings {
  bytes: number[] = [0];
  private seen = new Map<string, number>([['', 0]]);
  add(s: string): number {
    const known = this.seen.get(s);
    if (known !== undefined) return known;
    const off = this.bytes.length;
    for (const ch of Buffer.from(s)) this.bytes.push(ch);
    this.bytes.push(0);
    this.seen.set(s, off);
    return off;
  }
}

/** A BTF type as u32 words; use the helpers below. */
export type TypeWords = (s: Strings) => number[];

const info = (kind: number, vlen: number, kflag = false) => ((kflag ? 1 << 31 : 0) | (kind << 24) | vlen) >>> 0;
export const int =
  (name: string, size: number, signed = false): TypeWords =>
  (s) => [s.add(name), info(1, 0), size, ((signed ? 1 : 0) << 24) | (size * 8)];
export const ptr =
  (type: number): TypeWords =>
  () => [0, info(2, 0), type];
export const array =
  (type: number, indexType: number, nelems: number): TypeWords =>
  () => [0, info(3, 0), 0, type, indexType, nelems];
/** Members: [name, type, bit offset, bitfield size (0 = none)]. */
export const struct =
  (name: string, size: number, members: [string, number, number, number?][], union = false): TypeWords =>
  (s) => {
    const bitfields = members.some((m) => (m[3] ?? 0) > 0);
    const words = [s.add(name), info(union ? 5 : 4, members.length, bitfields), size];
    for (const [n, t, off, bits] of members) words.push(s.add(n), t, bitfields ? ((bits ?? 0) << 24) | off : off);
    return words;
  };
export const enumeration =
  (name: string, values: [string, number][]): TypeWords =>
  (s) => {
    const words = [s.add(name), info(6, values.length), 4];
    for (const [n, v] of values) words.push(s.add(n), v >>> 0);
    return words;
  };
export const typedef =
  (name: string, type: number): TypeWords =>
  (s) => [s.add(name), info(8, 0), type];

/** Raw BTF with these types (ids from 1) and strings; `extra` strings are added first (for .BTF.ext). */
export function buildBtf(types: TypeWords[], strings = new Strings()): { raw: Uint8Array; strings: Strings } {
  const words = types.flatMap((t) => t(strings));
  const typeLen = words.length * 4;
  const raw = new Uint8Array(24 + typeLen + strings.bytes.length);
  const v = new DataView(raw.buffer);
  v.setUint16(0, 0xeb9f, true);
  v.setUint8(2, 1);
  v.setUint32(4, 24, true);
  v.setUint32(8, 0, true);
  v.setUint32(12, typeLen, true);
  v.setUint32(16, typeLen, true);
  v.setUint32(20, strings.bytes.length, true);
  words.forEach((w, i) => v.setUint32(24 + i * 4, w >>> 0, true));
  raw.set(strings.bytes, 24 + typeLen);
  return { raw, strings };
}

/** A .BTF.ext with one block per subsection: [func_info words, line_info words, core_relo words] for section `sec`. */
export function buildBtfExt(
  secNameOff: number,
  sub: { func?: number[][]; line?: number[][]; core?: number[][] },
): Uint8Array {
  const parts: number[][] = [];
  const recSize = [8, 16, 16];
  [sub.func, sub.line, sub.core].forEach((recs, i) => {
    parts.push(recs && recs.length ? [recSize[i]!, secNameOff, recs.length, ...recs.flat()] : []);
  });
  const header = 32;
  const out = new Uint8Array(header + parts.reduce((n, p) => n + p.length * 4, 0));
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, true);
  v.setUint8(2, 1);
  v.setUint32(4, header, true);
  let off = 0;
  parts.forEach((p, i) => {
    v.setUint32(8 + i * 8, off, true);
    v.setUint32(12 + i * 8, p.length * 4, true);
    p.forEach((w, j) => v.setUint32(header + off + j * 4, w >>> 0, true));
    off += p.length * 4;
  });
  return out;
}
