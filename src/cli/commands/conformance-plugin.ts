/**
 * `bpfkit conformance-plugin [MEMORY_HEX] [--program HEX] [--engine jit|interpreter]`: a plugin for the
 * public bpf_conformance runner, speaking the same protocol as its uBPF and rbpf plugins: the program on
 * stdin (as hex text, as the runner writes it; raw bytecode is accepted too), the memory the program gets
 * in r1/r2 as a hex string in the first argument, r0 printed as lowercase hex without `0x` on stdout.
 * Errors go to stderr with a non-zero exit (1: the program failed in the VM, 2: bad input).
 */
import { readFileSync } from 'node:fs';
import { parseFlags } from '../args.js';
import { UsageError } from '../../util/errors.js';
import { hexToBytes } from '../../conformance/data-file.js';
import { runPluginProgram } from '../../conformance/plugin.js';
import { ENGINES, type EngineKind } from '../../vm/interpreter.js';

const USAGE = `usage: bpfkit conformance-plugin [MEMORY_HEX] [--program HEX] [--engine jit|interpreter] < PROGRAM

bpf_conformance plugin: reads the program (hex text or raw bytecode) from stdin unless --program is given,
runs it with MEMORY_HEX as its input memory (r1 = address, r2 = length) and prints r0 in hex.
`;

/** stdin is hex text when it holds only hex digits and whitespace (a raw program ends in exit, 0x95, which is not). */
function programBytes(input: Uint8Array): Uint8Array {
  const text = Buffer.from(input).toString('latin1');
  if (/^[0-9a-fA-F\s]*$/.test(text)) return hexToBytes(text, 'the program on stdin');
  return input;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, { program: { type: 'string' }, engine: { type: 'string' } });
  if (help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length > 1)
    throw new UsageError(`expected at most one argument (the memory as hex), got ${positionals.length}`);
  const engine = (values.engine ?? 'jit') as EngineKind;
  if (!ENGINES.includes(engine)) throw new UsageError(`--engine must be one of ${ENGINES.join(', ')}, got '${engine}'`);
  const mem = hexToBytes(positionals[0] ?? '', 'the memory argument');
  const bytes = values.program !== undefined ? hexToBytes(values.program, '--program') : programBytes(readFileSync(0));
  const r0 = runPluginProgram(bytes, mem, engine);
  process.stdout.write(`${r0.toString(16)}\n`);
  return 0;
}
