/**
 * A tracepoint's context as a C struct, written from its tracefs `format` (field, offset, size, sign),
 * so a program reads the tracepoint's fields with no kernel headers and no CO-RE: the format *is* this
 * kernel's layout. Fields are placed at their offsets with explicit padding in a packed struct.
 */
import type { TracepointField } from '../kernel/attach/tracefs.js';

function intType(size: number, signed: boolean): string | undefined {
  const bits = { 1: 8, 2: 16, 4: 32, 8: 64 }[size];
  return bits ? `__${signed ? 's' : 'u'}${bits}` : undefined;
}

/** `struct NAME { ... }` for the given fields (the __data_loc and other odd sizes become byte arrays). */
export function tracepointStruct(name: string, fields: TracepointField[]): string {
  const lines: string[] = [];
  let at = 0;
  let pad = 0;
  for (const f of [...fields].sort((a, b) => a.offset - b.offset)) {
    if (f.offset < at || !/^\w+$/.test(f.name)) continue;
    if (f.offset > at) lines.push(`\t__u8 __pad${pad++}[${f.offset - at}];`);
    const elem = f.arrayLength ? f.size / f.arrayLength : f.size;
    const t = intType(elem, f.signed);
    if (f.arrayLength && t) lines.push(`\t${t} ${f.name}[${f.arrayLength}];`);
    else if (!f.arrayLength && t) lines.push(`\t${t} ${f.name};`);
    else lines.push(`\t__u8 ${f.name}[${f.size}];`);
    at = f.offset + f.size;
  }
  return `struct ${name} {\n${lines.join('\n')}\n} __attribute__((packed));\n`;
}
