/**
 * A reader for the BPF Type Format (the `.BTF` section clang emits with -g): header, type section and
 * string section, every kind up to ENUM64. The object loader needs it for BTF-defined maps (`.maps`),
 * whose definitions are encoded entirely in types: `__uint(max_entries, 16)` is a pointer to an array of
 * 16 ints, `__type(key, T)` a pointer to T.
 *
 * Every read goes through a ByteReader (bytes.ts); a malformed section is an InputError naming the type
 * id and byte offset, and a size that overflows (an array of 2^32 arrays) is refused as the kernel does.
 */
import { InputError } from '../util/errors.js';
import { ByteReader, type PlaceNamer } from '../util/byte-reader.js';

/** BTF_KIND_* numbers (include/uapi/linux/btf.h). */
export const BtfKind = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

const KIND_NAMES = Object.fromEntries(Object.entries(BtfKind).map(([k, v]) => [v, k])) as Record<number, string>;
/** The name of a BTF kind (`STRUCT`, `FUNC`...), or `kindN` for an unknown one. */
export const btfKindName = (kind: number): string => KIND_NAMES[kind] ?? `kind${kind}`;

/** A struct/union member, enum value, function parameter or datasec variable, depending on the kind. */
export interface BtfMember {
  name: string;
  /** Member/param/var type id (0 for enum values). */
  type: number;
  /** STRUCT/UNION: bit offset; DATASEC: byte offset; ENUM/ENUM64: the value (signed when kindFlag; 64-bit values exact up to 2^53). */
  offset: number;
  /** STRUCT/UNION with kind_flag: bitfield size in bits, else 0. DATASEC: size in bytes. */
  size: number;
}

/** One BTF type: its kind, name, size or referenced type, and members. */
export interface BtfType {
  id: number;
  kind: number;
  name: string;
  /** info bits 0-15 */
  vlen: number;
  kindFlag: boolean;
  /** size (INT, STRUCT, UNION, ENUM, DATASEC, FLOAT, ENUM64) or referenced type (the others). */
  sizeOrType: number;
  /** ARRAY only. */
  array?: { type: number; indexType: number; nelems: number };
  /** INT only: encoding bits, bit offset, bit count. */
  int?: { encoding: number; offset: number; bits: number };
  /** VAR: linkage; DECL_TAG: component index. */
  extra?: number;
  members: BtfMember[];
  /** Byte offset of the type's record in the raw section (0 for void), for fixups that edit it in place. */
  recordAt: number;
}

/** A parsed .BTF section. */
export interface Btf {
  endian: 'little' | 'big';
  /** types[0] is void; types[id] for id >= 1. */
  types: BtfType[];
  /** The raw section. */
  raw: Uint8Array;
  /** The first type called `name` (of `kind` when given). */
  byName(name: string, kind?: number): BtfType | undefined;
  /** Skip TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG (and, if asked, nothing else) to the underlying type. */
  resolve(id: number): BtfType;
  /** Size in bytes of a type, as the kernel computes it (btf_resolve_size). */
  sizeOf(id: number): number;
  /** The string at `offset` of the string section (.BTF.ext records name strings by offset), or undefined when out of range. */
  stringAt(offset: number): string | undefined;
}

const MODIFIERS: ReadonlySet<number> = new Set([
  BtfKind.TYPEDEF,
  BtfKind.VOLATILE,
  BtfKind.CONST,
  BtfKind.RESTRICT,
  BtfKind.TYPE_TAG,
]);

/** The largest size the kernel's BTF accepts for any type (btf_resolve_size: U32_MAX, else E2BIG). */
const MAX_TYPE_SIZE = 0xffffffff;

/** Where the fields of the 24-byte BTF header are (struct btf_header). */
export const BTF_HEADER = { hdrLen: 4, typeOff: 8, typeLen: 12, strOff: 16, strLen: 20, size: 24 } as const;

/** Parse a .BTF section. Throws InputError naming `source` and the offset on anything malformed. */
export function parseBtf(raw: Uint8Array, source = '.BTF'): Btf {
  const place: PlaceNamer = (at) => (at === undefined ? source : `${source}+0x${at.toString(16)}`);
  const fail = (message: string, offset?: number): never => {
    throw new InputError(message, place(offset));
  };
  if (raw.length < BTF_HEADER.size) fail(`section is ${raw.length} bytes, shorter than the 24-byte BTF header`, 0);
  // The magic 0xeB9F is stored in the target's byte order, which tells us the order of everything else.
  let little: boolean;
  if (raw[0] === 0x9f && raw[1] === 0xeb) little = true;
  else if (raw[0] === 0xeb && raw[1] === 0x9f) little = false;
  else return fail(`bad BTF magic 0x${(raw[0]! | (raw[1]! << 8)).toString(16)} (expected 0xeb9f)`, 0);
  const r = new ByteReader(raw, little ? 'little' : 'big', place, 'the .BTF section');
  const u32 = (at: number, what: string) => r.u32(at, what);
  const version = raw[2];
  if (version !== 1) fail(`unsupported BTF version ${version}`, 2);
  const hdrLen = u32(BTF_HEADER.hdrLen, 'hdr_len');
  if (hdrLen < BTF_HEADER.size || hdrLen > raw.length) fail(`BTF header length ${hdrLen} is out of range`, 4);
  const typeOff = hdrLen + u32(BTF_HEADER.typeOff, 'type_off');
  const typeLen = u32(BTF_HEADER.typeLen, 'type_len');
  const strOff = hdrLen + u32(BTF_HEADER.strOff, 'str_off');
  const strLen = u32(BTF_HEADER.strLen, 'str_len');
  if (typeOff > raw.length || typeLen > raw.length - typeOff)
    fail(`type section ${typeOff}+${typeLen} runs past the end (${raw.length} bytes)`, 8);
  if (strOff > raw.length || strLen > raw.length - strOff)
    fail(`string section ${strOff}+${strLen} runs past the end (${raw.length} bytes)`, 16);

  // Strings are read through a reader over the string section alone, so a name cannot run out of it.
  const strings = r.sub(strOff, strLen, 'string section', (at) => place(at === undefined ? undefined : strOff + at));
  const str = (off: number, at: number): string => {
    if (off === 0) return '';
    if (off >= strLen) fail(`string offset ${off} is beyond the string section (${strLen} bytes)`, at);
    return strings.cstring(off, `string at offset ${off}`);
  };

  const types: BtfType[] = [
    { id: 0, kind: BtfKind.UNKN, name: '', vlen: 0, kindFlag: false, sizeOrType: 0, members: [], recordAt: 0 },
  ];
  const end = typeOff + typeLen;
  let at = typeOff;
  while (at < end) {
    const id = types.length;
    if (at + 12 > end) fail(`type ${id} is truncated`, at);
    const nameOff = u32(at, `type ${id} name_off`);
    const info = u32(at + 4, `type ${id} info`);
    const t: BtfType = {
      id,
      kind: (info >>> 24) & 0x1f,
      name: str(nameOff, at),
      vlen: info & 0xffff,
      kindFlag: info >>> 31 === 1,
      sizeOrType: u32(at + 8, `type ${id} size/type`),
      members: [],
      recordAt: at,
    };
    const what = `type ${id} (${btfKindName(t.kind)})`;
    const typeAt = at;
    at += 12;
    const need = (n: number) => {
      if (at + n > end) fail(`type ${id} (${btfKindName(t.kind)} '${t.name}') is truncated`, typeAt);
    };
    switch (t.kind) {
      case BtfKind.INT: {
        need(4);
        const enc = u32(at, what);
        t.int = { encoding: (enc >>> 24) & 0x0f, offset: (enc >>> 16) & 0xff, bits: enc & 0xff };
        at += 4;
        break;
      }
      case BtfKind.ARRAY:
        need(12);
        t.array = { type: u32(at, what), indexType: u32(at + 4, what), nelems: u32(at + 8, what) };
        at += 12;
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        need(12 * t.vlen);
        for (let i = 0; i < t.vlen; i++, at += 12) {
          const off = u32(at + 8, what);
          t.members.push({
            name: str(u32(at, what), at),
            type: u32(at + 4, what),
            offset: t.kindFlag ? off & 0xffffff : off,
            size: t.kindFlag ? off >>> 24 : 0,
          });
        }
        break;
      case BtfKind.ENUM:
        need(8 * t.vlen);
        for (let i = 0; i < t.vlen; i++, at += 8) {
          // kind_flag marks a signed enum; otherwise values are unsigned.
          const val = t.kindFlag ? r.i32(at + 4, what) : u32(at + 4, what);
          t.members.push({ name: str(u32(at, what), at), type: 0, offset: val, size: 0 });
        }
        break;
      case BtfKind.ENUM64:
        need(12 * t.vlen);
        for (let i = 0; i < t.vlen; i++, at += 12) {
          const hi = t.kindFlag ? r.i32(at + 8, what) : u32(at + 8, what);
          t.members.push({
            name: str(u32(at, what), at),
            type: 0,
            offset: hi * 0x100000000 + u32(at + 4, what),
            size: 0,
          });
        }
        break;
      case BtfKind.FUNC_PROTO:
        need(8 * t.vlen);
        for (let i = 0; i < t.vlen; i++, at += 8)
          t.members.push({ name: str(u32(at, what), at), type: u32(at + 4, what), offset: 0, size: 0 });
        break;
      case BtfKind.VAR:
      case BtfKind.DECL_TAG:
        need(4);
        t.extra = t.kind === BtfKind.VAR ? u32(at, what) : r.i32(at, what);
        at += 4;
        break;
      case BtfKind.DATASEC:
        need(12 * t.vlen);
        for (let i = 0; i < t.vlen; i++, at += 12)
          t.members.push({ name: '', type: u32(at, what), offset: u32(at + 4, what), size: u32(at + 8, what) });
        break;
      case BtfKind.PTR:
      case BtfKind.FWD:
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.FUNC:
      case BtfKind.FLOAT:
      case BtfKind.TYPE_TAG:
        break;
      default:
        fail(`type ${id} has unknown BTF kind ${t.kind}`, typeAt + 4);
    }
    types.push(t);
  }

  // Reference checks, so lookups below never index past the table.
  const count = types.length;
  const refOk = (ref: number, t: BtfType, what: string) => {
    if (ref >= count)
      fail(
        `type ${t.id} (${btfKindName(t.kind)} '${t.name}'): ${what} refers to type ${ref}, but there are only ${count - 1} types`,
      );
  };
  for (const t of types) {
    switch (t.kind) {
      case BtfKind.PTR:
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.FUNC:
      case BtfKind.VAR:
      case BtfKind.DECL_TAG:
      case BtfKind.TYPE_TAG:
      case BtfKind.FUNC_PROTO:
        refOk(t.sizeOrType, t, 'its type');
        break;
      case BtfKind.ARRAY:
        refOk(t.array!.type, t, 'element type');
        refOk(t.array!.indexType, t, 'index type');
        break;
    }
    if (
      t.kind === BtfKind.STRUCT ||
      t.kind === BtfKind.UNION ||
      t.kind === BtfKind.FUNC_PROTO ||
      t.kind === BtfKind.DATASEC
    ) {
      for (const m of t.members) refOk(m.type, t, `member '${m.name}'`);
    }
  }

  const byNameCache = new Map<string, BtfType>();
  for (const t of types)
    if (t.name && !byNameCache.has(`${t.kind}:${t.name}`)) byNameCache.set(`${t.kind}:${t.name}`, t);

  const resolve = (id: number): BtfType => {
    let t = types[id];
    for (let hops = 0; t && MODIFIERS.has(t.kind); hops++) {
      if (hops > 64) fail(`type ${id}: modifier chain is too long (a loop?)`);
      t = types[t.sizeOrType];
    }
    if (!t) return fail(`type id ${id} is out of range (${count - 1} types)`);
    return t;
  };

  const sizeOf = (id: number, depth = 0): number => {
    if (depth > 64) fail(`type ${id}: type nesting is too deep (a loop?)`);
    const t = resolve(id);
    switch (t.kind) {
      case BtfKind.INT:
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FLOAT:
      case BtfKind.DATASEC:
        return t.sizeOrType;
      case BtfKind.PTR:
        return 8;
      case BtfKind.ARRAY: {
        const size = t.array!.nelems * sizeOf(t.array!.type, depth + 1);
        if (size > MAX_TYPE_SIZE)
          fail(
            `type ${id}: array of ${t.array!.nelems} elements is ${size} bytes, more than BTF's limit of ${MAX_TYPE_SIZE}`,
          );
        return size;
      }
      case BtfKind.VAR:
        return sizeOf(t.sizeOrType, depth + 1);
      default:
        return fail(`type ${id} (${btfKindName(t.kind)} '${t.name}') has no size`);
    }
  };

  return {
    endian: little ? 'little' : 'big',
    types,
    raw,
    byName(name, kind) {
      if (kind !== undefined) return byNameCache.get(`${kind}:${name}`);
      return types.find((t) => t.name === name);
    },
    resolve,
    sizeOf: (id) => sizeOf(id),
    stringAt: (offset) =>
      offset >= 0 && offset < strLen ? strings.cstring(offset, `string at offset ${offset}`) : undefined,
  };
}
