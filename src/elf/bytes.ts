/** Small byte helpers for building map keys and values in an object's byte order. */
export type Endian = 'little' | 'big';

/** A 4-byte u32 key (array index) in the given byte order. */
export function u32Key(n: number, endian: Endian): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, endian === 'little');
  return b;
}

/** Read a u32 at `at` of `bytes` in the given byte order (caller checks bounds). */
export function readU32(bytes: Uint8Array, at: number, endian: Endian): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, endian === 'little');
}
