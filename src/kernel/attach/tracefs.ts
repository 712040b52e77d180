/**
 * tracefs: where tracepoint ids and formats live (events/CATEGORY/NAME/{id,format}) and trace_pipe.
 * Mounted at /sys/kernel/tracing on current kernels; bpfkit mounts it there when nothing is (root only),
 * as perf and bpftrace do, and falls back to the old debugfs path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { EnvironmentError, InputError } from '../../util/errors.js';
import { libc } from '../libc.js';

const CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

let root: string | undefined;

/** The tracefs mount point, mounting it at /sys/kernel/tracing when needed. */
export function tracefsRoot(): string {
  if (root) return root;
  for (const dir of CANDIDATES) {
    if (existsSync(`${dir}/events`)) return (root = dir);
  }
  if (existsSync(CANDIDATES[0]!)) {
    const r = libc().mount('tracefs', CANDIDATES[0]!, 'tracefs', 0, null) as number;
    if (r === 0 && existsSync(`${CANDIDATES[0]}/events`)) return (root = CANDIDATES[0]!);
  }
  throw new EnvironmentError('tracefs is not mounted at /sys/kernel/tracing and mounting it failed (needs root)');
}

function checkName(part: string, what: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(part)) throw new InputError(`bad ${what} '${part}'`);
}

/** The id perf_event_open takes for tracepoint `category:name` (InputError, exit 2, when there is none). */
export function tracepointId(category: string, name: string): number {
  checkName(category, 'tracepoint category');
  checkName(name, 'tracepoint name');
  const file = `${tracefsRoot()}/events/${category}/${name}/id`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new InputError(`no tracepoint ${category}:${name} (${tracefsRoot()}/events/${category}/${name})`);
  }
  return Number(text.trim());
}

/** One field of a tracepoint's format. */
export interface TracepointField {
  /** The C declaration as tracefs prints it, e.g. `__u8 saddr[4]`. */
  decl: string;
  name: string;
  offset: number;
  size: number;
  signed: boolean;
  /** Element count for arrays (`[4]`), else 0. */
  arrayLength: number;
}

/** Parse a tracepoint's `format` file into its fields (the common_* header included). */
export function parseTracepointFormat(text: string): TracepointField[] {
  const out: TracepointField[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*field:(.*?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d);/.exec(line);
    if (!m) continue;
    const decl = m[1]!.trim();
    const nm = /(\w+)\s*(?:\[(\d*)\])?$/.exec(decl);
    out.push({
      decl,
      name: nm?.[1] ?? '',
      offset: Number(m[2]),
      size: Number(m[3]),
      signed: m[4] === '1',
      arrayLength: nm?.[2] ? Number(nm[2]) : 0,
    });
  }
  return out;
}

/** The fields of tracepoint `category:name`, read from tracefs. */
export function tracepointFormat(category: string, name: string): TracepointField[] {
  tracepointId(category, name);
  return parseTracepointFormat(readFileSync(`${tracefsRoot()}/events/${category}/${name}/format`, 'utf8'));
}
