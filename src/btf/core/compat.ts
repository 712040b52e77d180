/**
 * When a target type may stand for a local one (libbpf's relo_core.c rules): `fieldsAreCompat` for the
 * last member of a field access, `typesAreCompat` for type-based relocations, and the stricter
 * `typesMatch` for bpf_core_type_matches(). Recursion is bounded (libbpf's 32 levels), so BTF cycles end.
 */
import { BtfKind, type Btf, type BtfType } from '../btf.js';
import { CoreSpecError, essentialNameLength, isAnyEnum, isComposite, skipModsAndTypedefs } from './access.js';

const MAX_DEPTH = 32;

/** Same kind, or both enums of either width (libbpf's btf_kind_core_compat). */
export const kindsCompat = (a: BtfType, b: BtfType): boolean => a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));

const sameEssentialName = (a: string, b: string): boolean => {
  const n = essentialNameLength(a);
  return n === essentialNameLength(b) && a.slice(0, n) === b.slice(0, n);
};

/** An INT that is not a legacy bitfield-style int (bit offset 0). */
const plainInt = (t: BtfType): boolean => (t.int?.offset ?? 0) === 0;

/** Whether target field type `targId` can be read as local field type `localId` (bpf_core_fields_are_compat). */
export function fieldsAreCompat(local: Btf, localId: number, target: Btf, targId: number): boolean {
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const l = skipModsAndTypedefs(local, localId).t;
    const t = skipModsAndTypedefs(target, targId).t;
    if (isComposite(l) && isComposite(t)) return true;
    if (!kindsCompat(l, t)) return false;
    switch (l.kind) {
      case BtfKind.PTR:
      case BtfKind.FLOAT:
        return true;
      case BtfKind.FWD:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        return sameEssentialName(l.name, t.name);
      case BtfKind.INT:
        return plainInt(l) && plainInt(t);
      case BtfKind.ARRAY:
        localId = l.array!.type;
        targId = t.array!.type;
        continue;
      default:
        return false;
    }
  }
  throw new CoreSpecError(`field types nest more than ${MAX_DEPTH} levels deep`);
}

/** Whether target type `targId` is compatible with local type `localId` (bpf_core_types_are_compat). */
export function typesAreCompat(local: Btf, localId: number, target: Btf, targId: number, depth = MAX_DEPTH): boolean {
  for (;;) {
    if (--depth < 0) throw new CoreSpecError(`types nest more than ${MAX_DEPTH} levels deep`);
    const l = skipModsAndTypedefs(local, localId).t;
    const t = skipModsAndTypedefs(target, targId).t;
    if (!kindsCompat(l, t)) return false;
    switch (l.kind) {
      case BtfKind.UNKN:
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FWD:
        return true;
      case BtfKind.INT:
        return plainInt(l) && plainInt(t);
      case BtfKind.PTR:
        localId = l.sizeOrType;
        targId = t.sizeOrType;
        continue;
      case BtfKind.ARRAY:
        localId = l.array!.type;
        targId = t.array!.type;
        continue;
      case BtfKind.FUNC_PROTO:
        if (l.vlen !== t.vlen) return false;
        for (let i = 0; i < l.vlen; i++)
          if (!typesAreCompat(local, l.members[i]!.type, target, t.members[i]!.type, depth)) return false;
        localId = l.sizeOrType;
        targId = t.sizeOrType;
        continue;
      default:
        return false;
    }
  }
}

/** An anonymous local name matches anything; otherwise the target must start with the local essential name. */
const namesMatch = (localName: string, targName: string): boolean => {
  if (localName === '') return true;
  const n = essentialNameLength(localName);
  return targName.slice(0, n) === localName.slice(0, n);
};

/** Whether target type `targId` matches local `localId` in layout and names (bpf_core_types_match). */
export function typesMatch(
  local: Btf,
  localId: number,
  target: Btf,
  targId: number,
  behindPtr = false,
  depth = MAX_DEPTH,
): boolean {
  for (;;) {
    if (--depth < 0) throw new CoreSpecError(`types nest more than ${MAX_DEPTH} levels deep`);
    const l = skipModsAndTypedefs(local, localId).t;
    const t = skipModsAndTypedefs(target, targId).t;
    if (!namesMatch(l.name, t.name)) return false;
    switch (l.kind) {
      case BtfKind.UNKN:
        return t.kind === BtfKind.UNKN;
      case BtfKind.FWD:
        if (behindPtr && t.kind !== BtfKind.FWD)
          return (t.kind === BtfKind.STRUCT && !l.kindFlag) || (t.kind === BtfKind.UNION && l.kindFlag);
        return t.kind === BtfKind.FWD && l.kindFlag === t.kindFlag;
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        if (!isAnyEnum(t) || l.sizeOrType !== t.sizeOrType || l.vlen > t.vlen) return false;
        return l.members.every((lm) => t.members.some((tm) => namesMatch(lm.name, tm.name)));
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        if (behindPtr) {
          if (l.kind === t.kind) return true;
          return t.kind === BtfKind.FWD && (l.kind === BtfKind.UNION) === t.kindFlag;
        }
        if (l.kind !== t.kind || l.vlen > t.vlen) return false;
        return l.members.every((lm) =>
          t.members.some(
            (tm) => namesMatch(lm.name, tm.name) && typesMatch(local, lm.type, target, tm.type, false, depth),
          ),
        );
      case BtfKind.INT:
        return (
          t.kind === BtfKind.INT &&
          l.sizeOrType === t.sizeOrType &&
          ((l.int?.encoding ?? 0) & 1) === ((t.int?.encoding ?? 0) & 1)
        );
      case BtfKind.PTR:
        if (t.kind !== BtfKind.PTR) return false;
        behindPtr = true;
        localId = l.sizeOrType;
        targId = t.sizeOrType;
        continue;
      case BtfKind.ARRAY:
        if (t.kind !== BtfKind.ARRAY || l.array!.nelems !== t.array!.nelems) return false;
        localId = l.array!.type;
        targId = t.array!.type;
        continue;
      case BtfKind.FUNC_PROTO:
        if (t.kind !== BtfKind.FUNC_PROTO || l.vlen !== t.vlen) return false;
        for (let i = 0; i < l.vlen; i++)
          if (!typesMatch(local, l.members[i]!.type, target, t.members[i]!.type, behindPtr, depth)) return false;
        localId = l.sizeOrType;
        targId = t.sizeOrType;
        continue;
      default:
        return false;
    }
  }
}
