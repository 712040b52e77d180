/**
 * Typed reads and writes of layout fields: `setU32(attr.view, PROG_LOAD.fields.insn_cnt, n)`. A field's
 * kind must match the accessor, so writing a u64 where the kernel has a u32 does not compile. `base` is
 * where the struct starts in the view (structs inside a ring block or a control buffer).
 *
 * Byte order: kernel structs are in host order, and the kernel engine runs on x86_64 and aarch64 only
 * (bpf-syscall.ts knows no other syscall numbers), both little-endian.
 *
 * These sit on per-packet and per-map-operation paths: no allocation, no BigInt unless the caller asks.
 */
import type { BitField, Field } from './layout.js';

const LE = true;

/** Read a __u8. */
export function getU8(v: DataView, f: Field<'u8'>, base = 0): number {
  return v.getUint8(base + f.offset);
}

/** Write a __u8. */
export function setU8(v: DataView, f: Field<'u8'>, value: number, base = 0): void {
  v.setUint8(base + f.offset, value);
}

/** Read a __u16. */
export function getU16(v: DataView, f: Field<'u16'>, base = 0): number {
  return v.getUint16(base + f.offset, LE);
}

/** Write a __u16. */
export function setU16(v: DataView, f: Field<'u16'>, value: number, base = 0): void {
  v.setUint16(base + f.offset, value, LE);
}

/** Read a __u32. */
export function getU32(v: DataView, f: Field<'u32'>, base = 0): number {
  return v.getUint32(base + f.offset, LE);
}

/** Write a __u32 (negative numbers wrap, as a C cast would). */
export function setU32(v: DataView, f: Field<'u32'>, value: number, base = 0): void {
  v.setUint32(base + f.offset, value, LE);
}

/** Read an int. */
export function getI32(v: DataView, f: Field<'i32'>, base = 0): number {
  return v.getInt32(base + f.offset, LE);
}

/** Write an int. */
export function setI32(v: DataView, f: Field<'i32'>, value: number, base = 0): void {
  v.setInt32(base + f.offset, value, LE);
}

/** Read a __u64 as a BigInt. */
export function getU64(v: DataView, f: Field<'u64'>, base = 0): bigint {
  return v.getBigUint64(base + f.offset, LE);
}

/** Write a __u64 from a BigInt. */
export function setU64(v: DataView, f: Field<'u64'>, value: bigint, base = 0): void {
  v.setBigUint64(base + f.offset, value, LE);
}

/** Read a __u64 / size_t as a number (exact below 2^53: lengths, counts). */
export function getU64Number(v: DataView, f: Field<'u64'>, base = 0): number {
  const at = base + f.offset;
  return v.getUint32(at, LE) + v.getUint32(at + 4, LE) * 4294967296;
}

/** Write a __u64 / size_t from a non-negative number below 2^53, without a BigInt. */
export function setU64Number(v: DataView, f: Field<'u64'>, value: number, base = 0): void {
  const at = base + f.offset;
  v.setUint32(at, value % 4294967296, LE);
  v.setUint32(at + 4, Math.floor(value / 4294967296), LE);
}

/** Read a long / __s64 as a number (exact within ±2^53: seconds, nanoseconds). */
export function getI64Number(v: DataView, f: Field<'i64'>, base = 0): number {
  const at = base + f.offset;
  return v.getUint32(at, LE) + v.getInt32(at + 4, LE) * 4294967296;
}

/** Something with a native address, split in halves (NativeBuffer). */
export interface Addressed {
  readonly addressLo: number;
  readonly addressHi: number;
}

/** Write the address of native memory (or NULL for undefined) into a pointer or __aligned_u64 field. */
export function setAddress(v: DataView, f: Field<'u64' | 'ptr'>, target: Addressed | undefined, base = 0): void {
  const at = base + f.offset;
  v.setUint32(at, target ? target.addressLo : 0, LE);
  v.setUint32(at + 4, target ? target.addressHi : 0, LE);
}

/** Write a pointer value (an address inside native memory) on paths where a BigInt does not matter. */
export function setPointer(v: DataView, f: Field<'u64' | 'ptr'>, address: bigint, base = 0): void {
  v.setBigUint64(base + f.offset, address, LE);
}

/** Read a bitfield. */
export function getBits(v: DataView, f: BitField, base = 0): number {
  const unit = v.getUint32(base + f.offset, LE);
  return f.bits === 32 ? unit >>> f.bit : (unit >>> f.bit) & ((1 << f.bits) - 1);
}

/** The bytes of an array field (a view, not a copy). */
export function getBytes(b: Uint8Array, f: Field<'bytes'>, base = 0): Uint8Array {
  return b.subarray(base + f.offset, base + f.offset + f.size);
}

/** A char[] field up to its first NUL (latin1: the kernel's names are ASCII). */
export function getCString(b: Uint8Array, f: Field<'bytes'>, base = 0): string {
  const field = getBytes(b, f, base);
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString('latin1');
}

/** Write `text` into a char[] field, NUL-terminated (cut to size - 1 characters; latin1). */
export function setCString(b: Uint8Array, f: Field<'bytes'>, text: string, base = 0): void {
  const at = base + f.offset;
  const n = Math.min(text.length, f.size - 1);
  for (let i = 0; i < n; i++) b[at + i] = text.charCodeAt(i);
  b[at + n] = 0;
}
