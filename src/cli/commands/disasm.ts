/**
 * `bpfkit disasm FILE`: disassemble an ELF object (every executable section, like
 * `llvm-objdump -d --no-show-raw-insn`) or a raw bytecode file (anything that isn't ELF; FILE `-` = stdin).
 */
import { readFileSync } from 'node:fs';
import { InputError, UsageError } from '../../util/errors.js';
import { parseFlags } from '../args.js';
import { isElf, listFile } from '../../asm/listing.js';

export const help = `usage: bpfkit disasm FILE [options]

Disassemble an ELF object's executable sections or a raw bytecode file (8-byte instructions; - = stdin).

options:
  --syntax llvm|conformance   output syntax (default llvm: what llvm-objdump -d prints)
  --section NAME              only this section of an ELF object
  --raw                       treat FILE as raw bytecode even if it looks like ELF
  --big-endian                raw bytecode is big-endian (ELF objects carry their byte order)
  --bytes                     show each instruction's bytes (llvm-objdump's default layout)
  -r, --reloc                 show relocations under the instructions they patch (llvm-objdump -dr)
  -S, --source                the C source line above its instructions, from .BTF.ext line_info (llvm-objdump -S)
  --plain                     instructions only, one per line (input for 'bpfkit asm')
  --alu32                     w registers for sub-64-bit loads/stores (llvm-objdump --mattr=+alu32)
  --strict                    exit 2 on the first invalid instruction or jump, naming its pc
`;

export async function run(argv: string[]): Promise<number> {
  const {
    values,
    positionals,
    help: wantHelp,
  } = parseFlags(argv, {
    syntax: { type: 'string' },
    section: { type: 'string' },
    raw: { type: 'boolean' },
    'big-endian': { type: 'boolean' },
    bytes: { type: 'boolean' },
    reloc: { type: 'boolean', short: 'r' },
    source: { type: 'boolean', short: 'S' },
    plain: { type: 'boolean' },
    alu32: { type: 'boolean' },
    strict: { type: 'boolean' },
  });
  if (wantHelp) {
    process.stdout.write(help);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(`disasm takes exactly one FILE (got ${positionals.length})\n${help}`);
  const syntax = values.syntax ?? 'llvm';
  if (syntax !== 'llvm' && syntax !== 'conformance')
    throw new UsageError(`--syntax must be llvm or conformance, got '${syntax}'`);
  const file = positionals[0]!;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file === '-' ? 0 : file);
  } catch (err) {
    throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, file);
  }
  // Flags the listing would drop without a word: a plain listing has no bytes, relocations or source
  // lines; raw bytecode has no relocations or line info; an ELF object carries its own byte order.
  if (values.plain)
    for (const f of ['bytes', 'reloc', 'source'] as const)
      if (values[f]) throw new UsageError(`--plain lists instructions only: --${f} does not apply`);
  const elf = !values.raw && isElf(bytes);
  if (!elf)
    for (const f of ['reloc', 'source'] as const)
      if (values[f]) throw new UsageError(`--${f} needs an ELF object; ${file} is raw bytecode`);
  if (elf && values['big-endian'])
    throw new UsageError(`--big-endian is for raw bytecode; ${file} is an ELF object, which carries its byte order`);
  const text = listFile(bytes, {
    source: file === '-' ? '<stdin>' : file,
    syntax,
    section: values.section,
    raw: values.raw,
    endian: values['big-endian'] ? 'big' : 'little',
    relocations: values.reloc,
    sourceLines: values.source,
    showBytes: values.bytes,
    plain: values.plain,
    alu32: values.alu32,
    strict: values.strict,
  });
  process.stdout.write(text);
  return 0;
}
