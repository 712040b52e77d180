/**
 * Make an object's `.BTF` acceptable to the kernel, as libbpf does before BPF_BTF_LOAD: clang leaves each
 * DATASEC's size and its variables' offsets at 0 (the linker would fill them in; BPF objects are never
 * linked), and the kernel refuses a DATASEC whose size is 0 or whose variables overlap. The ELF knows the
 * real values: the section's size and each variable's symbol value. Variables are then sorted by offset,
 * as the kernel requires.
 *
 * Type ids do not change (the edit is in place, on a copy), so ids recorded in MapSpecs stay valid.
 */
import { BtfKind, BTF_HEADER, type Btf } from '../btf/btf.js';
import { ByteReader } from '../util/byte-reader.js';
import { STB_LOCAL, STT_FUNC, STT_SECTION, STV_HIDDEN, STV_INTERNAL, type ElfFile } from './elf-file.js';
import type { ExternSpec } from './spec.js';

/** BTF_VAR_GLOBAL_ALLOCATED and BTF_FUNC_GLOBAL: the kernel refuses extern linkage in a loaded BTF. */
const ALLOCATED = 1;
/** BTF_FUNC_STATIC: a function the verifier checks in each caller's context. */
const STATIC = 0;

/**
 * Fill in DATASEC sizes and offsets from the ELF; and, as libbpf does for externs (the kernel refuses
 * extern linkage), give `.kconfig` variables their offsets in the `.kconfig` map, turn `.ksyms` variables
 * into 4-byte allocated ints, make kfunc declarations global functions whose unnamed parameters get a name,
 * and point `.ksyms` entries that name a function at one appended `dummy_ksym` variable; and make the
 * BTF of a hidden global subprogram static (see hiddenFuncsStatic). Type ids of the object's own types do
 * not change.
 */
export function fixupBtf(btf: Btf, elf: ElfFile, externs: ExternSpec[] = []): Uint8Array {
  const appended = externs.some((e) => e.kind !== 'kconfig') ? appendDummyKsym(btf) : undefined;
  const out = appended ? appended.raw : btf.raw.slice();
  // Writes are checked like reads: each lands inside the record parseBtf found for the type.
  const w = new ByteReader(
    out,
    btf.endian,
    (at) => (at === undefined ? `${elf.source}: section '.BTF'` : `${elf.source}: section '.BTF'+0x${at.toString(16)}`),
    'the .BTF section',
  );
  for (const t of btf.types) {
    if (t.kind !== BtfKind.DATASEC) continue;
    const what = `DATASEC '${t.name}' (type ${t.id})`;
    if (t.name === '.kconfig' || t.name === '.ksyms') {
      fixExternSection(btf, w, t, externs, appended, what);
      continue;
    }
    const section = elf.sectionByName(t.name);
    if (!section) continue;
    w.setU32(t.recordAt + 8, section.size, `${what} size`);
    const vars = t.members.map((m) => {
      const v = btf.types[m.type]!;
      const sym = elf.symbols.find((s) => s.section === section.index && s.type !== STT_SECTION && s.name === v.name);
      return { type: m.type, offset: sym ? sym.value : m.offset, size: m.size || (sym ? sym.size : 0) };
    });
    vars.sort((a, b) => a.offset - b.offset);
    vars.forEach((v, i) => {
      const vAt = t.recordAt + 12 + i * 12;
      w.setU32(vAt, v.type, `${what} variable ${i} type`);
      w.setU32(vAt + 4, v.offset, `${what} variable ${i} offset`);
      w.setU32(vAt + 8, v.size, `${what} variable ${i} size`);
    });
  }
  hiddenFuncsStatic(btf, elf, w);
  return out;
}

/**
 * A subprogram (a function of `.text`) that is global or weak but hidden (`__hidden`, STV_HIDDEN or
 * STV_INTERNAL) cannot be called from outside the object, so libbpf gives its BTF FUNC static linkage
 * before the load: the kernel then verifies it in each caller's context, where it knows what the caller
 * passed (libbpf's usdt.bpf.h helpers, `bpf_usdt_arg`, rely on that: checked alone, as a global function,
 * a nullable map value they store through is refused). The first global FUNC of the symbol's name is the
 * one changed, as libbpf changes it.
 */
function hiddenFuncsStatic(btf: Btf, elf: ElfFile, w: ByteReader): void {
  const text = elf.sectionByName('.text');
  if (!text) return;
  for (const s of elf.symbols) {
    if (s.section !== text.index || s.type !== STT_FUNC || s.bind === STB_LOCAL) continue;
    if (s.visibility !== STV_HIDDEN && s.visibility !== STV_INTERNAL) continue;
    const fn = btf.types.find((t) => t.kind === BtfKind.FUNC && t.vlen === ALLOCATED && t.name === s.name);
    // FUNC linkage lives in the info word's vlen bits: global (1) -> static (0).
    if (fn) w.setU32(fn.recordAt + 4, (BtfKind.FUNC << 24) | STATIC, `FUNC '${fn.name}' linkage`);
  }
}

/** The dummy variable's id and an int's id, and the BTF with them appended (`appendDummyKsym`). */
interface Appended {
  raw: Uint8Array;
  dummyVarId: number;
  intId: number;
  /** String offset of the dummy's name, reused for kfunc parameters that have none. */
  dummyNameOff: number;
}

/** Append `int` (when the object has no 4-byte int) and `dummy_ksym` (an allocated int variable) to a BTF copy. */
function appendDummyKsym(btf: Btf): Appended | undefined {
  const little = btf.endian === 'little';
  const src = new DataView(btf.raw.buffer, btf.raw.byteOffset, btf.raw.byteLength);
  const hdrLen = src.getUint32(BTF_HEADER.hdrLen, little);
  const typeOff = hdrLen + src.getUint32(BTF_HEADER.typeOff, little);
  const typeLen = src.getUint32(BTF_HEADER.typeLen, little);
  const strOff = hdrLen + src.getUint32(BTF_HEADER.strOff, little);
  const strLen = src.getUint32(BTF_HEADER.strLen, little);
  // The copy puts types right after the header, so records keep their offsets only when they were there.
  if (typeOff !== hdrLen) return undefined;
  const enc = new TextEncoder();
  let intId = btf.types.findIndex((t) => t.kind === BtfKind.INT && t.sizeOrType === 4 && t.int?.bits === 32);
  const newStrings: Uint8Array[] = [];
  let nextStr = strLen;
  const addString = (text: string) => {
    const bytes = enc.encode(`${text}\0`);
    newStrings.push(bytes);
    const at = nextStr;
    nextStr += bytes.length;
    return at;
  };
  const records: number[][] = [];
  let nextId = btf.types.length;
  if (intId < 0) {
    intId = nextId++;
    records.push([addString('int'), BtfKind.INT << 24, 4, (1 << 24) | 32]);
  }
  const dummyNameOff = addString('dummy_ksym');
  const dummyVarId = nextId++;
  records.push([dummyNameOff, BtfKind.VAR << 24, intId, ALLOCATED]);
  const addedTypes = records.reduce((n, r) => n + r.length * 4, 0);
  const addedStrings = nextStr - strLen;
  const raw = new Uint8Array(hdrLen + typeLen + addedTypes + strLen + addedStrings);
  raw.set(btf.raw.subarray(0, hdrLen), 0);
  raw.set(btf.raw.subarray(typeOff, typeOff + typeLen), hdrLen);
  const dv = new DataView(raw.buffer);
  let at = hdrLen + typeLen;
  for (const word of records.flat()) {
    dv.setUint32(at, word, little);
    at += 4;
  }
  raw.set(btf.raw.subarray(strOff, strOff + strLen), at);
  at += strLen;
  for (const s of newStrings) {
    raw.set(s, at);
    at += s.length;
  }
  dv.setUint32(BTF_HEADER.typeOff, 0, little);
  dv.setUint32(BTF_HEADER.typeLen, typeLen + addedTypes, little);
  dv.setUint32(BTF_HEADER.strOff, typeLen + addedTypes, little);
  dv.setUint32(BTF_HEADER.strLen, strLen + addedStrings, little);
  return { raw, dummyVarId, intId, dummyNameOff };
}

/** The `.kconfig` or `.ksyms` DATASEC made loadable (see fixupBtf). Records keep their places: `w` edits in place. */
function fixExternSection(
  btf: Btf,
  w: ByteReader,
  sec: Btf['types'][number],
  externs: ExternSpec[],
  appended: Appended | undefined,
  what: string,
): void {
  const byName = new Map(externs.map((e) => [e.name, e]));
  const vars = sec.members.map((m, i) => ({ m, i, t: btf.types[m.type]! }));
  let end = 0;
  if (sec.name === '.kconfig') {
    const placed = vars
      .map((v) => ({ ...v, e: byName.get(v.t.name) }))
      .sort((a, b) => (a.e?.offset ?? 0) - (b.e?.offset ?? 0));
    placed.forEach((v, i) => {
      const at = sec.recordAt + 12 + i * 12;
      const off = v.e?.offset ?? 0;
      w.setU32(at, v.m.type, `${what} variable ${i} type`);
      w.setU32(at + 4, off, `${what} variable ${i} offset`);
      w.setU32(at + 8, v.e?.size ?? v.m.size, `${what} variable ${i} size`);
      w.setU32(v.t.recordAt + 12, ALLOCATED, `VAR '${v.t.name}' linkage`);
      end = Math.max(end, off + (v.e?.size ?? v.m.size));
    });
  } else {
    vars.forEach((v, i) => {
      const at = sec.recordAt + 12 + i * 12;
      if (v.t.kind === BtfKind.FUNC) {
        if (!appended) return;
        // FUNC linkage lives in the info word's vlen bits: extern (2) -> global (1).
        w.setU32(v.t.recordAt + 4, (BtfKind.FUNC << 24) | ALLOCATED, `FUNC '${v.t.name}' linkage`);
        const proto = btf.types[v.t.sizeOrType];
        if (proto && proto.kind === BtfKind.FUNC_PROTO)
          proto.members.forEach((p, j) => {
            if (p.type !== 0 && p.name === '')
              w.setU32(
                proto.recordAt + 12 + j * 8,
                appended.dummyNameOff,
                `FUNC_PROTO of '${v.t.name}' parameter ${j}`,
              );
          });
        w.setU32(at, appended.dummyVarId, `${what} entry ${i} type`);
      } else if (v.t.kind === BtfKind.VAR) {
        w.setU32(v.t.recordAt + 12, ALLOCATED, `VAR '${v.t.name}' linkage`);
        if (appended) w.setU32(v.t.recordAt + 8, appended.intId, `VAR '${v.t.name}' type`);
      }
      w.setU32(at + 4, i * 4, `${what} entry ${i} offset`);
      w.setU32(at + 8, 4, `${what} entry ${i} size`);
      end = (i + 1) * 4;
    });
  }
  w.setU32(sec.recordAt + 8, end, `${what} size`);
}
