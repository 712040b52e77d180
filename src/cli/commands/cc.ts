/**
 * bpfkit cc PROG.c [-o PROG.o] — compile C for BPF with the clang on PATH, through the same cache and
 * diagnostics as compileC (BPF.fromC): an error prints as `bpfkit cc: FILE:LINE:COL: message`, exit 2.
 */
import path from 'node:path';
import { parseFlags } from '../args.js';
import { UsageError } from '../../util/errors.js';
import { compileC, CompileError } from '../../compile/index.js';
import { tracepointFormat } from '../../kernel/attach/index.js';
import { writeOutputFile } from '../output-file.js';

const usage = `usage: bpfkit cc PROG.c [-o PROG.o] [-I DIR]... [-D NAME[=VALUE]]... [--target bpfel|bpfeb] [--bcc] [--no-cache] [-v]

Compiles PROG.c for BPF (clang -O2 -g, with bpfkit's bpf_helpers.h and bpf_endian.h) into PROG.o
(default: PROG.c's name with .o). Objects are cached by content in ~/.cache/bpfkit (BPFKIT_CACHE_DIR).
--bcc reads PROG.c in BCC's dialect (BPF_HASH, table.lookup(&k), TRACEPOINT_PROBE; docs/tracing.md):
functions named for no attach point are left in sections bcc/NAME, typed when loaded (BPF.fromBcc).
-v prints every clang diagnostic and whether the cache answered.
`;

/** Run `bpfkit cc`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, {
    output: { type: 'string', short: 'o' },
    include: { type: 'string', short: 'I', multiple: true },
    define: { type: 'string', short: 'D', multiple: true },
    target: { type: 'string' },
    bcc: { type: 'boolean' },
    'no-cache': { type: 'boolean' },
    verbose: { type: 'boolean', short: 'v' },
  });
  if (help) {
    process.stdout.write(usage);
    return 0;
  }
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) throw new UsageError(usage);
  const target = values.target;
  if (target !== undefined && target !== 'bpfel' && target !== 'bpfeb' && target !== 'bpf')
    throw new UsageError('--target must be bpfel, bpfeb or bpf');
  const out = values.output ?? path.join(path.dirname(file), `${path.basename(file).replace(/\.c$/, '')}.o`);
  try {
    const r = await compileC(
      { file },
      {
        includes: values.include ?? [],
        cflags: (values.define ?? []).map((d) => `-D${d}`),
        ...(target ? { target } : {}),
        ...(values.bcc ? { dialect: 'bcc' as const, tracepointFormat } : {}),
        ...(values['no-cache'] ? { noCache: true } : {}),
      },
    );
    writeOutputFile(out, r.object);
    for (const w of r.warnings) process.stderr.write(`${w.file}:${w.line}:${w.column}: warning: ${w.message}\n`);
    if (values.verbose) process.stderr.write(`${out}: ${r.cached ? 'from the cache' : 'compiled'}\n`);
    return 0;
  } catch (err) {
    if (err instanceof CompileError && values.verbose) process.stderr.write(err.output);
    throw err;
  }
}
