/**
 * BPF objects embedded in another file. A libbpf skeleton (`bpftool gen skeleton`) compiles the whole
 * eBPF object into the tool's executable as a byte array, so a tool like bcc's libbpf-tools `biolatency`
 * is an x86-64 ELF that carries one EM_BPF ELF inside it. This finds those objects by their headers,
 * without running or linking anything, so `bpfkit verify /usr/sbin/biolatency` can judge the programs the
 * tool would load.
 *
 * A candidate is a 64-bit ELF header whose e_machine is EM_BPF in the header's own byte order and whose
 * section header table and sections all lie inside the file; its length is where the last of them ends.
 * Anything else that happens to start with `\x7fELF` is skipped. The scan is one pass over the bytes, and
 * the section headers it reads across all candidates are capped in proportion to the file's size, so a file
 * of forged headers that all point at one long section table costs no more than reading it a few times.
 */
import { EM_BPF, SHT_NOBITS } from './elf-file.js';

/** One BPF object found inside a larger file. */
export interface EmbeddedObject {
  /** Where its ELF header starts in the file. */
  offset: number;
  /** Its length in bytes: up to the end of its last section or of its section header table. */
  length: number;
}

const MAGIC = [0x7f, 0x45, 0x4c, 0x46];
/** The ELF64 header's and one section header's size. */
const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
/** More section headers than any compiler writes for one object: a header claiming more is not one. */
const MAX_SECTIONS = 65_535;

/**
 * Every well-formed EM_BPF ELF object inside `bytes`, in file order, skipping a match at offset 0 (the
 * file itself: an object that is one is read as such). Objects found do not overlap: the scan resumes
 * after each one.
 */
export function findEmbeddedObjects(bytes: Uint8Array): EmbeddedObject[] {
  const found: EmbeddedObject[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Section headers left to read: every real object's once over, with room to spare.
  const budget = { left: 4 * Math.ceil(bytes.length / SHDR_SIZE) + MAX_SECTIONS };
  let at = 1;
  while (at + EHDR_SIZE <= bytes.length) {
    const i = indexOfMagic(bytes, at);
    if (i < 0) break;
    const length = objectLength(bytes, view, i, budget);
    if (length === null) break;
    if (length === undefined) {
      at = i + 1;
      continue;
    }
    found.push({ offset: i, length });
    at = i + length;
  }
  return found;
}

/** The next `\x7fELF` at or after `from`, or -1. */
function indexOfMagic(bytes: Uint8Array, from: number): number {
  for (let i = bytes.indexOf(MAGIC[0]!, from); i >= 0 && i + 4 <= bytes.length; i = bytes.indexOf(MAGIC[0]!, i + 1)) {
    if (bytes[i + 1] === MAGIC[1] && bytes[i + 2] === MAGIC[2] && bytes[i + 3] === MAGIC[3]) return i;
  }
  return -1;
}

/**
 * The length of the EM_BPF ELF64 object whose header is at `at`, undefined when it is not one, or null when
 * the scan's budget of section headers is spent.
 */
function objectLength(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  budget: { left: number },
): number | undefined | null {
  if (at + EHDR_SIZE > bytes.length) return undefined;
  // e_ident: ELFCLASS64, ELFDATA2LSB (1) or ELFDATA2MSB (2), EV_CURRENT.
  if (bytes[at + 4] !== 2 || bytes[at + 6] !== 1) return undefined;
  const data = bytes[at + 5];
  if (data !== 1 && data !== 2) return undefined;
  const le = data === 1;
  if (view.getUint16(at + 18, le) !== EM_BPF) return undefined;
  const room = bytes.length - at;
  const shoff = Number(view.getBigUint64(at + 40, le));
  const shentsize = view.getUint16(at + 58, le);
  const shnum = view.getUint16(at + 60, le);
  if (shentsize !== SHDR_SIZE || shnum === 0 || shnum > MAX_SECTIONS) return undefined;
  if (shoff < EHDR_SIZE || shoff + shnum * SHDR_SIZE > room) return undefined;
  let end = shoff + shnum * SHDR_SIZE;
  if ((budget.left -= shnum) < 0) return null;
  for (let k = 0; k < shnum; k++) {
    const sh = at + shoff + k * SHDR_SIZE;
    if (view.getUint32(sh + 4, le) === SHT_NOBITS) continue;
    const off = Number(view.getBigUint64(sh + 24, le));
    const size = Number(view.getBigUint64(sh + 32, le));
    if (off + size > room) return undefined;
    end = Math.max(end, off + size);
  }
  return end;
}

/** An ELF file's e_machine in its own byte order, or undefined when `bytes` is no ELF header. */
export function elfMachine(bytes: Uint8Array): number | undefined {
  if (
    bytes.length < 20 ||
    bytes[0] !== MAGIC[0] ||
    bytes[1] !== MAGIC[1] ||
    bytes[2] !== MAGIC[2] ||
    bytes[3] !== MAGIC[3]
  )
    return undefined;
  return bytes[5] === 2 ? (bytes[18]! << 8) | bytes[19]! : bytes[18]! | (bytes[19]! << 8);
}

/**
 * The BPF objects an ELF file is or holds: the whole file when it is an EM_BPF object, else the ones a
 * libbpf skeleton embedded in it (none for an ELF of another machine without any).
 */
export function bpfObjectsIn(bytes: Uint8Array): EmbeddedObject[] {
  return elfMachine(bytes) === EM_BPF ? [{ offset: 0, length: bytes.length }] : findEmbeddedObjects(bytes);
}
