/**
 * The NULL-ness of tp_btf pointer arguments on one release: btf_ctx_access (btf.c) marks a struct pointer
 * argument PTR_MAYBE_NULL, or scrubs it to a scalar when it may carry an error code, by the compiled-in
 * raw_tp_null_args table, and leaves every other argument of a vmlinux tracepoint trusted and never NULL.
 * That table is not exported and changes between releases, so bpfkit carries what tools/tp-btf-probe.js
 * read from Linux 6.18 by loading programs (tp-null-table.ts), and uses it only for a kernel of that
 * release, and only for the tracepoints the probe saw: anywhere else a table from one release would turn
 * into a silent "ok" on another.
 */
import { TP_NULL_RELEASE, TP_NULL_TABLE } from './tp-null-table.js';

/** What the table says of one tracepoint's pointer-to-struct arguments (0-based; every other one is trusted). */
export interface TpNullFacts {
  /** Arguments the kernel marks PTR_MAYBE_NULL. */
  nullArgs: readonly number[];
  /** Arguments that may carry an error code: a scalar once loaded. */
  errArgs: readonly number[];
  /** Arguments the probe could not classify: not modelled. */
  unknownArgs: readonly number[];
}

/** `major.minor` of a release string (`6.18.44-fc-v1300` → `6.18`), or undefined when it has none. */
export function releaseSeries(release: string): string | undefined {
  return /^(\d+\.\d+)(?:[.\-+~_]|$)/.exec(release)?.[1];
}

let parsed: Map<string, TpNullFacts> | undefined;

/** The table, parsed on first use (1,600 lines). */
function table(): Map<string, TpNullFacts> {
  if (parsed) return parsed;
  parsed = new Map();
  for (const line of TP_NULL_TABLE.split('\n')) {
    const [name, ...marks] = line.trim().split(' ');
    if (!name) continue;
    const facts = { nullArgs: [] as number[], errArgs: [] as number[], unknownArgs: [] as number[] };
    for (const m of marks) {
      const arg = Number(m.slice(0, -1));
      const kind = m.slice(-1);
      (kind === '?' ? facts.nullArgs : kind === '!' ? facts.errArgs : facts.unknownArgs).push(arg);
    }
    parsed.set(name, facts);
  }
  return parsed;
}

/**
 * The table's facts for vmlinux tracepoint `name` on a kernel of `release` (`uname -r`): undefined when the
 * release is not the table's series (or unknown), or the probe never saw the tracepoint.
 */
export function tpNullFacts(name: string, release: string | undefined): TpNullFacts | undefined {
  return onTableSeries(release) ? table().get(name) : undefined;
}

/** Whether a kernel of `release` is of the series the table was probed on (6.18.x): its facts hold there. */
export function onTableSeries(release: string | undefined): boolean {
  return !!release && releaseSeries(release) === releaseSeries(TP_NULL_RELEASE);
}

/** The series (`6.18`) the table is for, as the messages of tp_btf's not-modelled cases name it. */
export const TP_NULL_SERIES: string = releaseSeries(TP_NULL_RELEASE) ?? TP_NULL_RELEASE;
