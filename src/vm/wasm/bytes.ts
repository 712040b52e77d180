/**
 * A growable byte buffer with the integer encodings of the WebAssembly binary format: unsigned and
 * signed LEB128 (the format's only variable-length integers) and little-endian fixed widths.
 */

/** Bytes appended one field at a time; `bytes()` returns what was written. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  /** Bytes written so far. */
  length = 0;

  /** One byte. */
  u8(b: number): this {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = b & 0xff;
    return this;
  }

  /**
   * The buffer, with room for `n` more bytes after `length` (for writers that store several bytes at
   * once: in a fresh process this code runs unoptimised, where every call counts).
   */
  protected room(n: number): Uint8Array {
    if (this.length + n > this.buf.length) this.grow(n);
    return this.buf;
  }

  /** Several raw bytes. */
  raw(bytes: ArrayLike<number>): this {
    if (this.length + bytes.length > this.buf.length) this.grow(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  /** Unsigned LEB128 of a u32 (vector lengths, indices, memarg offsets). */
  u32(v: number): this {
    let x = v >>> 0;
    for (;;) {
      const b = x & 0x7f;
      x >>>= 7;
      if (x === 0) return this.u8(b);
      this.u8(b | 0x80);
    }
  }

  /** Signed LEB128 of an int32 (i32.const). */
  s32(v: number): this {
    let x = v | 0;
    for (;;) {
      const b = x & 0x7f;
      x >>= 7;
      // done when the rest is all sign bits and the sign bit of this group agrees
      if ((x === 0 && (b & 0x40) === 0) || (x === -1 && (b & 0x40) !== 0)) return this.u8(b);
      this.u8(b | 0x80);
    }
  }

  /** Signed LEB128 of the 64-bit value hi:lo (i64.const), from its int32 halves (no BigInt). */
  s64(lo: number, hi: number): this {
    let l = lo >>> 0;
    let h = hi | 0;
    for (;;) {
      const b = l & 0x7f;
      // arithmetic shift of the 64-bit pair by 7
      l = ((l >>> 7) | (h << 25)) >>> 0;
      h >>= 7;
      const rest = h === 0 && l === 0 ? 0 : h === -1 && l === 0xffffffff ? -1 : 1;
      if ((rest === 0 && (b & 0x40) === 0) || (rest === -1 && (b & 0x40) !== 0)) return this.u8(b);
      this.u8(b | 0x80);
    }
  }

  /** A length-prefixed name (UTF-8; bpfkit only writes ASCII names). */
  name(s: string): this {
    this.u32(s.length);
    for (let i = 0; i < s.length; i++) this.u8(s.charCodeAt(i));
    return this;
  }

  /** A copy of the bytes written. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  private grow(need: number): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + need));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}
