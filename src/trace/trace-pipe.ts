/**
 * trace_pipe: the lines bpf_trace_printk writes, parsed. A line reads
 * `           <comm>-<pid>     [<cpu>] <flags> <seconds>: <event>: <message>`, where comm may hold
 * spaces and dashes (the pid is after the last dash before the CPU) and the flags column may be absent.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** One trace_pipe line. */
export interface TraceLine {
  task: string;
  pid: number;
  cpu: number;
  /** irqs-off, need-resched, hardirq/softirq, preempt depth, as the kernel prints them (e.g. `d..31`). */
  flags: string;
  /** Seconds since boot, as printed. */
  time: number;
  /** The event name (`bpf_trace_printk`). */
  event: string;
  message: string;
}

const LINE = /^\s*(.*)-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(\d+)\]\s+(?:([^\s]{4,6})\s+)?(\d+\.\d+):\s+([^:]+):\s?(.*)$/;

/** Parse one line (undefined for lines that are not events, such as `CPU:3 [LOST 12 EVENTS]`). */
export function parseTraceLine(line: string): TraceLine | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  return {
    task: m[1]!.trim(),
    pid: Number(m[2]),
    cpu: Number(m[3]),
    flags: m[4] ?? '',
    time: Number(m[5]),
    event: m[6]!,
    message: m[7]!,
  };
}

/** Lines of `path` (tracefs's trace_pipe) as they come, until `signal` aborts. */
export async function* readTracePipe(path: string, signal?: AbortSignal): AsyncGenerator<TraceLine> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 4096 });
  const onAbort = () => stream.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      const ev = parseTraceLine(line);
      if (ev) yield ev;
    }
  } catch (err) {
    if (!signal?.aborted) throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stream.destroy();
  }
}
