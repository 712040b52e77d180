/**
 * The ELF object loader (`bpfkit/elf`): parseObject (pure, bytes in) and loadObjectFile (reads a file).
 * See docs/objects.md.
 *
 * @module bpfkit/elf
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../util/errors.js';
import { parseObject, type ParseObjectOptions, type ParsedObject } from './object.js';

export { parseObject, type ParseObjectOptions, type ParsedObject } from './object.js';
export {
  readElf,
  relocationTypeName,
  type Endian,
  type ReadElfOptions,
  type ElfFile,
  type ElfSection,
  type ElfSymbol,
  type ElfRelocation,
} from './elf-file.js';
export { parseBtf, BtfKind, btfKindName, type Btf, type BtfType, type BtfMember } from '../btf/btf.js';
export { sectionType, progTypeName, programTypeByName, ProgFlag, type SectionType } from './section-types.js';
export { applyCoreRelocations, hasCoreRelocations, CORE_POISON_HELPER } from './core-apply.js';
export { bpfObjectsIn, elfMachine, findEmbeddedObjects, type EmbeddedObject } from './embedded.js';
export type * from './spec.js';

/** Read and parse an object file. A missing or unreadable file is an InputError naming it. */
export function loadObjectFile(path: string, opts: Omit<ParseObjectOptions, 'path'> = {}): ParsedObject {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read object file${code ? ` (${code})` : ''}`, path);
  }
  return parseObject(bytes, { ...opts, path });
}
