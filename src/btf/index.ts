/**
 * `bpfkit/btf`: the BPF Type Format — the reader for `.BTF` sections and kernel BTF files
 * (`/sys/kernel/btf/vmlinux`), the `.BTF.ext` reader (func_info, line_info, CO-RE relocation records)
 * and CO-RE resolution as libbpf does it (docs/core.md). BTF lives below every area that needs types
 * (the object loader's BTF-defined maps, CO-RE relocation, run-time C compilation, the verifier), never
 * inside one of them.
 *
 * @module
 */
export { writeC, type CWriterOptions } from './c-writer.js';
export {
  parseBtf,
  BtfKind,
  btfKindName,
  BTF_HEADER,
  BTF_MODIFIERS,
  type Btf,
  type BtfType,
  type BtfMember,
} from './btf.js';
export {
  parseBtfExt,
  type BtfExt,
  type BtfExtBySection,
  type BtfExtFuncInfo,
  type BtfExtLineInfo,
  type BtfExtCoreRelo,
} from './btf-ext.js';
export { CoreReloKind, coreReloKindName } from './core/kinds.js';
export { essentialName } from './core/access.js';
export {
  resolveCoreRelocation,
  findCandidates,
  CoreRelocationError,
  type CoreRelocation,
  type CoreResolution,
} from './core/resolve.js';
