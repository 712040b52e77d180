/**
 * How bpfkit describes a kernel struct it reads or writes: its size and, for each field it uses, the
 * kernel's field name, byte offset and C type. The tables in this folder are the only place such offsets
 * are written down; test/kernel/abi-btf.test.ts checks every entry against the running kernel's BTF
 * (/sys/kernel/btf/vmlinux), so a typo or a kernel that disagrees shows up as a failing test, not as
 * EINVAL or garbage at run time. (cilium/ebpf generates its equivalent, internal/sys/types.go, from the
 * kernel's headers.)
 */

/**
 * The C type of a field: fixed-size integers (u/i), a pointer (`ptr`), a byte or char array (`bytes`) or
 * a bitfield (`bits`, inside the 32-bit unit at `offset`).
 */
export type FieldKind = 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'i64' | 'ptr' | 'bytes' | 'bits';

/** One field: where it starts in its struct and how many bytes it takes. */
export interface Field<K extends FieldKind = FieldKind> {
  readonly kind: K;
  readonly offset: number;
  readonly size: number;
}

/** A bitfield: `bits` bits from bit `bit` (counted from the least significant) of the u32 at `offset`. */
export interface BitField extends Field<'bits'> {
  readonly bit: number;
  readonly bits: number;
}

/** __u8 (or unsigned char) at `offset`. */
export const u8 = (offset: number): Field<'u8'> => ({ kind: 'u8', offset, size: 1 });
/** __u16 at `offset`. */
export const u16 = (offset: number): Field<'u16'> => ({ kind: 'u16', offset, size: 2 });
/** __u32 at `offset`. */
export const u32 = (offset: number): Field<'u32'> => ({ kind: 'u32', offset, size: 4 });
/** int / __s32 at `offset`. */
export const i32 = (offset: number): Field<'i32'> => ({ kind: 'i32', offset, size: 4 });
/** __u64 / __aligned_u64 / size_t at `offset` (bpf_attr carries user pointers in these). */
export const u64 = (offset: number): Field<'u64'> => ({ kind: 'u64', offset, size: 8 });
/** long / __s64 at `offset`. */
export const i64 = (offset: number): Field<'i64'> => ({ kind: 'i64', offset, size: 8 });
/** A 64-bit pointer at `offset`. */
export const ptr = (offset: number): Field<'ptr'> => ({ kind: 'ptr', offset, size: 8 });
/** A `size`-byte array (char name[16], __u8 tag[8]) at `offset`. */
export const bytes = (offset: number, size: number): Field<'bytes'> => ({ kind: 'bytes', offset, size });
/** A bitfield of `count` bits at bit `bit` of the u32 unit at `offset`. */
export const bits = (offset: number, bit: number, count: number): BitField => ({
  kind: 'bits',
  offset,
  size: 4,
  bit,
  bits: count,
});

/**
 * Which kernel type a layout mirrors, by its name in BTF:
 * - `struct`: a struct of that name;
 * - `union` + `member`: a named member of a union (`union bpf_attr`'s `batch`, `test`, `info`...);
 * - `union` + `anonymousWith`: the anonymous member of a union that holds this field (most commands'
 *   parts of `union bpf_attr` are anonymous structs: MAP_CREATE's is the one with `map_type`).
 */
export type KernelType =
  { struct: string } | { union: string; member: string } | { union: string; anonymousWith: string };

/**
 * How `size` relates to the kernel's sizeof:
 * - `exact`: equal (socket and ring structs, fixed for good);
 * - `prefix`: the kernel grows this struct at its end and accepts or fills shorter versions (bpf_attr
 *   parts, bpf_*_info), so `size` is the version bpfkit speaks: at most the kernel's, and on a boundary
 *   between two of the kernel's fields (or at its end);
 * - `fields`: the kernel only declares a larger type sharing these first fields (packet_mreq is the head
 *   of packet_mreq_max): the fields are checked and `size` must not exceed the kernel's.
 */
export type SizeRule = 'exact' | 'prefix' | 'fields';

/** A kernel struct as bpfkit uses it: field names exactly as in the kernel's C, so BTF can check them. */
export interface Layout<F extends Record<string, Field> = Record<string, Field>> {
  readonly kernel: KernelType;
  /** Bytes bpfkit allocates and hands to the kernel for this struct. */
  readonly size: number;
  readonly rule: SizeRule;
  /** Only the fields bpfkit touches; a dotted name (`tcx.ifindex`) walks into named members. */
  readonly fields: F;
}

/** Declare a layout; a field that does not fit in `size` is a bug in the table, caught at import. */
export function layout<F extends Record<string, Field>>(
  kernel: KernelType,
  size: number,
  rule: SizeRule,
  fields: F,
): Layout<F> {
  for (const [name, f] of Object.entries(fields)) {
    if (f.offset < 0 || f.offset + f.size > size)
      throw new Error(`kernel ABI table: field ${name} (${f.offset}+${f.size}) lies outside its ${size}-byte struct`);
  }
  return { kernel, size, rule, fields };
}

/** True for values made by `layout()` (the BTF test walks the tables with it). */
export function isLayout(value: unknown): value is Layout {
  return typeof value === 'object' && value !== null && 'kernel' in value && 'fields' in value && 'rule' in value;
}

/** Round up to the next multiple of 8 (CMSG_ALIGN, the alignment of 64-bit struct members). */
export const align8 = (n: number): number => (n + 7) & ~7;
