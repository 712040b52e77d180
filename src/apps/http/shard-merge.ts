/**
 * The merge of `bpfkit urls --threads N`: each shard's output lines, tagged with the frame that reported
 * them (shard-protocol.ts), come back in the order the shard made them; merging the queues by tag, and
 * never past a frame some unfinished shard has not run yet, gives one thread's order, byte for byte.
 */
import type { TaggedLines } from './shard-runner.js';
import type { ShardEnd } from './shard-protocol.js';

/** A shard's output lines waiting to be merged, in the order the shard made them. */
export class MergeQueue {
  private readonly pending: { lines: string[]; tags: Float64Array; at: number }[] = [];
  /** every frame up to this index has been run (-1: none yet) */
  upTo = -1;
  /** the shard's counters, once it has finished */
  end: ShardEnd | undefined;

  push(got: TaggedLines, upTo: number): void {
    if (got.lines.length > 0) this.pending.push({ lines: got.lines, tags: got.tags, at: 0 });
    this.upTo = upTo;
  }

  /** Tag of the next record to merge, or Infinity when none is here (tags themselves are finite). */
  head(): number {
    while (this.pending.length > 0) {
      const p = this.pending[0]!;
      if (p.at < p.lines.length) return p.tags[p.at]!;
      this.pending.shift();
    }
    return Infinity;
  }

  /** The next record's line (after head() said there is one). */
  take(): string {
    const p = this.pending[0]!;
    return p.lines[p.at++]!;
  }
}

/**
 * Hand `onLine` every record no shard can precede any more (all of them once every shard is done): the
 * lowest tag first, and none past the frontier, the lowest frame an unfinished shard may still report.
 */
export function mergeReady(queues: readonly MergeQueue[], onLine: (line: string) => void): void {
  let frontier = Infinity;
  for (const q of queues) if (!q.end) frontier = Math.min(frontier, q.upTo);
  for (;;) {
    let best: MergeQueue | undefined;
    let bestTag = Infinity;
    let next = Infinity; // the lowest head of the other queues
    for (const q of queues) {
      const t = q.head();
      if (t < bestTag) {
        next = bestTag;
        bestTag = t;
        best = q;
      } else if (t < next) next = t;
    }
    if (!best || bestTag > frontier) return;
    // A run of records from one shard, up to where another's or the frontier comes first. An empty
    // queue's head is Infinity, which the frontier and `next` can be too (every shard's last lines in,
    // the others empty): the run stops there, not at a take() from nothing.
    const until = Math.min(next, frontier);
    for (;;) {
      onLine(best.take());
      const h = best.head();
      if (h === Infinity || h > until) break;
    }
  }
}
