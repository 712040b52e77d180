/**
 * A tracepoint's context as a C struct, written from its tracefs `format` (field, offset, size, sign), so
 * a program reads the tracepoint's fields with no kernel headers and no CO-RE: the format *is* this
 * kernel's layout. Fields sit at their offsets with explicit padding in a packed struct. Two flavours:
 * bpfkit's own tools take integers and byte arrays; BCC's dialect (TRACEPOINT_PROBE) also keeps the
 * pointer types the format declares, names a `__data_loc` field's locator `data_loc_NAME`, and marks the
 * struct 8-aligned (the context is), so clang loads each field whole instead of byte by byte. Pure: the
 * format comes from the caller (src/kernel reads tracefs).
 */

/** One field of a tracepoint's format (what src/kernel/attach/tracefs.ts parses). */
export interface TracepointFormatField {
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
function pointerDecl(f: TracepointFormatField): string | undefined {
  if (f.arrayLength || f.size !== 8 || !f.decl.includes('*')) return undefined;
  const m = /^(.*?\*)\s*(\w+)$/.exec(f.decl.trim());
  if (!m || m[2] !== f.name) return undefined;
  const type = m[1]!.replace(/\s+/g, ' ');
  // Basic C types and `struct X *` (an incomplete struct is fine behind a pointer); typedef'd names may not exist.
  if (!/^(?:(?:const|volatile|unsigned|signed|char|short|int|long|void|struct \w+|__user)\s*|\*\s*)+$/.test(type))
    return undefined;
  return `${type.replace(/__user\s*/g, '')} ${f.name}`;
}

/** `struct NAME { ... }` for the given fields, in bpfkit's flavour or (`bcc`) BCC's. */
export function tracepointFormatStruct(name: string, fields: TracepointFormatField[], bcc = false): string {
  const lines: string[] = [];
  let at = 0;
  let pad = 0;
  for (const f of [...fields].sort((a, b) => a.offset - b.offset)) {
    if (f.offset < at || !/^\w+$/.test(f.name)) continue;
    if (f.offset > at) lines.push(`\t__u8 __pad${pad++}[${f.offset - at}];`);
    at = f.offset + f.size;
    if (bcc && /^__data_loc\b/.test(f.decl.trim())) {
      // BCC names a dynamic field's locator data_loc_NAME (offset in the low 16 bits, length in the high
      // 16), read with TP_DATA_LOC_READ: never under the field's own name, which would read as its data.
      lines.push(`\tint data_loc_${f.name};`);
      continue;
    }
    const ptr = bcc ? pointerDecl(f) : undefined;
    const elem = f.arrayLength ? f.size / f.arrayLength : f.size;
    const t = intType(elem, f.signed);
    if (ptr) lines.push(`\t${ptr};`);
    else if (f.arrayLength && t) lines.push(`\t${t} ${f.name}[${f.arrayLength}];`);
    else if (!f.arrayLength && t) lines.push(`\t${t} ${f.name};`);
    else lines.push(`\t__u8 ${f.name}[${f.size}];`);
  }
  return `struct ${name} {\n${lines.join('\n')}\n} __attribute__((${bcc ? 'packed, aligned(8)' : 'packed'}));\n`;
}
