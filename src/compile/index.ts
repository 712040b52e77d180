/**
 * `bpfkit/compile`: C compiled for BPF at run time with the clang on PATH, cached by content
 * (~/.cache/bpfkit), with clang's diagnostics mapped to the user's lines and the headers programs need
 * (bpf_helpers.h, bpf_endian.h) shipped by bpfkit, vmlinux.h generated from the kernel's BTF on demand, and
 * BCC's C dialect (`dialect: 'bcc'`). docs/tracing.md.
 *
 * @module
 */
export { compileC, type CompileOptions, type CompileResult, type CSource } from './compile-c.js';
export { CompileError, parseDiagnostics, type Diagnostic } from './diagnostics.js';
export { findClang, parseClangVersion, MIN_CLANG_MAJOR, type Clang } from './clang.js';
export { cacheDir } from './cache.js';
export { includesVmlinux, vmlinuxHeaderDir, KERNEL_BTF } from './vmlinux-header.js';
export { shippedHeaders, bpfHelpersHeader, HELPERS } from './headers.js';
export {
  rewriteBcc,
  BCC_METHODS,
  BCC_TABLE_TYPES,
  type BccRewrite,
  type BccTable,
  type BccProgram,
} from './bcc/rewrite.js';
export { bccHeader, bccHeaders } from './bcc/header.js';
export { bccTracepointStruct } from './bcc/tracepoint.js';
export { tracepointFormatStruct, type TracepointFormatField } from './tracepoint-struct.js';
export { applyBccTypes } from './bcc/types.js';
