/**
 * `bpfkit asm FILE`: assemble conformance- or LLVM-syntax text (FILE `-` = stdin) into raw bytecode.
 * Errors name `file:line` and exit 2.
 */
import { readFileSync } from 'node:fs';
import { InputError, UsageError } from '../../util/errors.js';
import { parseFlags } from '../args.js';
import { assemble } from '../../asm/assemble.js';
import { encodeProgram } from '../../isa/codec.js';
import { writeOutputFile } from '../output-file.js';

export const help = `usage: bpfkit asm FILE [options]

Assemble a program (conformance syntax, LLVM syntax, or both mixed; FILE - = stdin) into raw bytecode.
Without -o, prints the bytecode as hex, one 8-byte slot per line.

options:
  -o, --output OUT            write the raw bytecode to OUT (- = stdout)
  --hex                       write hex text instead of raw bytes (to OUT or stdout)
  --syntax auto|conformance|llvm   input syntax (default auto: decided per line)
  --big-endian                emit big-endian bytecode
`;

export async function run(argv: string[]): Promise<number> {
  const {
    values,
    positionals,
    help: wantHelp,
  } = parseFlags(argv, {
    output: { type: 'string', short: 'o' },
    hex: { type: 'boolean' },
    syntax: { type: 'string' },
    'big-endian': { type: 'boolean' },
  });
  if (wantHelp) {
    process.stdout.write(help);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`asm takes exactly one FILE (got ${positionals.length})\n${help}`);
  const syntax = values.syntax ?? 'auto';
  if (syntax !== 'auto' && syntax !== 'llvm' && syntax !== 'conformance') {
    throw new UsageError(`--syntax must be auto, conformance or llvm, got '${syntax}'`);
  }
  const file = positionals[0]!;
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, file);
  }
  const insns = assemble(text, { syntax, source: file === '-' ? '<stdin>' : file });
  const bytes = encodeProgram(insns, values['big-endian'] ? 'big' : 'little');
  const out = values.output;
  if (out === undefined || values.hex) {
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i += 8)
      lines.push(Array.from(bytes.subarray(i, i + 8), (b) => b.toString(16).padStart(2, '0')).join(' '));
    const hex = lines.length ? `${lines.join('\n')}\n` : '';
    if (out === undefined || out === '-') process.stdout.write(hex);
    else writeOutputFile(out, hex);
    return 0;
  }
  if (out === '-') process.stdout.write(bytes);
  else writeOutputFile(out, bytes);
  return 0;
}
