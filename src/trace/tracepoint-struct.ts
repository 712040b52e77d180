/**
 * A tracepoint's context as a C struct for bpfkit's own tools (integers and byte arrays at the format's
 * offsets, packed): the writer lives with the compiler (src/compile/tracepoint-struct.ts), which BCC's
 * TRACEPOINT_PROBE uses too.
 */
import { tracepointFormatStruct } from '../compile/tracepoint-struct.js';
import type { TracepointField } from '../kernel/attach/tracefs.js';

/** `struct NAME { ... }` for the given fields (the __data_loc and other odd sizes become byte arrays). */
export function tracepointStruct(name: string, fields: TracepointField[]): string {
  return tracepointFormatStruct(name, fields);
}
