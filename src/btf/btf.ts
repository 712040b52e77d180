/**
 * A reader for the BPF Type Format (the `.BTF` section clang emits with -g): header, type section and
 * string section, every kind up to ENUM64. The object loader needs it for BTF-defined maps (`.maps`),
 * whose definitions are encoded entirely in types: `__uint(max_entries, 16)` is a pointer to an array of
 * 16 ints, `__type(key, T)` a pointer to T.
 *
 * The header is read through a ByteReader and each record's extent is checked before its fields are read;
 * a malformed section is an InputError naming the type id and byte offset, and a size that overflows (an
 * array of 2^32 arrays) is refused as the kernel does. Member lists are read on first use (vmlinux has
 * ~600k members; a CO-RE load looks at a few), but all that could make them fail is checked while parsing.
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
  /**
   * The release (`uname -r`) of the kernel this BTF was read from, when it is the running kernel's
   * /sys/kernel/btf/vmlinux (the loader sets it); undefined for any other BTF.
   */
  kernelRelease?: string;
  /** The first type called `name` (of `kind` when given). */
  byName(name: string, kind?: number): BtfType | undefined;
  /** The ids of every type called `name`, in id order (empty for '' and for unknown names). */
  idsNamed(name: string): readonly number[];
  /** The ids of every type whose name starts with `prefix` (non-empty), in id order. */
  idsNamedFrom(prefix: string): readonly number[];
  /** Skip TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG (and, if asked, nothing else) to the underlying type. */
  resolve(id: number): BtfType;
  /** Size in bytes of a type, as the kernel computes it (btf_resolve_size). */
  sizeOf(id: number): number;
  /** The string at `offset` of the string section (.BTF.ext records name strings by offset), or undefined when out of range. */
  stringAt(offset: number): string | undefined;
}

/** The kinds that only qualify or rename the type they point at (the kernel's btf_type_is_modifier). */
export const BTF_MODIFIERS: ReadonlySet<number> = new Set([
  BtfKind.TYPEDEF,
  BtfKind.VOLATILE,
  BtfKind.CONST,
  BtfKind.RESTRICT,
  BtfKind.TYPE_TAG,
]);

/** The largest size the kernel's BTF accepts for any type (btf_resolve_size: U32_MAX, else E2BIG). */
const MAX_TYPE_SIZE = 0xffffffff;

const NO_IDS: readonly number[] = Object.freeze([]);
/** Distinct names a Btf looks up by searching its string section before it builds a full name index. */
const NAME_SEARCHES = 32;
/** Prefix lookups remembered per Btf (one per CO-RE root type name; bounded so memory stays bounded). */
const MAX_REMEMBERED_PREFIXES = 1024;
const utf8 = new TextDecoder('utf-8');
// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/** NUL-terminated strings of a BTF string section, by byte offset. */
interface StringTable {
  /** The section ends in a NUL, so every offset inside it starts a terminated string. */
  terminated: boolean;
  /** The string starting at `offset`, or undefined when no NUL ends it inside the section. */
  at(offset: number): string | undefined;
  /** Every offset at which `text` occurs, or undefined when the table cannot search (not all ASCII). */
  offsetsOf(text: string): number[] | undefined;
}

/**
 * Decode a string section. When it is all ASCII (every kernel's and compiler's is) the whole section
 * becomes one JS string whose character offsets are its byte offsets, and a name is a slice of it; any
 * other byte falls back to decoding each name as UTF-8 on its own, remembered by offset.
 */
function stringTable(bytes: Uint8Array): StringTable {
  const terminated = bytes.length > 0 && bytes[bytes.length - 1] === 0;
  // UTF-8 decoding turns every byte >= 0x80 (valid sequence or not) into a character >= 0x80, so the text
  // is free of them exactly when the bytes are ASCII; one native regex test instead of a JS loop.
  const text = utf8.decode(bytes);
  if (!NON_ASCII.test(text)) {
    return {
      terminated,
      at(offset) {
        const end = text.indexOf('\0', offset);
        return end < 0 ? undefined : text.slice(offset, end);
      },
      offsetsOf(needle) {
        const found: number[] = [];
        for (let p = text.indexOf(needle); p >= 0; p = text.indexOf(needle, p + 1)) found.push(p);
        return found;
      },
    };
  }
  const decoded = new Map<number, string>();
  return {
    terminated,
    at(offset) {
      let s = decoded.get(offset);
      if (s === undefined) {
        const end = bytes.indexOf(0, offset);
        if (end < 0) return undefined;
        s = utf8.decode(bytes.subarray(offset, end));
        decoded.set(offset, s);
      }
      return s;
    },
    offsetsOf: () => undefined,
  };
}

const isComposite = (kind: number): boolean => kind === BtfKind.STRUCT || kind === BtfKind.UNION;

/** A type as parseBtf returns it: plain fields, and members read from the record on first use. */
class ParsedType implements BtfType {
  kind: number;
  vlen: number;
  kindFlag: boolean;
  array?: { type: number; indexType: number; nelems: number };
  int?: { encoding: number; offset: number; bits: number };
  extra?: number;
  private read: ((t: ParsedType) => BtfMember[]) | undefined;
  private list: BtfMember[] | undefined;

  constructor(
    public id: number,
    info: number,
    public name: string,
    public sizeOrType: number,
    public recordAt: number,
    read: (t: ParsedType) => BtfMember[],
  ) {
    this.kind = (info >>> 24) & 0x1f;
    this.vlen = info & 0xffff;
    this.kindFlag = info >>> 31 === 1;
    this.read = this.vlen > 0 ? read : undefined;
  }

  get members(): BtfMember[] {
    if (this.list === undefined) {
      this.list = this.read ? this.read(this) : [];
      this.read = undefined;
    }
    return this.list;
  }

  set members(list: BtfMember[]) {
    this.list = list;
    this.read = undefined;
  }
}

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
  const hdr = (at: number, what: string) => r.u32(at, what);
  const version = raw[2];
  if (version !== 1) fail(`unsupported BTF version ${version}`, 2);
  const hdrLen = hdr(BTF_HEADER.hdrLen, 'hdr_len');
  if (hdrLen < BTF_HEADER.size || hdrLen > raw.length) fail(`BTF header length ${hdrLen} is out of range`, 4);
  const typeOff = hdrLen + hdr(BTF_HEADER.typeOff, 'type_off');
  const typeLen = hdr(BTF_HEADER.typeLen, 'type_len');
  const strOff = hdrLen + hdr(BTF_HEADER.strOff, 'str_off');
  const strLen = hdr(BTF_HEADER.strLen, 'str_len');
  if (typeOff > raw.length || typeLen > raw.length - typeOff)
    fail(`type section ${typeOff}+${typeLen} runs past the end (${raw.length} bytes)`, 8);
  if (strOff > raw.length || strLen > raw.length - strOff)
    fail(`string section ${strOff}+${strLen} runs past the end (${raw.length} bytes)`, 16);

  // Names come from one decoding of the whole string section (see stringTable): vmlinux has ~125k types
  // and ~600k members, and decoding each name separately was most of the parse time.
  const strings = stringTable(raw.subarray(strOff, strOff + strLen));
  const str = (off: number, at: number): string => {
    if (off === 0) return '';
    if (off >= strLen) fail(`string offset ${off} is beyond the string section (${strLen} bytes)`, at);
    const name = strings.at(off);
    if (name === undefined) fail(`string at offset ${off} is not NUL-terminated`, strOff + off);
    return name!;
  };

  // Plain DataView reads from here on: each record's extent is checked against the type section (`need`)
  // before any of its fields is read, so no single read can leave the section.
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const u32 = (at: number): number => dv.getUint32(at, little);
  const i32 = (at: number): number => dv.getInt32(at, little);

  // Member lists are read from the record when first asked for (ParsedType.members): a CO-RE load looks
  // at a handful of vmlinux's ~600k members, and building them all was most of the parse time (in GC).
  // Everything that could fail in them (extent, name offsets, type references) is checked below, eagerly.
  const readMembers = (t: ParsedType): BtfMember[] => {
    const members: BtfMember[] = new Array<BtfMember>(t.vlen);
    let at = t.recordAt + 12;
    switch (t.kind) {
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        for (let i = 0; i < t.vlen; i++, at += 12) {
          const off = u32(at + 8);
          members[i] = {
            name: str(u32(at), at),
            type: u32(at + 4),
            offset: t.kindFlag ? off & 0xffffff : off,
            size: t.kindFlag ? off >>> 24 : 0,
          };
        }
        return members;
      case BtfKind.ENUM:
        for (let i = 0; i < t.vlen; i++, at += 8) {
          // kind_flag marks a signed enum; otherwise values are unsigned.
          const val = t.kindFlag ? i32(at + 4) : u32(at + 4);
          members[i] = { name: str(u32(at), at), type: 0, offset: val, size: 0 };
        }
        return members;
      case BtfKind.ENUM64:
        for (let i = 0; i < t.vlen; i++, at += 12) {
          const hi = t.kindFlag ? i32(at + 8) : u32(at + 8);
          members[i] = { name: str(u32(at), at), type: 0, offset: hi * 0x100000000 + u32(at + 4), size: 0 };
        }
        return members;
      case BtfKind.FUNC_PROTO:
        for (let i = 0; i < t.vlen; i++, at += 8)
          members[i] = { name: str(u32(at), at), type: u32(at + 4), offset: 0, size: 0 };
        return members;
      case BtfKind.DATASEC:
        for (let i = 0; i < t.vlen; i++, at += 12)
          members[i] = { name: '', type: u32(at), offset: u32(at + 4), size: u32(at + 8) };
        return members;
      default:
        return [];
    }
  };
  // A string offset of a member, checked now so that reading the members later cannot fail.
  const nameOk = (off: number, at: number) => {
    if (off >= strLen) fail(`string offset ${off} is beyond the string section (${strLen} bytes)`, at);
    if (!strings.terminated && off !== 0) str(off, at);
  };

  const truncated = (t: BtfType): never =>
    fail(`type ${t.id} (${btfKindName(t.kind)} '${t.name}') is truncated`, t.recordAt);

  const types: BtfType[] = [new ParsedType(0, 0, '', 0, 0, readMembers)];
  // Each type's name offset, for name lookups that search the string section instead of hashing every name.
  let nameOffs = new Uint32Array(Math.max(16, typeLen >>> 4));
  const end = typeOff + typeLen;
  let at = typeOff;
  while (at < end) {
    const id = types.length;
    if (at + 12 > end) fail(`type ${id} is truncated`, at);
    const info = u32(at + 4);
    const nameOff = u32(at);
    const t = new ParsedType(id, info, str(nameOff, at), u32(at + 8), at, readMembers);
    if (id >= nameOffs.length) {
      const grown = new Uint32Array(nameOffs.length * 2);
      grown.set(nameOffs);
      nameOffs = grown;
    }
    nameOffs[id] = nameOff;
    const typeAt = at;
    at += 12;
    switch (t.kind) {
      case BtfKind.INT: {
        if (at + 4 > end) truncated(t);
        const enc = u32(at);
        t.int = { encoding: (enc >>> 24) & 0x0f, offset: (enc >>> 16) & 0xff, bits: enc & 0xff };
        at += 4;
        break;
      }
      case BtfKind.ARRAY:
        if (at + 12 > end) truncated(t);
        t.array = { type: u32(at), indexType: u32(at + 4), nelems: u32(at + 8) };
        at += 12;
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM64:
        if (at + 12 * t.vlen > end) truncated(t);
        for (let i = 0; i < t.vlen; i++, at += 12) nameOk(u32(at), at);
        break;
      case BtfKind.ENUM:
      case BtfKind.FUNC_PROTO:
        if (at + 8 * t.vlen > end) truncated(t);
        for (let i = 0; i < t.vlen; i++, at += 8) nameOk(u32(at), at);
        break;
      case BtfKind.VAR:
      case BtfKind.DECL_TAG:
        if (at + 4 > end) truncated(t);
        t.extra = t.kind === BtfKind.VAR ? u32(at) : i32(at);
        at += 4;
        break;
      case BtfKind.DATASEC:
        if (at + 12 * t.vlen > end) truncated(t);
        at += 12 * t.vlen;
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
  const refOk = (ref: number, t: BtfType, what: () => string) => {
    if (ref >= count)
      fail(
        `type ${t.id} (${btfKindName(t.kind)} '${t.name}'): ${what()} refers to type ${ref}, but there are only ${count - 1} types`,
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
        refOk(t.sizeOrType, t, () => 'its type');
        break;
      case BtfKind.ARRAY:
        refOk(t.array!.type, t, () => 'element type');
        refOk(t.array!.indexType, t, () => 'index type');
        break;
    }
    // Member types straight from the record, without building the members.
    const stride = t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION || t.kind === BtfKind.DATASEC ? 12 : 8;
    const typeAt = t.kind === BtfKind.DATASEC ? 0 : 4;
    if (isComposite(t.kind) || t.kind === BtfKind.FUNC_PROTO || t.kind === BtfKind.DATASEC) {
      for (let i = 0; i < t.vlen; i++) {
        const ref = u32(t.recordAt + 12 + i * stride + typeAt);
        if (ref >= count) refOk(ref, t, () => `member '${t.members[i]!.name}'`);
      }
    }
  }

  // Names are found where they are stored: the offsets at which `name\0` (or a prefix) occurs in the string
  // section, then the types whose name offset is one of them. A CO-RE load asks for a few names, and
  // hashing all of vmlinux's names for that would cost more than the parse; after NAME_SEARCHES distinct
  // names (or for a section that is not ASCII) one name -> ids map is built instead and serves the rest.
  const idsAtOffsets = (offsets: readonly number[]): number[] => {
    const ids: number[] = [];
    if (offsets.length === 0) return ids;
    const one = offsets.length === 1 ? offsets[0] : -1;
    const many = offsets.length > 1 ? new Set(offsets) : undefined;
    for (let id = 1; id < count; id++) {
      const off = nameOffs[id]!;
      if (off === one || many?.has(off)) ids.push(id);
    }
    return ids;
  };
  const searched = new Map<string, readonly number[]>();
  let nameIndex: Map<string, number[]> | undefined;
  const idsNamed = (name: string): readonly number[] => {
    if (!name) return NO_IDS;
    if (!nameIndex) {
      const known = searched.get(name);
      if (known) return known;
      const offsets = searched.size < NAME_SEARCHES ? strings.offsetsOf(`${name}\0`) : undefined;
      if (offsets) {
        const ids = idsAtOffsets(offsets);
        searched.set(name, ids);
        return ids;
      }
      nameIndex = new Map();
      for (const t of types) {
        if (!t.name) continue;
        const ids = nameIndex.get(t.name);
        if (ids) ids.push(t.id);
        else nameIndex.set(t.name, [t.id]);
      }
    }
    return nameIndex.get(name) ?? NO_IDS;
  };
  const prefixed = new Map<string, readonly number[]>();
  const idsNamedFrom = (prefix: string): readonly number[] => {
    if (!prefix) return NO_IDS;
    const known = prefixed.get(prefix);
    if (known) return known;
    const offsets = strings.offsetsOf(prefix);
    const ids = offsets ? idsAtOffsets(offsets) : types.filter((t) => t.name.startsWith(prefix)).map((t) => t.id);
    if (prefixed.size < MAX_REMEMBERED_PREFIXES) prefixed.set(prefix, ids);
    return ids;
  };

  const resolve = (id: number): BtfType => {
    let t = types[id];
    for (let hops = 0; t && BTF_MODIFIERS.has(t.kind); hops++) {
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
      for (const id of idsNamed(name)) if (kind === undefined || types[id]!.kind === kind) return types[id];
      return undefined;
    },
    idsNamed,
    idsNamedFrom,
    resolve,
    sizeOf: (id) => sizeOf(id),
    stringAt: (offset) => (Number.isInteger(offset) && offset >= 0 && offset < strLen ? strings.at(offset) : undefined),
  };
}
