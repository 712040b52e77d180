/**
 * clang before 15 drops `btf_type_tag` from the BTF it writes, so a `__kptr` field compiled by it is a
 * plain pointer. Tests that need a kptr name the member `kptr_*` and pass the object's BTF through
 * `tagKptrMembers`, which gives each such member (a pointer to a struct) the type the newer clang writes:
 * PTR -> TYPE_TAG "kptr" -> STRUCT (two types appended, the member retargeted; other users of the old
 * pointer type keep it, so a global `struct x *` does not become a kptr; a FWD target is taken to the struct
 * of that name).
 */
import { BtfKind, BTF_HEADER, parseBtf } from '../../src/btf/index.js';

/** Bytes after a type's 12-byte header, by kind (btf_type's variable part). */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.INT:
    case BtfKind.VAR:
    case BtfKind.DECL_TAG:
      return 4;
    case BtfKind.ARRAY:
      return 12;
    case BtfKind.STRUCT:
    case BtfKind.UNION:
    case BtfKind.DATASEC:
    case BtfKind.ENUM64:
      return 12 * vlen;
    case BtfKind.ENUM:
    case BtfKind.FUNC_PROTO:
      return 8 * vlen;
    default:
      return 0;
  }
}

/** The raw BTF with every `kptr_*` member that points to a struct made a `__kptr` (see above). */
export function tagKptrMembers(raw: Uint8Array): Uint8Array {
  const btf = parseBtf(raw);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const hdrLen = dv.getUint32(BTF_HEADER.hdrLen, true);
  const typeOff = hdrLen + dv.getUint32(BTF_HEADER.typeOff, true);
  const typeLen = dv.getUint32(BTF_HEADER.typeLen, true);
  const strOff = hdrLen + dv.getUint32(BTF_HEADER.strOff, true);
  const strLen = dv.getUint32(BTF_HEADER.strLen, true);
  // Where each type's member array starts (for the retargeting), found by walking the type section.
  const starts: number[] = [0];
  let at = typeOff;
  while (at < typeOff + typeLen) {
    starts.push(at);
    const info = dv.getUint32(at + 4, true);
    at += 12 + extraBytes((info >>> 24) & 0x1f, info & 0xffff);
  }
  const kptrName = strLen; // "kptr\0" appended to the strings
  let next = starts.length;
  const added: number[] = [];
  const out = raw.slice();
  const odv = new DataView(out.buffer);
  for (const t of btf.types) {
    if (!t || t.kind !== BtfKind.STRUCT) continue;
    t.members.forEach((m, i) => {
      const p = btf.types[m.type];
      if (!m.name.startsWith('kptr_') || p?.kind !== BtfKind.PTR) return;
      // clang may point the member at a FWD of a struct it defines elsewhere: the definition is taken.
      const q = btf.types[p.sizeOrType];
      const target = q?.kind === BtfKind.FWD ? btf.byName(q.name, BtfKind.STRUCT) : q;
      if (target?.kind !== BtfKind.STRUCT) return;
      added.push(kptrName, (BtfKind.TYPE_TAG << 24) >>> 0, target.id); // [next] TYPE_TAG kptr -> struct
      added.push(0, (BtfKind.PTR << 24) >>> 0, next); // [next+1] PTR -> [next]
      odv.setUint32(starts[t.id]! + 12 + 12 * i + 4, next + 1, true);
      next += 2;
    });
  }
  const types = new Uint8Array(added.length * 4);
  const tdv = new DataView(types.buffer);
  added.forEach((v, i) => tdv.setUint32(i * 4, v, true));
  const strs = new TextEncoder().encode('kptr\0');
  const res = new Uint8Array(out.length + types.length + strs.length);
  res.set(out.subarray(0, typeOff + typeLen), 0);
  res.set(types, typeOff + typeLen);
  res.set(out.subarray(typeOff + typeLen, strOff + strLen), typeOff + typeLen + types.length);
  res.set(strs, strOff + strLen + types.length);
  const rdv = new DataView(res.buffer);
  rdv.setUint32(BTF_HEADER.typeLen, typeLen + types.length, true);
  rdv.setUint32(BTF_HEADER.strOff, dv.getUint32(BTF_HEADER.strOff, true) + types.length, true);
  rdv.setUint32(BTF_HEADER.strLen, strLen + strs.length, true);
  return res;
}
