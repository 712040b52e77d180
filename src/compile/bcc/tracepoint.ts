/**
 * `struct tracepoint__C__E` for TRACEPOINT_PROBE(C, E), written from the tracepoint's tracefs format, as
 * BCC generates it: the fields at their offsets (explicit padding, packed), integers by size and sign, and
 * pointers with the type the format declares (`const char * filename`), so `args->filename` is a pointer
 * as in BCC. The format comes from the caller (src/kernel reads tracefs; this file stays pure).
 */

/** One field of a tracepoint's format (what src/kernel/attach/tracefs.ts parses). */
export interface BccTracepointField {
  /** The declaration as tracefs prints it, e.g. `const char * filename`. */
  decl: string;
  name: string;
  offset: number;
  size: number;
  signed: boolean;
  /** Element count for arrays, else 0. */
  arrayLength: number;
}

function intType(size: number, signed: boolean): string | undefined {
  const bits = { 1: 8, 2: 16, 4: 32, 8: 64 }[size];
  return bits ? `__${signed ? 's' : 'u'}${bits}` : undefined;
}

/** A pointer declaration whose type is plain C (no kernel struct named by a type the BPF side lacks). */
function pointerDecl(f: BccTracepointField): string | undefined {
  if (f.arrayLength || f.size !== 8 || !f.decl.includes('*')) return undefined;
  const m = /^(.*?\*)\s*(\w+)$/.exec(f.decl.trim());
  if (!m || m[2] !== f.name) return undefined;
  const type = m[1]!.replace(/\s+/g, ' ');
  // Basic C types and `struct X *` (an incomplete struct is fine behind a pointer); typedef'd names may not exist.
  if (!/^(?:(?:const|volatile|unsigned|signed|char|short|int|long|void|struct \w+|__user)\s*|\*\s*)+$/.test(type))
    return undefined;
  return `${type.replace(/__user\s*/g, '')} ${f.name}`;
}

/** `struct tracepoint__<category>__<event> { ... }` for the given format fields. */
export function bccTracepointStruct(category: string, event: string, fields: BccTracepointField[]): string {
  const lines: string[] = [];
  let at = 0;
  let pad = 0;
  for (const f of [...fields].sort((a, b) => a.offset - b.offset)) {
    if (f.offset < at || !/^\w+$/.test(f.name)) continue;
    if (f.offset > at) lines.push(`\t__u8 __pad${pad++}[${f.offset - at}];`);
    if (/^__data_loc\b/.test(f.decl.trim())) {
      // BCC names a dynamic field's locator data_loc_NAME (offset in the low 16 bits, length in the high
      // 16), read with TP_DATA_LOC_READ: never under the field's own name, which would read as its data.
      lines.push(`\tint data_loc_${f.name};`);
      at = f.offset + f.size;
      continue;
    }
    const ptr = pointerDecl(f);
    const elem = f.arrayLength ? f.size / f.arrayLength : f.size;
    const t = intType(elem, f.signed);
    if (ptr) lines.push(`\t${ptr};`);
    else if (f.arrayLength && t) lines.push(`\t${t} ${f.name}[${f.arrayLength}];`);
    else if (!f.arrayLength && t) lines.push(`\t${t} ${f.name};`);
    else lines.push(`\t__u8 ${f.name}[${f.size}];`);
    at = f.offset + f.size;
  }
  // packed: the fields sit exactly at the format's offsets; aligned(8): the context is 8-aligned, so clang
  // still loads each field whole (packed alone would make it read them byte by byte).
  return `struct tracepoint__${category}__${event} {\n${lines.join('\n')}\n} __attribute__((packed, aligned(8)));\n`;
}
