/**
 * The bpf_trace_printk lines this process's programs write during test runs, read from tracefs's `trace`
 * file: a snapshot of the trace buffer that, unlike trace_pipe, takes nothing away from another reader
 * (a `cat trace_pipe` or bpftrace running beside us keeps its lines). The lines of this process's pid
 * seen when the capture starts are skipped; `take()` returns the ones written since, once each. So
 * `bpfkit run --engine kernel` prints the same trace lines the VM's trace sink receives.
 */
import { readFileSync } from 'node:fs';
import { tracefsRoot } from './tracefs.js';

/** `<comm>-<pid> [cpu] flags time: bpf_trace_printk: message` (comm may hold spaces and dashes). */
const LINE = /^\s*.*-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[\d+\]\s+(?:\S{4,6}\s+)?\d+\.\d+:\s+bpf_trace_printk:\s?(.*)$/;

/** Collects this process's bpf_trace_printk lines written after it was made. */
export class PrintkCapture {
  private seen: number;
  private readonly path: string;

  constructor(private readonly pid = process.pid) {
    this.path = `${tracefsRoot()}/trace`;
    this.seen = this.lines().length;
  }

  private lines(): string[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const line of text.split('\n')) {
      const m = LINE.exec(line);
      if (m && Number(m[1]) === this.pid) out.push(m[2]!);
    }
    return out;
  }

  /** The messages written since the last take() (or since the capture began), oldest first. */
  take(): string[] {
    const all = this.lines();
    // a trace buffer that wrapped may have dropped older lines: then everything left is new to us
    const fresh = all.length >= this.seen ? all.slice(this.seen) : all;
    this.seen = all.length;
    return fresh;
  }
}
