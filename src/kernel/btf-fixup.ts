/**
 * clang leaves the raw .BTF unfinished: DATASEC records (one per data section: .data, .bss, .rodata,
 * .maps, license) carry size 0 and variable offsets 0, to be filled in by the loader from the ELF
 * section sizes and symbol values. The kernel refuses such BTF ("DATASEC size == 0"). The ELF loader's
 * BTF parser (src/elf/btf.ts) already computes the real values; this copies them into a copy of the raw
 * section, record by record, without changing its layout.
 */
import { parseBtf } from '../elf/btf.js';

// Bytes that follow the 12-byte common header, per kind (include/uapi/linux/btf.h).
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case 1: // INT
      return 4;
    case 3: // ARRAY
      return 12;
    case 4: // STRUCT
    case 5: // UNION
      return 12 * vlen;
    case 6: // ENUM
      return 8 * vlen;
    case 13: // FUNC_PROTO
      return 8 * vlen;
    case 14: // VAR
      return 4;
    case 15: // DATASEC
      return 12 * vlen;
    case 17: // DECL_TAG
      return 4;
    case 19: // ENUM64
      return 12 * vlen;
    default:
      return 0; // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
  }
}

/** A kernel-loadable copy of `raw` (little-endian BTF), or `raw` itself when nothing needed fixing. */
export function fixupDatasecs(raw: Uint8Array): Uint8Array {
  const parsed = parseBtf(raw);
  if (parsed.endian !== 'little') return raw;
  const out = raw.slice();
  const dv = new DataView(out.buffer);
  const hdrLen = dv.getUint32(4, true);
  const typeOff = dv.getUint32(8, true);
  const typeLen = dv.getUint32(12, true);
  let at = hdrLen + typeOff;
  const end = at + typeLen;
  let changed = false;
  for (let id = 1; at + 12 <= end; id++) {
    const info = dv.getUint32(at + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind === 15) {
      const t = parsed.types[id];
      if (t && t.kind === 15) {
        if (dv.getUint32(at + 8, true) !== t.sizeOrType) {
          dv.setUint32(at + 8, t.sizeOrType, true);
          changed = true;
        }
        t.members.forEach((m, i) => {
          const rec = at + 12 + i * 12;
          if (dv.getUint32(rec + 4, true) !== m.offset || dv.getUint32(rec + 8, true) !== m.size) {
            dv.setUint32(rec + 4, m.offset, true);
            dv.setUint32(rec + 8, m.size, true);
            changed = true;
          }
        });
      }
    }
    at += 12 + extraBytes(kind, vlen);
  }
  return changed ? out : raw;
}
