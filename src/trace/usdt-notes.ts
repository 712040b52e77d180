/**
 * USDT probes (systemtap's sys/sdt.h): each probe is an ELF note in `.note.stapsdt` (owner "stapsdt",
 * type 3) holding the probe's address, the link-time address of `.stapsdt.base`, the address of its
 * semaphore (0: none), then provider, name and the argument string. The address is corrected by how far
 * `.stapsdt.base` moved (prelink), then turned into a file offset through the section that holds it —
 * what a uprobe takes; so is the semaphore's, which the kernel increments while a uprobe with that
 * ref_ctr_offset is attached (the probed program checks it to skip costly argument set-up).
 *
 * The argument string is the assembler operands of each argument, `SIZE@OPERAND` (size negative when
 * signed): `-4@%edi`, `8@-8(%rbp)`, `4@$5`. parseUsdtArgs decodes the x86-64 forms into where the value is:
 * a register, a constant, or memory at register + offset; others are refused in one line.
 */
import { InputError } from '../util/errors.js';

/** One probe site. */
export interface UsdtProbe {
  provider: string;
  name: string;
  /** File offset of the probe's instruction. */
  offset: number;
  /** File offset of the semaphore (unsigned short), or 0 when the probe has none. */
  semaphoreOffset: number;
  /** The raw argument string. */
  args: string;
}

/** Where one argument's value is. */
export interface UsdtArg {
  /** Bytes (1, 2, 4 or 8). */
  size: number;
  signed: boolean;
  kind: 'const' | 'reg' | 'deref';
  /** const: the value; deref: the displacement added to the register. */
  value: bigint;
  /** reg, deref: offset of the register in struct pt_regs (x86-64). */
  regOffset: number;
}

interface Section {
  name: string;
  type: number;
  addr: number;
  offset: number;
  size: number;
}

const SHT_NOBITS = 8;

function sections(bytes: Uint8Array, source: string): { list: Section[]; le: boolean } {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46)
    throw new InputError('not an ELF file', source);
  if (bytes[4] !== 2) throw new InputError('not a 64-bit ELF file', source);
  const le = bytes[5] === 1;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = Number(v.getBigUint64(0x28, le));
  const shentsize = v.getUint16(0x3a, le);
  const shnum = v.getUint16(0x3c, le);
  const shstrndx = v.getUint16(0x3e, le);
  if (shoff + shnum * shentsize > bytes.length)
    throw new InputError('section headers past the end of the file', source);
  const raw = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return {
      nameOff: v.getUint32(at, le),
      type: v.getUint32(at + 4, le),
      addr: Number(v.getBigUint64(at + 16, le)),
      offset: Number(v.getBigUint64(at + 24, le)),
      size: Number(v.getBigUint64(at + 32, le)),
    };
  });
  const strtab = raw[shstrndx];
  const list = raw.map((s) => ({ ...s, name: strtab ? cString(bytes, strtab.offset + s.nameOff) : '' }));
  return { list, le };
}

function cString(bytes: Uint8Array, at: number): string {
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(at, end));
}

function fileOffset(list: Section[], addr: number): number | undefined {
  for (const s of list) {
    if (s.addr !== 0 && s.type !== SHT_NOBITS && addr >= s.addr && addr < s.addr + s.size)
      return addr - s.addr + s.offset;
  }
  return undefined;
}

/** Every USDT probe of the ELF file `bytes` (named `source` in errors). */
export function readUsdtProbes(bytes: Uint8Array, source: string): UsdtProbe[] {
  const { list, le } = sections(bytes, source);
  const notes = list.find((s) => s.name === '.note.stapsdt');
  if (!notes) return [];
  const base = list.find((s) => s.name === '.stapsdt.base');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: UsdtProbe[] = [];
  const align4 = (n: number) => (n + 3) & ~3;
  for (let at = notes.offset; at + 12 <= notes.offset + notes.size;) {
    const nameSize = v.getUint32(at, le);
    const descSize = v.getUint32(at + 4, le);
    const type = v.getUint32(at + 8, le);
    const owner = cString(bytes, at + 12);
    const desc = at + 12 + align4(nameSize);
    at = desc + align4(descSize);
    if (type !== 3 || owner !== 'stapsdt' || descSize < 24) continue;
    let pc = Number(v.getBigUint64(desc, le));
    const linkBase = Number(v.getBigUint64(desc + 8, le));
    const semaphore = Number(v.getBigUint64(desc + 16, le));
    if (base && linkBase) pc += base.addr - linkBase;
    const provider = cString(bytes, desc + 24);
    const name = cString(bytes, desc + 24 + new TextEncoder().encode(provider).length + 1);
    const args = cString(
      bytes,
      desc + 24 + new TextEncoder().encode(provider).length + 1 + new TextEncoder().encode(name).length + 1,
    );
    const offset = fileOffset(list, pc);
    if (offset === undefined)
      throw new InputError(`USDT ${provider}:${name}: address 0x${pc.toString(16)} is in no section`, source);
    const semaphoreOffset = semaphore ? fileOffset(list, semaphore) : 0;
    if (semaphoreOffset === undefined)
      throw new InputError(`USDT ${provider}:${name}: semaphore 0x${semaphore.toString(16)} is in no section`, source);
    out.push({ provider, name, offset, semaphoreOffset, args });
  }
  return out;
}

/** x86-64 registers by every name an operand uses, as offsets in struct pt_regs. */
const PT_REGS: Record<string, number> = {};
for (const [off, names] of [
  [0, 'r15 r15d r15w r15b'],
  [8, 'r14 r14d r14w r14b'],
  [16, 'r13 r13d r13w r13b'],
  [24, 'r12 r12d r12w r12b'],
  [32, 'rbp ebp bp bpl'],
  [40, 'rbx ebx bx bl'],
  [48, 'r11 r11d r11w r11b'],
  [56, 'r10 r10d r10w r10b'],
  [64, 'r9 r9d r9w r9b'],
  [72, 'r8 r8d r8w r8b'],
  [80, 'rax eax ax al'],
  [88, 'rcx ecx cx cl'],
  [96, 'rdx edx dx dl'],
  [104, 'rsi esi si sil'],
  [112, 'rdi edi di dil'],
  [128, 'rip eip ip'],
  [152, 'rsp esp sp spl'],
] as const) {
  for (const n of names.split(' ')) PT_REGS[n] = off;
}

/** Decode a probe's argument string (x86-64 operand syntax); `where` names the probe in errors. */
export function parseUsdtArgs(args: string, where: string): UsdtArg[] {
  const out: UsdtArg[] = [];
  for (const spec of args.trim().split(/\s+/).filter(Boolean)) {
    const m = /^(-?)(1|2|4|8)@(.+)$/.exec(spec);
    if (!m) throw new InputError(`USDT ${where}: argument '${spec}' has no SIZE@ prefix`);
    const size = Number(m[2]);
    const signed = m[1] === '-';
    const op = m[3]!;
    let r: RegExpExecArray | null;
    if ((r = /^\$(-?(?:0x[0-9a-f]+|\d+))$/i.exec(op))) {
      out.push({ size, signed, kind: 'const', value: BigInt(r[1]!.replace(/^-(0x.*)$/i, '-$1')), regOffset: 0 });
    } else if ((r = /^%(\w+)$/.exec(op))) {
      out.push({ size, signed, kind: 'reg', value: 0n, regOffset: register(r[1]!, spec, where) });
    } else if ((r = /^(-?(?:0x[0-9a-f]+|\d+))?\(%(\w+)\)$/i.exec(op))) {
      const disp = r[1] ? (r[1].startsWith('-') ? -BigInt(r[1].slice(1)) : BigInt(r[1])) : 0n;
      out.push({ size, signed, kind: 'deref', value: disp, regOffset: register(r[2]!, spec, where) });
    } else {
      throw new InputError(
        `USDT ${where}: argument '${spec}': bpfkit reads registers, constants and reg+offset memory, not this form`,
      );
    }
  }
  if (out.length > 12) throw new InputError(`USDT ${where}: ${out.length} arguments (at most 12)`);
  return out;
}

function register(name: string, spec: string, where: string): number {
  const off = PT_REGS[name];
  if (off === undefined) throw new InputError(`USDT ${where}: argument '${spec}': unknown register %${name}`);
  return off;
}
