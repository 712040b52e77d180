/**
 * `struct tracepoint__C__E` for TRACEPOINT_PROBE(C, E), written from the tracepoint's tracefs format as
 * BCC generates it (../tracepoint-struct.ts, BCC's flavour): `args->filename` is a pointer, as in BCC.
 */
import { tracepointFormatStruct, type TracepointFormatField } from '../tracepoint-struct.js';

/** `struct tracepoint__<category>__<event> { ... }` for the given format fields. */
export function bccTracepointStruct(category: string, event: string, fields: TracepointFormatField[]): string {
  return tracepointFormatStruct(`tracepoint__${category}__${event}`, fields, true);
}
