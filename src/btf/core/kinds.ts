/**
 * The CO-RE relocation kinds (enum bpf_core_relo_kind, include/uapi/linux/bpf.h) and the three families
 * libbpf sorts them into: field-based (an access path through structs and arrays), type-based (a whole
 * type) and enum-value-based (one enumerator).
 */

/** bpf_core_relo_kind numbers. */
export const CoreReloKind = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;

/** libbpf's short names of the kinds, as its debug log and `bpftool gen` print them. */
const SHORT_NAMES: Record<number, string> = {
  0: 'byte_off',
  1: 'byte_sz',
  2: 'field_exists',
  3: 'signed',
  4: 'lshift_u64',
  5: 'rshift_u64',
  6: 'local_type_id',
  7: 'target_type_id',
  8: 'type_exists',
  9: 'type_size',
  10: 'enumval_exists',
  11: 'enumval_value',
  12: 'type_matches',
};

/** The short name of a relocation kind (`byte_off`, `type_exists`...), or `kindN`. */
export const coreReloKindName = (kind: number): string => SHORT_NAMES[kind] ?? `kind${kind}`;

/** Field-based kinds: the access string is a path of member and array indexes. */
export const isFieldKind = (kind: number): boolean => kind <= CoreReloKind.FIELD_RSHIFT_U64;
/** Type-based kinds: the access string is "0". */
export const isTypeKind = (kind: number): boolean =>
  (kind >= CoreReloKind.TYPE_ID_LOCAL && kind <= CoreReloKind.TYPE_SIZE) || kind === CoreReloKind.TYPE_MATCHES;
/** Enum-value kinds: the access string is the enumerator's index. */
export const isEnumValueKind = (kind: number): boolean =>
  kind === CoreReloKind.ENUMVAL_EXISTS || kind === CoreReloKind.ENUMVAL_VALUE;
