/**
 * `bpfkit conformance [--vm-engine jit|interpreter|wasm|all] PATH...`: run conformance `.data` files (or every
 * `.data` file under a directory). One line per file — `PASS name` / `FAIL name: expected .. got ..` —
 * then `N passed, N failed` alone on the last line. Exit 1 if any failed, 2 for usage errors or
 * malformed files (reported on stderr as file:line and counted as failed).
 */
import { parseFlags } from '../args.js';
import { InputError, UsageError, describeError } from '../../util/errors.js';
import { collectDataFiles, runFile } from '../../conformance/runner.js';
import { ENGINES, type EngineKind } from '../../vm/interpreter.js';
import { useModuleCacheFiles } from '../../loader/module-cache-files.js';

const USAGE = `usage: bpfkit conformance [--vm-engine jit|interpreter|wasm|all] PATH...

Runs eBPF conformance .data files (files, or directories searched for *.data) on the bpfkit VM.
  --vm-engine E  jit (default: programs compiled to JavaScript), interpreter, wasm (compiled to
                 WebAssembly), or all (each file on every engine); --engine is the same flag
`;

export async function run(argv: string[]): Promise<number> {
  const moduleCache = useModuleCacheFiles(); // (the 'wasm' engine's modules kept between runs; BPFKIT_MODULE_CACHE=off)
  const { values, positionals, help } = parseFlags(argv, {
    engine: { type: 'string' },
    'vm-engine': { type: 'string' },
  });
  if (help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.engine !== undefined && values['vm-engine'] !== undefined)
    throw new UsageError('give --vm-engine or --engine, not both');
  const e = values['vm-engine'] ?? values.engine ?? 'jit';
  if (e !== 'all' && !ENGINES.includes(e as EngineKind))
    throw new UsageError(`--engine must be ${ENGINES.join(', ')} or all, got '${e}'`);
  const engines: EngineKind[] = e === 'all' ? [...ENGINES] : [e as EngineKind];
  if (positionals.length === 0) throw new UsageError(`no .data files or directories given\n${USAGE}`);
  const files = collectDataFiles(positionals);
  await moduleCache;
  if (files.length === 0) throw new InputError('no .data files found', positionals.join(' '));
  let passed = 0;
  let failed = 0;
  let inputErrors = 0;
  for (const file of files) {
    for (const engine of engines) {
      const tag = engines.length > 1 ? ` [${engine}]` : '';
      try {
        const o = runFile(file, engine);
        process.stdout.write(`${o.line.replace(/^(PASS|FAIL) ([^\s:]+)/, `$1 $2${tag}`)}\n`);
        if (o.pass) passed++;
        else failed++;
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        const name = (file.split('/').pop() ?? file).replace(/\.data$/, '');
        process.stdout.write(`FAIL ${name}${tag}: malformed input\n`);
        process.stderr.write(`bpfkit conformance: ${describeError(err)}\n`);
        failed++;
        inputErrors++;
      }
    }
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  if (inputErrors > 0) return 2;
  return failed > 0 ? 1 : 0;
}
