/**
 * Events as objects: a struct from the program's BTF becomes a decoder that turns the bytes a program
 * wrote (ring buffer sample, map value) into a plain object, field by field — integers as numbers
 * (64-bit ones as bigint), char arrays as strings up to the first NUL, other arrays as arrays, nested
 * structs as objects, bitfields by their bits. The decoder is built once per type; decoding allocates only
 * the result.
 */
import { BtfKind, type Btf } from '../btf/btf.js';
import { InputError } from '../util/errors.js';

/** A decoded event: field names to values. */
export type EventObject = Record<string, unknown>;

type Reader = (v: DataView, at: number) => unknown;

/** A decoder for struct (or union) `name` of `btf`; InputError when the BTF has no such type. */
export function structDecoder(btf: Btf, name: string): (bytes: Uint8Array) => EventObject {
  const t = btf.byName(name, BtfKind.STRUCT) ?? btf.byName(name, BtfKind.UNION);
  if (!t) throw new InputError(`the program's BTF has no struct ${name}`);
  const read = readerFor(btf, t.id);
  const size = btf.sizeOf(t.id);
  return (bytes) => {
    if (bytes.length < size)
      throw new InputError(`event of ${bytes.length} bytes is shorter than struct ${name} (${size})`);
    return read(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0) as EventObject;
  };
}

const latin1 = new TextDecoder('latin1');

function readerFor(btf: Btf, id: number): Reader {
  const t = btf.types[id]!;
  switch (t.kind) {
    case BtfKind.TYPEDEF:
    case BtfKind.CONST:
    case BtfKind.VOLATILE:
    case BtfKind.RESTRICT:
    case BtfKind.TYPE_TAG:
      return readerFor(btf, t.sizeOrType);
    case BtfKind.INT:
    case BtfKind.ENUM:
    case BtfKind.ENUM64: {
      const signed = t.kind === BtfKind.INT ? (t.int!.encoding & 1) === 1 : t.kindFlag;
      if (t.kind === BtfKind.INT && t.int!.encoding & 4) return (v, at) => v.getUint8(at) !== 0;
      return intReader(t.sizeOrType, signed);
    }
    case BtfKind.PTR:
      return (v, at) => v.getBigUint64(at, true);
    case BtfKind.FLOAT:
      return t.sizeOrType === 4 ? (v, at) => v.getFloat32(at, true) : (v, at) => v.getFloat64(at, true);
    case BtfKind.ARRAY: {
      const { type: elem, nelems } = t.array!;
      const e = btf.resolve(elem);
      const esize = btf.sizeOf(elem);
      // Plain `char` arrays (and BTF_INT_CHAR ones) are text; `unsigned char` / __u8 arrays are bytes.
      if (e.kind === BtfKind.INT && esize === 1 && (e.int!.encoding & 2 || e.name === 'char')) {
        return (v, at) => {
          const bytes = new Uint8Array(v.buffer, v.byteOffset + at, nelems);
          const end = bytes.indexOf(0);
          return latin1.decode(end < 0 ? bytes : bytes.subarray(0, end));
        };
      }
      const r = readerFor(btf, elem);
      return (v, at) => Array.from({ length: nelems }, (_, i) => r(v, at + i * esize));
    }
    case BtfKind.STRUCT:
    case BtfKind.UNION: {
      const fields = t.members.map((m) => {
        const bits = t.kindFlag ? m.size : 0;
        const byte = Math.floor(m.offset / 8);
        if (bits) return { name: m.name, read: bitfieldReader(m.offset, bits) };
        return { name: m.name, read: offsetReader(readerFor(btf, m.type), byte) };
      });
      return (v, at) => {
        const o: EventObject = {};
        for (const f of fields) {
          const value = f.read(v, at);
          // Anonymous struct/union members lift their fields into the parent, as C lets code name them.
          if (f.name === '' && value && typeof value === 'object' && !Array.isArray(value)) Object.assign(o, value);
          else o[f.name] = value;
        }
        return o;
      };
    }
    default:
      return () => undefined;
  }
}

function offsetReader(r: Reader, off: number): Reader {
  return (v, at) => r(v, at + off);
}

function intReader(size: number, signed: boolean): Reader {
  switch (size) {
    case 1:
      return signed ? (v, at) => v.getInt8(at) : (v, at) => v.getUint8(at);
    case 2:
      return signed ? (v, at) => v.getInt16(at, true) : (v, at) => v.getUint16(at, true);
    case 4:
      return signed ? (v, at) => v.getInt32(at, true) : (v, at) => v.getUint32(at, true);
    case 8:
      return signed ? (v, at) => v.getBigInt64(at, true) : (v, at) => v.getBigUint64(at, true);
    default:
      return () => undefined;
  }
}

/** A little-endian bitfield of `bits` bits at bit `offset` (unsigned). */
function bitfieldReader(offset: number, bits: number): Reader {
  return (v, at) => {
    let value = 0n;
    const first = Math.floor(offset / 8);
    const last = Math.floor((offset + bits - 1) / 8);
    for (let b = last; b >= first; b--) value = (value << 8n) | BigInt(v.getUint8(at + b));
    value = (value >> BigInt(offset - first * 8)) & ((1n << BigInt(bits)) - 1n);
    return bits > 32 ? value : Number(value);
  };
}
