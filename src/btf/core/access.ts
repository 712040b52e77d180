/**
 * Access specs: what a CO-RE relocation's access string means in one BTF (libbpf's bpf_core_spec).
 * The string "0:1:2" on root type T reads as T[0].<member 1>.<member or element 2>; every member with a
 * name becomes a named accessor (what is matched by name in the target), anonymous members only shift the
 * bit offset, array indexes stay numeric. Type-based kinds take "0"; enum-value kinds the enumerator index.
 */
import { BtfKind, type Btf, type BtfType } from '../btf.js';
import { isEnumValueKind, isFieldKind, isTypeKind } from './kinds.js';

/** One step of an access path: a named member (of struct/union `typeId`), or an index (into elements of `typeId`). */
export interface CoreAccessor {
  /** STRUCT/UNION holding member `idx` (named), or the element type indexed (unnamed), or the ENUM. */
  typeId: number;
  idx: number;
  name?: string;
}

/** An access string resolved in one BTF. */
export interface CoreSpec {
  btf: Btf;
  rootId: number;
  kind: number;
  /** Every index of the access string, anonymous members included. */
  raw: number[];
  accessors: CoreAccessor[];
  bitOffset: number;
}

/** libbpf's limit on access path length (BPF_CORE_SPEC_MAX_LEN). */
export const CORE_SPEC_MAX_LEN = 64;

/** Why an access string does not fit its type: the message of a one-line error. */
export class CoreSpecError extends Error {}

/**
 * The length of a name without its flavour: `task_struct___v1` -> `task_struct` (libbpf's
 * bpf_core_essential_name_len: the last `X___Y` where neither X nor Y is an underscore).
 */
export function essentialNameLength(name: string): number {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== '_' && name[i + 1] === '_' && name[i + 2] === '_' && name[i + 3] === '_' && name[i + 4] !== '_')
      return i + 1;
  }
  return name.length;
}

/** The name without its flavour suffix. */
export const essentialName = (name: string): string => name.slice(0, essentialNameLength(name));

/** Skip typedefs and qualifiers, returning the type and its id. */
export function skipModsAndTypedefs(btf: Btf, id: number): { t: BtfType; id: number } {
  const t = btf.resolve(id);
  return { t, id: t.id };
}

/** STRUCT or UNION. */
export const isComposite = (t: BtfType): boolean => t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION;
/** ENUM or ENUM64. */
export const isAnyEnum = (t: BtfType): boolean => t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64;

/** Size of a type, as a CoreSpecError when it has none. */
export function sizeOrFail(btf: Btf, id: number): number {
  try {
    return btf.sizeOf(id);
  } catch {
    throw new CoreSpecError(`type [${id}] has no size`);
  }
}

/**
 * A flexible array member: the last member of its struct, declared with 0 elements (libbpf's is_flex_arr);
 * `prev` is the accessor that reached the array.
 */
export function isFlexArray(btf: Btf, prev: CoreAccessor | undefined, nelems: number): boolean {
  if (!prev?.name || nelems > 0) return false;
  const holder = btf.types[prev.typeId]!;
  return prev.idx === holder.vlen - 1;
}

/** Parse `access` on root type `rootId` of `btf` for a relocation of `kind` (libbpf's bpf_core_parse_spec). */
export function parseCoreSpec(btf: Btf, rootId: number, access: string, kind: number): CoreSpec {
  const spec: CoreSpec = { btf, rootId, kind, raw: [], accessors: [], bitOffset: 0 };
  if (rootId <= 0 || rootId >= btf.types.length) throw new CoreSpecError(`type id ${rootId} is out of range`);
  if (isTypeKind(kind)) {
    if (access !== '0') throw new CoreSpecError(`a type relocation's access string must be "0", not "${access}"`);
    return spec;
  }
  if (!/^\d+(:\d+)*$/.test(access)) throw new CoreSpecError(`access string "${access}" is not a list of indexes`);
  spec.raw = access.split(':').map(Number);
  if (spec.raw.length > CORE_SPEC_MAX_LEN)
    throw new CoreSpecError(`access string has ${spec.raw.length} steps, more than ${CORE_SPEC_MAX_LEN}`);
  let { t, id } = skipModsAndTypedefs(btf, rootId);
  const first = spec.raw[0]!;
  spec.accessors.push({ typeId: id, idx: first });
  if (isEnumValueKind(kind)) {
    if (!isAnyEnum(t) || spec.raw.length > 1 || first >= t.vlen)
      throw new CoreSpecError(`access "${access}" is not an enumerator of type [${rootId}]`);
    spec.accessors[0]!.name = t.members[first]!.name;
    return spec;
  }
  if (!isFieldKind(kind)) throw new CoreSpecError(`relocation kind ${kind} is unknown`);
  spec.bitOffset = first * sizeOrFail(btf, id) * 8;
  for (let i = 1; i < spec.raw.length; i++) {
    ({ t, id } = skipModsAndTypedefs(btf, id));
    const idx = spec.raw[i]!;
    if (isComposite(t)) {
      if (idx >= t.vlen)
        throw new CoreSpecError(`access step ${i} (${idx}) is beyond the ${t.vlen} members of [${id}] '${t.name}'`);
      const m = t.members[idx]!;
      spec.bitOffset += m.offset;
      if (m.name) spec.accessors.push({ typeId: id, idx, name: m.name });
      id = m.type;
    } else if (t.kind === BtfKind.ARRAY) {
      const a = t.array!;
      ({ id } = skipModsAndTypedefs(btf, a.type));
      const flex = isFlexArray(btf, spec.accessors[spec.accessors.length - 1], a.nelems);
      if (!flex && idx >= a.nelems)
        throw new CoreSpecError(`access step ${i} (${idx}) is beyond the ${a.nelems} elements of array [${t.id}]`);
      spec.accessors.push({ typeId: id, idx });
      spec.bitOffset += idx * sizeOrFail(btf, id) * 8;
    } else {
      throw new CoreSpecError(
        `access step ${i} reaches type [${id}] of kind ${t.kind}, which has no members or elements`,
      );
    }
  }
  return spec;
}
