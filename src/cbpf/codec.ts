/**
 * `struct sock_filter` arrays as bytes, the layout the kernel copies from userspace with
 * SO_ATTACH_FILTER: code (u16), jt (u8), jf (u8), k (u32), 8 bytes each, in the host's byte order.
 */
import { InputError } from '../util/errors.js';
import type { SockFilter } from './insn.js';

/** Size of one `struct sock_filter`. */
export const SOCK_FILTER_SIZE = 8;

/** Byte order of the binary layout; the kernel uses the host's (little on x86 and arm64). */
export type ByteOrder = 'little' | 'big';

/** Encode a program as the kernel's `struct sock_filter[]`. */
export function encodeClassic(insns: readonly SockFilter[], order: ByteOrder = 'little'): Uint8Array {
  const out = new Uint8Array(insns.length * SOCK_FILTER_SIZE);
  const dv = new DataView(out.buffer);
  const le = order === 'little';
  insns.forEach((i, n) => {
    const at = n * SOCK_FILTER_SIZE;
    dv.setUint16(at, i.code, le);
    dv.setUint8(at + 2, i.jt);
    dv.setUint8(at + 3, i.jf);
    dv.setUint32(at + 4, i.k >>> 0, le);
  });
  return out;
}

/** Decode a `struct sock_filter[]`; the length must be a multiple of 8 bytes. */
export function decodeClassic(bytes: Uint8Array, order: ByteOrder = 'little', source?: string): SockFilter[] {
  if (bytes.length % SOCK_FILTER_SIZE !== 0) {
    throw new InputError(`a struct sock_filter array is a multiple of 8 bytes, got ${bytes.length}`, source);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = order === 'little';
  const out: SockFilter[] = [];
  for (let at = 0; at < bytes.length; at += SOCK_FILTER_SIZE) {
    out.push({
      code: dv.getUint16(at, le),
      jt: dv.getUint8(at + 2),
      jf: dv.getUint8(at + 3),
      k: dv.getUint32(at + 4, le),
    });
  }
  return out;
}
