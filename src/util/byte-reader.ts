/**
 * The one way src/elf reads bytes from an object file: a ByteReader over the file or over a range of it
 * (a section, the .BTF blob). Every read names what it reads, and every offset and length is checked
 * against the range first, so a malformed or truncated object ends in an InputError that names the
 * file, the place and the field — never in a RangeError from a DataView or a typed array. Numbers read
 * from the file are checked too: a 64-bit field beyond 2^53 or a count that would not fit memory is an
 * error here, not a NaN or an "Invalid typed array length" later.
 */
import { InputError } from './errors.js';

/** Byte order of an ELF file (and of the programs and data in it). */
export type Endian = 'little' | 'big';

/**
 * How a reader names a place in messages: offset 0x1f0 as `file@0x1f0` or `file: section '.BTF'+0x1f0`;
 * no offset names the range as a whole (`file`).
 */
export type PlaceNamer = (offset?: number) => string;

const hex = (n: number) => `0x${n.toString(16)}`;
const utf8 = new TextDecoder('utf-8');

/** Checked little- or big-endian reads over `bytes`; offsets are relative to `bytes`. */
export class ByteReader {
  readonly length: number;
  readonly little: boolean;
  private readonly dv: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly endian: Endian,
    /** Names offset `at` of this range for messages. */
    readonly place: PlaceNamer,
    /** What the range is, for "runs past the end of …" messages: "the file", "section '.BTF'". */
    readonly what = 'the file',
  ) {
    this.length = bytes.length;
    this.little = endian === 'little';
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Throw the InputError for `message` at offset `at` of this range (or the range as a whole). */
  fail(message: string, at?: number): never {
    throw new InputError(message, this.place(at));
  }

  /** Does [at, at + size) lie inside the range? (Integers only: NaN and fractions are outside.) */
  has(at: number, size: number): boolean {
    return Number.isSafeInteger(at) && Number.isSafeInteger(size) && at >= 0 && size >= 0 && size <= this.length - at;
  }

  /** Fail unless [at, at + size) lies inside the range; `what` names the field or record. */
  need(at: number, size: number, what: string): void {
    if (!this.has(at, size)) {
      this.fail(
        `${what} (${size} bytes at ${hex(Math.max(0, at | 0))}) runs past the end of ${this.what} (${this.length} bytes)`,
        this.has(at, 0) ? at : undefined,
      );
    }
  }

  u8(at: number, what: string): number {
    this.need(at, 1, what);
    return this.bytes[at]!;
  }

  u16(at: number, what: string): number {
    this.need(at, 2, what);
    return this.dv.getUint16(at, this.little);
  }

  u32(at: number, what: string): number {
    this.need(at, 4, what);
    return this.dv.getUint32(at, this.little);
  }

  i32(at: number, what: string): number {
    this.need(at, 4, what);
    return this.dv.getInt32(at, this.little);
  }

  /** An unsigned 64-bit field as a Number; beyond 2^53 is nonsense for any offset, size or count in an object. */
  u64(at: number, what: string): number {
    this.need(at, 8, what);
    const hi = this.dv.getUint32(this.little ? at + 4 : at, this.little);
    const lo = this.dv.getUint32(this.little ? at : at + 4, this.little);
    if (hi > 0x1fffff) this.fail(`${what} is too large (${hex(hi)}${lo.toString(16).padStart(8, '0')})`, at);
    return hi * 0x100000000 + lo;
  }

  /** A signed 64-bit field (RELA addends), which must lie within ±2^53. */
  i64(at: number, what: string): number {
    this.need(at, 8, what);
    const hi = this.dv.getInt32(this.little ? at + 4 : at, this.little);
    const lo = this.dv.getUint32(this.little ? at : at + 4, this.little);
    if (hi > 0x1fffff || hi < -0x200000) this.fail(`${what} is out of range`, at);
    return hi * 0x100000000 + lo;
  }

  /** A view (no copy) of [at, at + size), checked. */
  slice(at: number, size: number, what: string): Uint8Array {
    this.need(at, size, what);
    return this.bytes.subarray(at, at + size);
  }

  /** A reader over [at, at + size), whose offsets start at 0 there and whose messages name `place`. */
  sub(at: number, size: number, what: string, place: PlaceNamer): ByteReader {
    return new ByteReader(this.slice(at, size, what), this.endian, place, what);
  }

  /** The NUL-terminated UTF-8 string starting at `at` (the NUL must lie inside the range). */
  cstring(at: number, what: string): string {
    this.need(at, 0, what);
    const end = this.bytes.indexOf(0, at);
    if (end < 0) this.fail(`${what} is not NUL-terminated`, at);
    return utf8.decode(this.bytes.subarray(at, end));
  }

  /** Write a u32 in place (fixups on a copy), checked like a read. */
  setU32(at: number, value: number, what: string): void {
    this.need(at, 4, what);
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
      this.fail(`${what} ${value} does not fit 32 bits`, at);
    this.dv.setUint32(at, value, this.little);
  }
}

/** A 4-byte u32 key (array index) in the given byte order. */
export function u32Key(n: number, endian: Endian): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, endian === 'little');
  return b;
}

/** Places named by file offset, `file@0x1f0`; `base` is the file offset of the range's first byte. */
export function fileOffsets(source: string, base = 0): PlaceNamer {
  return (at) => (at === undefined ? source : `${source}@${hex(base + at)}`);
}
