/**
 * bpfkit btf dump [FILE] [--format c|raw] — BTF as C declarations (a `vmlinux.h` that clang compiles)
 * or as one line per type. FILE is raw BTF (/sys/kernel/btf/vmlinux, the default) or an ELF object
 * with a .BTF section.
 */
import { readFileSync } from 'node:fs';
import { parseFlags } from '../args.js';
import { InputError, UsageError } from '../../util/errors.js';
import { parseBtf, writeC, btfKindName, type Btf } from '../../btf/index.js';
import { parseObject } from '../../elf/object.js';

const usage = `usage: bpfkit btf dump [FILE] [--format c|raw]

FILE: raw BTF (default /sys/kernel/btf/vmlinux) or an ELF object with a .BTF section.
--format c (default) writes C declarations that compile with clang (vmlinux.h, records with
preserve_access_index for CO-RE); raw writes one line per type.
`;

/** Read BTF from a raw BTF file or from an ELF object's .BTF section. */
export function readBtfFile(file: string): Btf {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, file);
  }
  if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    const spec = parseObject(bytes, { path: file });
    if (!spec.btf) throw new InputError('the object has no .BTF section (compile with -g)', file);
    return parseBtf(spec.btf, `${file}(.BTF)`);
  }
  return parseBtf(bytes, file);
}

function rawLines(btf: Btf): string {
  const out: string[] = [];
  for (const t of btf.types.slice(1)) {
    const name = t.name ? `'${t.name}'` : '(anon)';
    let line = `[${t.id}] ${btfKindName(t.kind)} ${name}`;
    if (t.array) line += ` type_id=${t.array.type} index_type_id=${t.array.indexType} nr_elems=${t.array.nelems}`;
    else line += ` ${t.kind === 1 || t.kind >= 4 ? 'size' : 'type_id'}=${t.sizeOrType}`;
    if (t.vlen) line += ` vlen=${t.vlen}`;
    out.push(line);
    for (const m of t.members)
      out.push(`\t'${m.name}' type_id=${m.type} offset=${m.offset}${m.size ? ` size=${m.size}` : ''}`);
  }
  return out.join('\n') + '\n';
}

/** Run `bpfkit btf`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, { format: { type: 'string' } });
  if (help) {
    process.stdout.write(usage);
    return 0;
  }
  const [verb, file = '/sys/kernel/btf/vmlinux', ...extra] = positionals;
  if (verb !== 'dump' || extra.length > 0) throw new UsageError(usage);
  const format = values.format ?? 'c';
  if (format !== 'c' && format !== 'raw') throw new UsageError('--format must be c or raw');
  const btf = readBtfFile(file);
  let text: string;
  try {
    text = format === 'c' ? writeC(btf) : rawLines(btf);
  } catch (err) {
    // (the writer knows types, not files: a malformed one is named with the file it came from)
    if (err instanceof InputError && err.where === undefined) throw new InputError(err.message, file);
    throw err;
  }
  process.stdout.write(text);
  return 0;
}
