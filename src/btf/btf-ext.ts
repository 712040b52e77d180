/**
 * A reader for `.BTF.ext`, the section clang writes beside `.BTF` with -g: for each code section, the
 * functions it holds (func_info), the C source line of instructions (line_info) and the CO-RE relocations
 * (bpf_core_relo) that a loader must apply against the target kernel's BTF before the program loads.
 *
 * Layout (include/uapi/linux/btf.h and libbpf's libbpf_internal.h): a header (magic 0xeB9F, version 1,
 * flags, hdr_len, then offset/length pairs for func_info, line_info and, when hdr_len allows, core_relo),
 * offsets counted from the end of the header. Each subsection starts with a u32 record size, then one
 * block per code section: u32 section-name string offset (into .BTF's strings), u32 record count, records.
 * In objects, `insn_off` is a byte offset into the code section (the kernel wants slots; loaders divide).
 *
 * Names come from the .BTF string table, so the reader takes the parsed `Btf`. Every length and offset is
 * checked; anything malformed is an InputError naming the section and byte offset.
 */
import { InputError } from '../util/errors.js';
import { ByteReader, type PlaceNamer } from '../util/byte-reader.js';
import type { Btf } from './btf.js';

/** `bpf_func_info`: a function starting at `insnOff` (bytes into its section) whose FUNC type is `typeId`. */
export interface BtfExtFuncInfo {
  insnOff: number;
  typeId: number;
}

/** `bpf_line_info`: the C source line of the instruction at `insnOff` (bytes into its section). */
export interface BtfExtLineInfo {
  insnOff: number;
  /** Offsets into .BTF's strings, as the kernel wants them. */
  fileNameOff: number;
  lineOff: number;
  /** line << 10 | column, as encoded. */
  lineCol: number;
  /** Decoded for display. */
  file: string;
  source: string;
  line: number;
  column: number;
}

/** `bpf_core_relo`: the instruction at `insnOff` (bytes into its section) is relocated as `kind` describes. */
export interface BtfExtCoreRelo {
  insnOff: number;
  /** Local (object BTF) root type. */
  typeId: number;
  accessStrOff: number;
  /** The access string, e.g. "0:1:2" (field path) or "0" (type and enum-value kinds use the index only). */
  access: string;
  /** CoreReloKind. */
  kind: number;
}

/** One subsection's records, by code section name. */
export type BtfExtBySection<T> = Map<string, T[]>;

/** A parsed `.BTF.ext`. */
export interface BtfExt {
  funcInfo: BtfExtBySection<BtfExtFuncInfo>;
  lineInfo: BtfExtBySection<BtfExtLineInfo>;
  coreRelos: BtfExtBySection<BtfExtCoreRelo>;
  /** Record sizes as the object declares them (kernel wants them with the records). */
  funcInfoRecSize: number;
  lineInfoRecSize: number;
}

/** Minimum record sizes: what the fields we read need (larger records carry fields we skip, as libbpf). */
const FUNC_INFO_MIN = 8;
const LINE_INFO_MIN = 16;
const CORE_RELO_MIN = 16;
/** Header length up to line_info (older objects), and with core_relo. */
const HDR_BASE = 24;
const HDR_WITH_CORE = 32;
/** The last bpf_core_relo_kind the kernel headers define (BPF_CORE_TYPE_MATCHES). */
const MAX_CORE_KIND = 12;

/**
 * Parse a `.BTF.ext` section against the object's parsed `.BTF` (its strings name sections, files and
 * access strings). Throws InputError naming `source` and the byte offset on anything malformed.
 */
export function parseBtfExt(raw: Uint8Array, btf: Btf, source = '.BTF.ext'): BtfExt {
  const place: PlaceNamer = (at) => (at === undefined ? source : `${source}+0x${at.toString(16)}`);
  const fail = (message: string, at?: number): never => {
    throw new InputError(message, place(at));
  };
  if (raw.length < HDR_BASE) fail(`section is ${raw.length} bytes, shorter than the ${HDR_BASE}-byte header`, 0);
  let little: boolean;
  if (raw[0] === 0x9f && raw[1] === 0xeb) little = true;
  else if (raw[0] === 0xeb && raw[1] === 0x9f) little = false;
  else return fail(`bad .BTF.ext magic 0x${(raw[0]! | (raw[1]! << 8)).toString(16)} (expected 0xeb9f)`, 0);
  if (raw[2] !== 1) fail(`unsupported .BTF.ext version ${raw[2]}`, 2);
  const r = new ByteReader(raw, little ? 'little' : 'big', place, 'the .BTF.ext section');
  const hdrLen = r.u32(4, 'hdr_len');
  if (hdrLen < HDR_BASE || hdrLen > raw.length) fail(`header length ${hdrLen} is out of range`, 4);

  const str = (off: number, at: number, what: string): string => {
    const s = btf.stringAt(off);
    if (s === undefined) fail(`${what} string offset ${off} is beyond .BTF's string section`, at);
    return s!;
  };

  // One subsection: [rec_size] then blocks of [sec_name_off, num_info, records...].
  const readSubsection = <T>(
    headerAt: number,
    what: string,
    minRec: number,
    record: (at: number, sectionName: string) => T,
  ): { bySection: BtfExtBySection<T>; recSize: number } => {
    const bySection: BtfExtBySection<T> = new Map();
    const off = r.u32(headerAt, `${what}_off`);
    const len = r.u32(headerAt + 4, `${what}_len`);
    if (len === 0) return { bySection, recSize: minRec };
    const start = hdrLen + off;
    if (start > raw.length || len > raw.length - start)
      fail(`${what} subsection ${start}+${len} runs past the end (${raw.length} bytes)`, headerAt);
    if (len < 4) fail(`${what} subsection is ${len} bytes, too short for its record size`, start);
    const recSize = r.u32(start, `${what} record size`);
    if (recSize < minRec || recSize % 4 !== 0)
      fail(`${what} record size ${recSize} is invalid (at least ${minRec}, a multiple of 4)`, start);
    const end = start + len;
    let at = start + 4;
    while (at < end) {
      if (end - at < 8) fail(`${what} block header is truncated`, at);
      const secName = str(r.u32(at, `${what} sec_name_off`), at, `${what} section name`);
      const count = r.u32(at + 4, `${what} num_info`);
      if (count === 0) fail(`${what} block for section '${secName}' has no records`, at + 4);
      at += 8;
      if (count > (end - at) / recSize)
        fail(
          `${what} block for section '${secName}' claims ${count} records of ${recSize} bytes, past the subsection's end`,
          at - 4,
        );
      const list = bySection.get(secName) ?? [];
      for (let i = 0; i < count; i++, at += recSize) list.push(record(at, secName));
      bySection.set(secName, list);
    }
    return { bySection, recSize };
  };

  const insnOff = (at: number, what: string, sectionName: string): number => {
    const off = r.u32(at, `${what} insn_off`);
    if (off % 8 !== 0)
      fail(`${what} insn_off ${off} in section '${sectionName}' is not on an instruction boundary`, at);
    return off;
  };

  const func = readSubsection(8, 'func_info', FUNC_INFO_MIN, (at, sec) => ({
    insnOff: insnOff(at, 'func_info', sec),
    typeId: r.u32(at + 4, 'func_info type_id'),
  }));
  const line = readSubsection(16, 'line_info', LINE_INFO_MIN, (at, sec) => {
    const fileNameOff = r.u32(at + 4, 'line_info file_name_off');
    const lineOff = r.u32(at + 8, 'line_info line_off');
    const lineCol = r.u32(at + 12, 'line_info line_col');
    return {
      insnOff: insnOff(at, 'line_info', sec),
      fileNameOff,
      lineOff,
      lineCol,
      file: str(fileNameOff, at + 4, 'line_info file name'),
      source: str(lineOff, at + 8, 'line_info source line'),
      line: lineCol >>> 10,
      column: lineCol & 0x3ff,
    };
  });
  const core =
    hdrLen >= HDR_WITH_CORE
      ? readSubsection(24, 'core_relo', CORE_RELO_MIN, (at, sec) => {
          const accessStrOff = r.u32(at + 8, 'core_relo access_str_off');
          const kind = r.u32(at + 12, 'core_relo kind');
          if (kind > MAX_CORE_KIND)
            fail(`core_relo kind ${kind} in section '${sec}' is unknown (0..${MAX_CORE_KIND})`, at + 12);
          return {
            insnOff: insnOff(at, 'core_relo', sec),
            typeId: r.u32(at + 4, 'core_relo type_id'),
            accessStrOff,
            access: str(accessStrOff, at + 8, 'core_relo access'),
            kind,
          };
        })
      : { bySection: new Map<string, BtfExtCoreRelo[]>(), recSize: CORE_RELO_MIN };
  return {
    funcInfo: func.bySection,
    lineInfo: line.bySection,
    coreRelos: core.bySection,
    funcInfoRecSize: func.recSize,
    lineInfoRecSize: line.recSize,
  };
}
