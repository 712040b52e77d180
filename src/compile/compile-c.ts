/**
 * compileC: C source in, a parsed object out, through the clang on PATH. The source is compiled for the
 * BPF target with BTF (-g) and -O2, against the headers bpfkit ships (written once into the cache
 * directory) and the caller's include directories; the object is cached by content so an unchanged
 * program costs a hash and a parse, not a clang run. A string source gets `#line 1 "NAME"` in front, so
 * clang's messages — turned into one CompileError line — point at the user's own lines.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseObject, type ParsedObject } from '../elf/object.js';
import { InputError } from '../util/errors.js';
import { kernelVersionCode } from '../util/kernel-version.js';
import { findClang } from './clang.js';
import { cacheDir, fileDigest, lookupObject, parseDepFile, sha256, storeObject, writeAtomic } from './cache.js';
import {
  compileError,
  errorFromDiagnostics,
  parseDiagnostics,
  type CompileError,
  type Diagnostic,
} from './diagnostics.js';
import { shippedHeaders } from './headers.js';
import { bccHeaders } from './bcc/header.js';
import { rewriteBcc, type BccProgram, type BccRewrite, type BccTable } from './bcc/rewrite.js';
import { bccTracepointStruct } from './bcc/tracepoint.js';
import type { TracepointFormatField } from './tracepoint-struct.js';
import { includesVmlinux, vmlinuxHeaderDir, vmlinuxRecordNames } from './vmlinux-header.js';

/** Options of compileC. */
export interface CompileOptions {
  /** Extra clang flags (e.g. ['-DMAX=4']); -O2 -g are always passed, a later -O wins. */
  cflags?: string[];
  /** Extra include directories, searched after the shipped headers. */
  includes?: string[];
  /** 'bpfel' (default on little-endian hosts), 'bpfeb', or 'bpf' (the host's byte order). */
  target?: 'bpf' | 'bpfel' | 'bpfeb';
  /** The name clang's messages use for a string source (default '<source>'). */
  filename?: string;
  /** Skip the cache (still stores the result). */
  noCache?: boolean;
  /**
   * vmlinux.h for a source that includes it: generated from this BTF file (default: the running
   * kernel's, /sys/kernel/btf/vmlinux) by bpfkit's BTF→C writer, once per BTF; `false` never generates
   * it (a vmlinux.h on the include path is used either way, before the generated one).
   */
  vmlinux?: string | false;
  /**
   * How long clang may run, in milliseconds (default: $BPFKIT_CLANG_TIMEOUT seconds, else 120 s). Some
   * input makes clang itself crawl — its spelling suggestions for a megabyte-long undeclared name take
   * minutes — and a compile must end with an error rather than hang.
   */
  timeoutMs?: number;
  /**
   * 'bcc': the source is in BCC's dialect (BPF_HASH, `table.lookup(&k)`, TRACEPOINT_PROBE, non-static
   * functions as programs; docs/tracing.md "BCC's dialect"), rewritten line for line and compiled against
   * bpfkit's bcc.h and the generated vmlinux.h. Default 'c': libbpf-style C.
   */
  dialect?: 'c' | 'bcc';
  /**
   * BCC dialect: the fields of tracepoint `category:event`'s tracefs format, for the `struct
   * tracepoint__C__E` TRACEPOINT_PROBE's `args` points to (BPF.fromBcc passes the kernel's).
   */
  tracepointFormat?: (category: string, event: string) => TracepointFormatField[];
}

/** What compileC returns. */
export interface CompileResult {
  /** The object, parsed: ready for loadCollection. */
  spec: ParsedObject;
  /** The ELF bytes clang wrote. */
  object: Uint8Array;
  /** True when the object came from the cache (clang did not run). */
  cached: boolean;
  /** Warnings clang printed (empty on a cache hit). */
  warnings: Diagnostic[];
  /** BCC dialect: the programs (with the sections the rewrite gave them) and tables the source declares. */
  bcc?: { programs: BccProgram[]; tables: BccTable[] };
}

/** The C source to compile: text (optionally named), or a file on disk. */
export type CSource = string | { file: string };

/** Headers written into the cache once per header version; returns the include directory. */
function headerDir(root: string): string {
  // BCC mode's headers live in their own subdirectory, on the include path only in that mode: its stubs
  // of kernel headers (linux/ip.h...) must never shadow real ones in a libbpf-style compile.
  const files = { ...shippedHeaders(), ...prefixed('bcc-mode/', bccHeaders()) };
  const stamp = sha256(JSON.stringify(files)).slice(0, 12);
  const dir = path.join(root, `include-${stamp}`);
  if (!existsSync(path.join(dir, '.complete'))) {
    for (const [name, text] of Object.entries(files)) writeAtomic(path.join(dir, name), text);
    writeAtomic(path.join(dir, '.complete'), stamp);
  }
  return dir;
}

function prefixed(prefix: string, files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [prefix + k, v]));
}

/** The host architecture as the headers' PT_REGS macros name it. */
function targetArchFlag(): string[] {
  if (process.arch === 'x64') return ['-D__TARGET_ARCH_x86'];
  if (process.arch === 'arm64') return ['-D__TARGET_ARCH_arm64'];
  return [];
}

/**
 * BCC dialect: the rewritten source and what goes before it (vmlinux.h, bcc.h, the tracepoint structs, a
 * GPL license unless the source names one, as BCC loads programs under GPL by default). The prelude sits
 * before the #line directive, so it shifts none of the user's lines.
 */
function bccSource(
  text: string,
  name: string,
  opts: CompileOptions,
  vmlinuxDir: string | undefined,
): { rewrite: BccRewrite; prelude: string } {
  const rewrite = rewriteBcc(text, name, vmlinuxDir === undefined ? undefined : vmlinuxRecordNames(vmlinuxDir));
  const structs = rewrite.tracepoints.map(([category, event]) => {
    if (!opts.tracepointFormat)
      throw new InputError(
        `TRACEPOINT_PROBE(${category}, ${event}) needs the tracepoint's format: load with BPF.fromBcc, or pass tracepointFormat`,
        name,
      );
    return bccTracepointStruct(category, event, opts.tracepointFormat(category, event));
  });
  const license = /SEC\s*\(\s*"license"\s*\)|section\s*\(\s*"license"|\bLICENSE\s*\(/.test(text)
    ? ''
    : 'char __bcc_license[] SEC("license") = "GPL";\n';
  // BCC compiles against the running kernel's headers, whose linux/version.h gives LINUX_VERSION_CODE: tools
  // test it (`#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 11, 0)`) to pick a struct's layout.
  const version = `#define LINUX_VERSION_CODE ${kernelVersionCode(os.release())}\n`;
  const prelude = `${opts.vmlinux === false ? '' : '#include <vmlinux.h>\n'}#include <bcc/bcc.h>\n${version}${structs.join('')}${license}`;
  return { rewrite, prelude };
}

/** A CompileError from clang on rewritten BCC text, its columns moved back to the user's. */
function bccCompileError(err: CompileError, name: string, rewrite: BccRewrite): CompileError {
  const diags = err.diagnostics.map((d) =>
    d.file === name ? { ...d, column: rewrite.mapColumn(d.line, d.column) } : d,
  );
  return errorFromDiagnostics(diags, name, err.output);
}

/** clang's time limit when neither the caller nor $BPFKIT_CLANG_TIMEOUT sets one. */
const DEFAULT_TIMEOUT_MS = 120_000;

function clangTimeoutMs(opts: CompileOptions): number {
  if (opts.timeoutMs !== undefined) return opts.timeoutMs;
  const env = Number(process.env.BPFKIT_CLANG_TIMEOUT);
  return Number.isFinite(env) && env > 0 ? env * 1000 : DEFAULT_TIMEOUT_MS;
}

function runClang(
  clang: string,
  args: string[],
  timeoutMs: number,
): Promise<{ ok: boolean; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    execFile(clang, args, { maxBuffer: 16 << 20, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, _stdout, stderr) =>
      resolve({ ok: !err, stderr, timedOut: err !== null && err.killed === true }),
    );
  });
}

/**
 * Compile C for BPF with clang. `source` is the program's text, or `{ file }` to compile a file.
 * Throws CompileError (exit 2) naming the first error's file:line:column, EnvironmentError (exit 3)
 * when clang is missing or too old.
 */
export async function compileC(source: CSource, opts: CompileOptions = {}): Promise<CompileResult> {
  const clang = findClang();
  const root = cacheDir();
  const includeDir = headerDir(root);
  let text: string;
  let name: string;
  if (typeof source === 'string') {
    text = source;
    name = opts.filename ?? '<source>';
  } else {
    name = source.file;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (err) {
      throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, name);
    }
  }
  const target = opts.target ?? (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'bpfel' : 'bpfeb');
  const includes = (opts.includes ?? []).map((d) => path.resolve(d));
  // A file's own directory is where its quoted includes are found; for a string, the working directory.
  const baseDir = typeof source === 'string' ? process.cwd() : path.dirname(path.resolve(source.file));
  const isBcc = opts.dialect === 'bcc';
  // Searched after everything the caller named, so a vmlinux.h of their own wins.
  const generated =
    opts.vmlinux !== false && (isBcc || includesVmlinux(text))
      ? vmlinuxHeaderDir(root, opts.vmlinux === undefined ? undefined : path.resolve(opts.vmlinux))
      : undefined;
  const bcc = isBcc ? bccSource(text, name, opts, generated) : undefined;
  const cflags = [...(bcc ? targetArchFlag() : []), ...(opts.cflags ?? [])];
  const key = sha256(
    JSON.stringify({
      v: 1,
      clang: clang.version,
      target,
      cflags,
      includes,
      baseDir,
      includeDir,
      generated,
      name,
      text,
      ...(bcc ? { dialect: 'bcc', prelude: bcc.prelude } : {}),
    }),
  );
  const bccInfo = bcc ? { bcc: { programs: bcc.rewrite.programs, tables: bcc.rewrite.tables } } : {};

  if (!opts.noCache) {
    const hit = lookupObject(root, key);
    if (hit) return { spec: parseObject(hit, { path: name }), object: hit, cached: true, warnings: [], ...bccInfo };
  }

  const work = mkdtempSync(path.join(root, 'work-'));
  try {
    // Both forms compile a copy carrying a #line directive: the cache key already holds the text, and
    // clang reads exactly the bytes hashed even if the file changes meanwhile.
    const src = path.join(work, 'prog.c');
    writeAtomic(src, `${bcc?.prelude ?? ''}#line 1 ${JSON.stringify(name)}\n${bcc ? bcc.rewrite.text : text}`);
    const out = path.join(work, 'prog.o');
    const dep = path.join(work, 'prog.d');
    const args = [
      '-target',
      target,
      '-O2',
      '-g',
      '-Wall',
      '-Wno-unused-function',
      '-fno-color-diagnostics',
      '-fno-caret-diagnostics',
      '-ferror-limit=20',
      '-MD',
      '-MF',
      dep,
      '-I',
      includeDir,
      ...(bcc ? ['-I', path.join(includeDir, 'bcc-mode')] : []),
      ...includes.flatMap((d) => ['-I', d]),
      '-iquote',
      baseDir,
      ...cflags,
      ...(generated ? ['-idirafter', generated] : []),
      '-c',
      src,
      '-o',
      out,
    ];
    const timeoutMs = clangTimeoutMs(opts);
    const r = await runClang(clang.path, args, timeoutMs);
    if (r.timedOut)
      throw new InputError(
        `clang did not finish within ${timeoutMs / 1000} s and was stopped (BPFKIT_CLANG_TIMEOUT sets the limit in seconds)`,
        name,
      );
    if (!r.ok) {
      const err = compileError(r.stderr, name, includeDir);
      throw bcc ? bccCompileError(err, name, bcc.rewrite) : err;
    }
    const bytes = new Uint8Array(readFileSync(out));
    const deps = parseDepFile(readFileSync(dep, 'utf8'))
      .filter((p) => p !== src && !p.startsWith(includeDir) && !(generated && p.startsWith(generated)))
      .map((p) => path.resolve(work, p));
    const digests = deps.map((p) => ({ path: p, sha256: fileDigest(p) }));
    if (digests.every((d): d is { path: string; sha256: string } => d.sha256 !== undefined))
      storeObject(root, key, bytes, { deps: digests });
    const warnings = parseDiagnostics(r.stderr, includeDir)
      .filter((d) => d.severity === 'warning')
      .map((d) => (bcc && d.file === name ? { ...d, column: bcc.rewrite.mapColumn(d.line, d.column) } : d));
    return { spec: parseObject(bytes, { path: name }), object: bytes, cached: false, warnings, ...bccInfo };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
