/**
 * Resolving one CO-RE relocation as libbpf does (relo_core.c): parse the access string in the object's
 * BTF, find candidate types in the target BTF with the same kind and essential name (flavours `___x`
 * stripped), keep the candidates the access path matches (members found by name, anonymous members
 * searched through, array bounds respected), compute the value each gives and insist they agree
 * (ambiguity is an error). No candidate at all: existence kinds give 0, the others ask for the
 * instruction to be poisoned (it then fails only if the program reaches it).
 *
 * Pure: two parsed BTFs in, numbers out. Patching instructions is src/elf's job (core-apply.ts).
 */
import { BtfKind, type Btf, type BtfType } from '../btf.js';
import {
  CoreSpecError,
  essentialName,
  essentialNameLength,
  isAnyEnum,
  isComposite,
  isFlexArray,
  parseCoreSpec,
  sizeOrFail,
  skipModsAndTypedefs,
  CORE_SPEC_MAX_LEN,
  type CoreSpec,
} from './access.js';
import { fieldsAreCompat, kindsCompat, typesAreCompat, typesMatch } from './compat.js';
import { CoreReloKind, coreReloKindName, isEnumValueKind, isFieldKind } from './kinds.js';

/** One relocation record, as `.BTF.ext` gives it (pc aside). */
export interface CoreRelocation {
  typeId: number;
  access: string;
  kind: number;
}

/** What a relocation resolved to. */
export interface CoreResolution {
  /** The value for the object's own BTF (what the compiler wrote, checked against the instruction). */
  localValue: number;
  /** The value for the target BTF (what the instruction gets). */
  targetValue: number;
  /** Whether the instruction must hold `localValue` now (false for bitfield offsets, where clang may differ). */
  validate: boolean;
  /** No candidate matched and the kind has no "absent" value: turn the instruction into an invalid call. */
  poison: boolean;
  /** FIELD_BYTE_OFFSET of a non-bitfield: the field's size locally and in the target (load/store width). */
  localSize: number;
  targetSize: number;
  /** The width changes between types for which libbpf refuses to adjust a load (signed ints, structs). */
  failMemSizeAdjust: boolean;
  /** One line for objdump: what was looked up and what it gave. */
  description: string;
}

/** Why a relocation cannot be resolved (ambiguity, malformed access string): the message of a one-line error. */
export class CoreRelocationError extends Error {}

/**
 * Target types whose kind is compatible with the local root type and whose essential name equals its
 * own: the types called exactly that, and flavours of it (`task_struct___v2`), both from the target's
 * name lookups rather than a scan of every type.
 */
export function findCandidates(local: Btf, localId: number, target: Btf): number[] {
  const lt = local.types[localId]!;
  const name = essentialName(lt.name);
  const flavoured = target.idsNamedFrom(`${name}___`).filter((id) => essentialName(target.types[id]!.name) === name);
  const exact = target.idsNamed(name);
  const ids = flavoured.length > 0 ? [...exact, ...flavoured].sort((a, b) => a - b) : exact;
  return ids.filter((id) => kindsCompat(target.types[id]!, lt));
}

/**
 * Resolve `relo` (against the object's BTF `local`) in `target`. `endian` is the program's byte order
 * (bitfield shifts depend on it). Throws CoreRelocationError for what libbpf refuses.
 */
export function resolveCoreRelocation(
  local: Btf,
  target: Btf,
  relo: CoreRelocation,
  endian: 'little' | 'big' = 'little',
): CoreResolution {
  try {
    return resolve(local, target, relo, endian);
  } catch (err) {
    if (err instanceof CoreSpecError) throw new CoreRelocationError(err.message);
    throw err;
  }
}

function resolve(local: Btf, target: Btf, relo: CoreRelocation, endian: 'little' | 'big'): CoreResolution {
  const kindName = coreReloKindName(relo.kind);
  const localSpec = parseCoreSpec(local, relo.typeId, relo.access, relo.kind);
  const what = describeSpec(localSpec);
  if (relo.kind === CoreReloKind.TYPE_ID_LOCAL) {
    return { ...base(relo.typeId, relo.typeId), description: `${kindName} ${what}: ${relo.typeId}` };
  }
  const root = local.types[relo.typeId]!;
  if (!root.name)
    throw new CoreRelocationError(`${kindName} [${relo.typeId}]: the root type is anonymous, nothing to look up`);

  const localCalc = calc(localSpec, relo.kind, endian);
  let found: { spec: CoreSpec; value: Calc } | undefined;
  for (const candId of findCandidates(local, relo.typeId, target)) {
    const spec = matchSpec(localSpec, target, candId);
    if (!spec) continue;
    const value = calc(spec, relo.kind, endian);
    if (!found) {
      found = { spec, value };
      continue;
    }
    if (spec.bitOffset !== found.spec.bitOffset)
      throw new CoreRelocationError(
        `${kindName} ${what}: field offset ambiguity: [${found.spec.rootId}] gives bit ${found.spec.bitOffset}, [${candId}] bit ${spec.bitOffset}`,
      );
    if (!found.value.poison && value.value !== found.value.value)
      throw new CoreRelocationError(
        `${kindName} ${what}: relocation decision ambiguity: [${found.spec.rootId}] gives ${found.value.value}, [${candId}] ${value.value}`,
      );
  }
  const targ = found ? found.value : calc(undefined, relo.kind, endian);
  let failMemSizeAdjust = false;
  if (found && relo.kind === CoreReloKind.FIELD_BYTE_OFFSET && localCalc.size !== targ.size) {
    failMemSizeAdjust = !canAdjustSize(local, localCalc.typeId, target, targ.typeId);
  }
  const result: CoreResolution = {
    localValue: localCalc.value,
    targetValue: targ.value,
    validate: localCalc.validate,
    poison: targ.poison,
    localSize: localCalc.size,
    targetSize: targ.size,
    failMemSizeAdjust,
    description: '',
  };
  result.description = targ.poison
    ? `${kindName} ${what}: not found in target BTF, instruction poisoned`
    : `${kindName} ${what}: ${localCalc.value} -> ${targ.value}${found ? ` (target [${found.spec.rootId}] ${found.spec.btf.types[found.spec.rootId]!.name})` : ' (not in target)'}`;
  return result;
}

const base = (localValue: number, targetValue: number): CoreResolution => ({
  localValue,
  targetValue,
  validate: true,
  poison: false,
  localSize: 0,
  targetSize: 0,
  failMemSizeAdjust: false,
  description: '',
});

/** "struct task_struct.pid", "enum foo::BAR", "struct sk_buff[0]" — how objdump names a relocation's target. */
function describeSpec(spec: CoreSpec): string {
  const root = spec.btf.types[spec.rootId]!;
  const kindWord =
    root.kind === BtfKind.STRUCT ? 'struct ' : root.kind === BtfKind.UNION ? 'union ' : isAnyEnum(root) ? 'enum ' : '';
  let text = `${kindWord}${root.name || `[${spec.rootId}]`}`;
  if (isEnumValueKind(spec.kind)) return `${text}::${spec.accessors[0]!.name}`;
  if (!isFieldKind(spec.kind)) return text;
  if (spec.raw[0] !== 0) text += `[${spec.raw[0]}]`;
  for (const a of spec.accessors.slice(1)) text += a.name ? `.${a.name}` : `[${a.idx}]`;
  return text;
}

/** Match the local access path in target type `targId` (bpf_core_spec_match); undefined when it does not fit. */
function matchSpec(local: CoreSpec, target: Btf, targId: number): CoreSpec | undefined {
  const spec: CoreSpec = { btf: target, rootId: targId, kind: local.kind, raw: [], accessors: [], bitOffset: 0 };
  if (!isFieldKind(local.kind) && !isEnumValueKind(local.kind)) {
    const ok =
      local.kind === CoreReloKind.TYPE_MATCHES
        ? typesMatch(local.btf, local.rootId, target, targId)
        : typesAreCompat(local.btf, local.rootId, target, targId);
    return ok ? spec : undefined;
  }
  if (isEnumValueKind(local.kind)) {
    const { t, id } = skipModsAndTypedefs(target, targId);
    if (!isAnyEnum(t)) return undefined;
    const want = local.accessors[0]!.name!;
    const n = essentialNameLength(want);
    const idx = t.members.findIndex(
      (m) => essentialNameLength(m.name) === n && m.name.slice(0, n) === want.slice(0, n),
    );
    if (idx < 0) return undefined;
    spec.accessors.push({ typeId: id, idx, name: t.members[idx]!.name });
    spec.raw.push(idx);
    return spec;
  }
  let id = targId;
  for (let i = 0; i < local.accessors.length; i++) {
    const la = local.accessors[i]!;
    const { t, id: tid } = skipModsAndTypedefs(target, id);
    id = tid;
    if (la.name) {
      const next = matchMember(local, la, target, id, spec);
      if (next === undefined) return undefined;
      id = next;
      continue;
    }
    if (i > 0) {
      if (t.kind !== BtfKind.ARRAY) return undefined;
      const a = t.array!;
      if (!isFlexArray(target, spec.accessors[spec.accessors.length - 1], a.nelems) && la.idx >= a.nelems)
        return undefined;
      id = skipModsAndTypedefs(target, a.type).id;
    }
    if (spec.raw.length >= CORE_SPEC_MAX_LEN)
      throw new CoreSpecError(`access path is deeper than ${CORE_SPEC_MAX_LEN}`);
    spec.accessors.push({ typeId: id, idx: la.idx });
    spec.raw.push(la.idx);
    spec.bitOffset += la.idx * sizeOrFail(target, id) * 8;
  }
  return spec;
}

/**
 * Find local named member `la` in target composite `targId`, searching through anonymous members
 * (bpf_core_match_member). On success pushes the accessor, adds the offsets and returns the member's type.
 */
function matchMember(
  local: CoreSpec,
  la: { typeId: number; idx: number; name?: string },
  target: Btf,
  targId: number,
  spec: CoreSpec,
): number | undefined {
  const localMember = local.btf.types[la.typeId]!.members[la.idx]!;
  const { t, id } = skipModsAndTypedefs(target, targId);
  if (!isComposite(t)) return undefined;
  for (let i = 0; i < t.vlen; i++) {
    const m = t.members[i]!;
    if (spec.raw.length >= CORE_SPEC_MAX_LEN)
      throw new CoreSpecError(`access path is deeper than ${CORE_SPEC_MAX_LEN}`);
    spec.bitOffset += m.offset;
    spec.raw.push(i);
    if (!m.name) {
      const found = matchMember(local, la, target, m.type, spec);
      if (found !== undefined) return found;
    } else if (m.name === localMember.name) {
      if (!fieldsAreCompat(local.btf, localMember.type, target, m.type)) return undefined;
      spec.accessors.push({ typeId: id, idx: i, name: m.name });
      return m.type;
    }
    spec.bitOffset -= m.offset;
    spec.raw.pop();
  }
  return undefined;
}

interface Calc {
  value: number;
  poison: boolean;
  validate: boolean;
  /** FIELD_BYTE_OFFSET of a non-bitfield: the field's size and type id. */
  size: number;
  typeId: number;
}

/** The value a spec gives for `kind` (bpf_core_calc_field/type/enumval_relo); no spec = no candidate. */
function calc(spec: CoreSpec | undefined, kind: number, endian: 'little' | 'big'): Calc {
  const out: Calc = { value: 0, poison: false, validate: true, size: 0, typeId: 0 };
  if (isFieldKind(kind)) {
    if (kind === CoreReloKind.FIELD_EXISTS) return { ...out, value: spec ? 1 : 0 };
    if (!spec) return { ...out, poison: true };
    return calcField(spec, kind, endian, out);
  }
  if (isEnumValueKind(kind)) {
    if (kind === CoreReloKind.ENUMVAL_EXISTS) return { ...out, value: spec ? 1 : 0 };
    if (!spec) return { ...out, poison: true };
    const a = spec.accessors[0]!;
    return { ...out, value: spec.btf.types[a.typeId]!.members[a.idx]!.offset };
  }
  // Type-based kinds give 0 when the target has no such type.
  if (!spec) return out;
  switch (kind) {
    case CoreReloKind.TYPE_ID_TARGET:
    case CoreReloKind.TYPE_ID_LOCAL:
      return { ...out, value: spec.rootId };
    case CoreReloKind.TYPE_EXISTS:
    case CoreReloKind.TYPE_MATCHES:
      return { ...out, value: 1 };
    case CoreReloKind.TYPE_SIZE:
      return { ...out, value: sizeOrFail(spec.btf, spec.rootId) };
    default:
      throw new CoreSpecError(`relocation kind ${kind} is unknown`);
  }
}

function calcField(spec: CoreSpec, kind: number, endian: 'little' | 'big', out: Calc): Calc {
  const acc = spec.accessors[spec.accessors.length - 1]!;
  if (!acc.name) {
    // The path ends in an array index (or is the root itself): offsets and sizes only.
    const size = sizeOrFail(spec.btf, acc.typeId);
    if (kind === CoreReloKind.FIELD_BYTE_OFFSET) return { ...out, value: spec.bitOffset / 8, size, typeId: acc.typeId };
    if (kind === CoreReloKind.FIELD_BYTE_SIZE) return { ...out, value: size };
    throw new CoreSpecError(`${coreReloKindName(kind)} cannot be applied to an array element`);
  }
  const holder = spec.btf.types[acc.typeId]!;
  const m = holder.members[acc.idx]!;
  const { t: mt, id: fieldTypeId } = skipModsAndTypedefs(spec.btf, m.type);
  const bitOff = spec.bitOffset;
  let bitSize = m.size;
  const bitfield = bitSize > 0;
  let byteSize: number;
  let byteOff: number;
  if (bitfield) {
    // The smallest aligned load of the field's int width (doubling) that covers the bits.
    byteSize = mt.sizeOrType;
    byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    while (bitOff + bitSize - byteOff * 8 > byteSize * 8) {
      if (byteSize >= 8) throw new CoreSpecError(`bitfield at bit ${bitOff} cannot be read with a 64-bit load`);
      byteSize *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    }
  } else {
    byteSize = sizeOrFail(spec.btf, fieldTypeId);
    byteOff = bitOff / 8;
    bitSize = byteSize * 8;
  }
  // Bitfield placement is where clang and libbpf may legitimately differ, so only signedness is checked there.
  out.validate = !bitfield;
  switch (kind) {
    case CoreReloKind.FIELD_BYTE_OFFSET:
      out.value = byteOff;
      if (!bitfield) {
        out.size = byteSize;
        out.typeId = fieldTypeId;
      }
      return out;
    case CoreReloKind.FIELD_BYTE_SIZE:
      out.value = byteSize;
      return out;
    case CoreReloKind.FIELD_SIGNED:
      out.value = (isAnyEnum(mt) && mt.kindFlag) || (mt.kind === BtfKind.INT && (mt.int!.encoding & 1) !== 0) ? 1 : 0;
      out.validate = true;
      return out;
    case CoreReloKind.FIELD_LSHIFT_U64:
      out.value =
        endian === 'little' ? 64 - (bitOff + bitSize - byteOff * 8) : (8 - byteSize) * 8 + (bitOff - byteOff * 8);
      return out;
    case CoreReloKind.FIELD_RSHIFT_U64:
      out.value = 64 - bitSize;
      out.validate = true;
      return out;
    default:
      throw new CoreSpecError(`relocation kind ${kind} is unknown`);
  }
}

/** libbpf lets a load change width only between pointers, unsigned ints or unsigned enums. */
function canAdjustSize(local: Btf, localId: number, target: Btf, targId: number): boolean {
  const l: BtfType = local.types[localId]!;
  const t: BtfType = target.types[targId]!;
  if (l.kind === BtfKind.PTR && t.kind === BtfKind.PTR) return true;
  if (l.kind === BtfKind.INT && t.kind === BtfKind.INT)
    return (l.int!.encoding & 1) === 0 && (t.int!.encoding & 1) === 0;
  if (isAnyEnum(l) && isAnyEnum(t)) return !l.kindFlag && !t.kindFlag;
  return false;
}
