/**
 * Seeded mutations of an object file, for the loader fuzzer (fuzz-loaders.test.ts, `npm run fuzz:loaders`).
 * Each mutation is a short list of edits — byte flips, random bytes, interesting 32-bit values written into
 * the fields the loader interprets (ELF header, section headers, symbols, relocations, the BTF header and
 * types, map definitions), and truncations — so a failure can print exactly what was done to the file.
 */
import { readElf } from '../../src/elf/elf-file.js';
import { parseBtf, BtfKind } from '../../src/btf/btf.js';

/** xorshift32: the same seed gives the same mutations on every machine. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/**
 * One edit: set a byte (or, with `flip`, xor it) or a u32 in the file's byte order at `at`, or cut the
 * file at `cut`.
 */
export type Edit = { at: number; byte: number; flip?: boolean } | { at: number; u32: number } | { cut: number };

/** A field the loader reads: where it is and how wide (1, 2, 4 or 8 bytes). */
interface Field {
  at: number;
  size: number;
}

/** The places worth aiming at in one object, found once from its good parse. */
export interface Targets {
  length: number;
  little: boolean;
  /** [start, length) byte ranges the loader interprets. */
  hot: [number, number][];
  /** Individual header and size fields. */
  fields: Field[];
}

const INTERESTING = [
  0, 1, 2, 4, 7, 8, 0x10, 0x40, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];

/** Find the hot ranges and fields of `original` (which must be a well-formed object). */
export function targetsOf(original: Uint8Array): Targets {
  const elf = readElf(original);
  const little = elf.endian === 'little';
  const dv = new DataView(original.buffer, original.byteOffset, original.byteLength);
  const shoff = Number(dv.getBigUint64(40, little));
  const hot: [number, number][] = [
    [0, 64],
    [shoff, elf.sections.length * 64],
  ];
  const fields: Field[] = [
    { at: 40, size: 8 }, // e_shoff
    { at: 58, size: 2 }, // e_shentsize
    { at: 60, size: 2 }, // e_shnum
    { at: 62, size: 2 }, // e_shstrndx
  ];
  for (const s of elf.sections) {
    const h = shoff + s.index * 64;
    fields.push({ at: h + 4, size: 4 }, { at: h + 8, size: 8 }, { at: h + 24, size: 8 }, { at: h + 32, size: 8 });
    fields.push({ at: h + 40, size: 4 }, { at: h + 44, size: 4 }, { at: h + 56, size: 8 });
    const interpreted =
      s.type === 2 ||
      s.type === 4 ||
      s.type === 9 ||
      (s.flags & 4) !== 0 ||
      ['.BTF', '.maps', 'maps', 'license', 'version', '.data', '.rodata', '.bss'].includes(s.name) ||
      s.index === 0;
    if (interpreted && s.data.length > 0) hot.push([s.offset, s.data.length]);
    // Legacy map definitions: every u32 (type, key/value size, max entries, flags, id, pinning, inner id/idx).
    if (s.name === 'maps')
      for (let at = 0; at + 4 <= s.data.length; at += 4) fields.push({ at: s.offset + at, size: 4 });
    // Relocations: r_offset, r_info.
    if (s.type === 9 || s.type === 4) {
      const entry = s.type === 9 ? 16 : 24;
      for (let at = 0; at + entry <= s.data.length; at += entry)
        fields.push(
          { at: s.offset + at, size: 8 },
          { at: s.offset + at + 8, size: 4 },
          { at: s.offset + at + 12, size: 4 },
        );
    }
  }
  const btfSection = elf.sectionByName('.BTF');
  if (btfSection) {
    const base = btfSection.offset;
    for (const at of [4, 8, 12, 16, 20]) fields.push({ at: base + at, size: 4 }); // hdr_len, type/str offsets and lengths
    try {
      const btf = parseBtf(btfSection.data);
      for (const t of btf.types) {
        if (t.id === 0) continue;
        fields.push({ at: base + t.recordAt + 4, size: 4 }, { at: base + t.recordAt + 8, size: 4 }); // info, size/type
        // An array's element count is how `__uint(max_entries, N)` and sized keys/values are spelled.
        if (t.kind === BtfKind.ARRAY) fields.push({ at: base + t.recordAt + 20, size: 4 });
      }
    } catch {
      // (an object whose BTF the loader drops still gets the header fields)
    }
  }
  return { length: original.length, little, hot, fields };
}

/** Draw one mutation (1 to 4 edits) for an object with these targets. */
export function drawMutation(t: Targets, next: () => number): Edit[] {
  const edits: Edit[] = [];
  const count = 1 + (next() % 4);
  for (let e = 0; e < count; e++) {
    const kind = next() % 16;
    if (kind === 0) {
      edits.push({ cut: next() % t.length });
      continue;
    }
    if (kind <= 6) {
      const f = t.fields[next() % t.fields.length]!;
      const v = INTERESTING[next() % INTERESTING.length]!;
      if (f.size >= 4) {
        // The low u32 of a wide field (in file order), or any one byte of it.
        const at = f.size === 8 && !t.little ? f.at + 4 : f.at;
        edits.push(next() % 3 === 0 ? { at: f.at + (next() % f.size), byte: next() & 0xff } : { at, u32: v });
      } else {
        edits.push({ at: f.at + (next() % f.size), byte: v & 0xff });
      }
      continue;
    }
    // Anywhere in a hot range (or, one time in five, anywhere at all): a flip, a random byte, 0x00 or 0xff.
    const [start, len] = next() % 5 === 0 ? [0, t.length] : t.hot[next() % t.hot.length]!;
    const at = start + (next() % Math.max(1, len));
    const how = next() % 4;
    if (how === 0) edits.push({ at, byte: 1 << (next() % 8), flip: true });
    else edits.push({ at, byte: how === 1 ? next() & 0xff : how === 2 ? 0 : 0xff });
  }
  return edits;
}

/** Apply `edits` to a copy of `original` (into `scratch` when it is the right size, to spare allocations). */
export function applyMutation(original: Uint8Array, edits: Edit[], little: boolean, scratch?: Uint8Array): Uint8Array {
  const b = scratch && scratch.length === original.length ? scratch : new Uint8Array(original.length);
  b.set(original);
  let end = b.length;
  for (const e of edits) {
    if ('cut' in e) end = Math.min(end, e.cut);
    else if ('u32' in e) {
      if (e.at + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(e.at, e.u32 >>> 0, little);
    } else if (e.at < b.length) {
      b[e.at] = e.flip ? b[e.at]! ^ e.byte : e.byte;
    }
  }
  return end < b.length ? b.subarray(0, end) : b;
}
