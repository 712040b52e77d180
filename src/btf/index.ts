/**
 * `bpfkit/btf`: the BPF Type Format — the reader for `.BTF` sections and kernel BTF files
 * (`/sys/kernel/btf/vmlinux`). BTF lives below every area that needs types (the object loader's
 * BTF-defined maps, CO-RE relocation, run-time C compilation, the verifier), never inside one of them.
 *
 * @module
 */
export { writeC, type CWriterOptions } from './c-writer.js';
export { parseBtf, BtfKind, btfKindName, BTF_HEADER, type Btf, type BtfType, type BtfMember } from './btf.js';
