/**
 * `bpfkit urls FILE --threads N` (full mode): the flows of the capture split over N shard threads
 * (shard-thread.ts), each a whole pipeline with its own eBPF filter in the VM. This thread reads the
 * capture, deals each frame to the shard of its address pair (shard-key.ts) — one batch per shard per
 * chunk of the file, the bytes copied once and the buffers transferred, not cloned — and merges the
 * shards' output back into the order one thread prints (shard-protocol.ts explains the tags).
 *
 * Same output, byte for byte, as one thread whenever no flow is closed by the idle timeout or by the
 * flow and memory limits (each shard has 1/N of them, so such closings may come at other frames). Every
 * batch carries the capture's clock (the last frame dealt), and each shard sweeps its idle flows on it:
 * a shard whose flows went quiet closes them when the capture's time says so, not at its own next frame,
 * which may come much later or never (then only the end of input closed them). Memory stays bounded: at
 * most WINDOW batches per shard in flight.
 */
import { Worker } from 'node:worker_threads';
import { BpfkitError } from '../../util/errors.js';
import { openCapture } from '../../packet/capture-reader.js';
import type { PacketRef } from '../../packet/packet.js';
import type { VmExecution } from '../../engine/options.js';
import { shardOf } from './shard-key.js';
import { fullSummary, type FrameCounts } from './full-pipeline.js';
import type { FullStats } from './full-analyzer.js';
import type { UrlSummary } from './pipeline.js';
import { META_FIELDS, type FromShard, type ShardInput, type ToShard } from './shard-protocol.js';

/** Batches a shard may have unanswered: one being run, two queued. */
const WINDOW = 3;

/** How to run the shards. */
export interface ShardedOptions {
  shards: number;
  engine: 'vm' | 'none';
  vmEngine?: VmExecution;
  format: 'text' | 'json';
  maxLine: number;
  maxFlows: number;
  idleTimeoutSec: number;
  /** the whole run's memory budget, bytes (each shard gets its share) */
  maxMemory: number;
}

/** The frames of one chunk going to one shard. */
class Batch {
  data: Uint8Array;
  meta: Float64Array;
  used = 0;
  count = 0;
  constructor(data: Uint8Array, meta: Float64Array) {
    this.data = data;
    this.meta = meta;
  }
  add(index: number, p: PacketRef): void {
    const len = p.caplen;
    if (this.used + len > this.data.length) {
      const bigger = new Uint8Array(Math.max(this.data.length * 2, this.used + len));
      bigger.set(this.data.subarray(0, this.used));
      this.data = bigger;
    }
    if ((this.count + 1) * META_FIELDS > this.meta.length) {
      const bigger = new Float64Array(Math.max(this.meta.length * 2, 256 * META_FIELDS));
      bigger.set(this.meta);
      this.meta = bigger;
    }
    this.data.set(p.bytes.subarray(p.offset, p.offset + len), this.used);
    const k = this.count * META_FIELDS;
    const m = this.meta;
    m[k] = index;
    m[k + 1] = p.ts;
    m[k + 2] = this.used;
    m[k + 3] = len;
    m[k + 4] = p.origLen;
    m[k + 5] = p.linktype;
    this.used += len;
    this.count++;
  }
}

/** A shard thread as this side sees it: its worker, its records waiting to be merged, its batches. */
class Shard {
  readonly worker: Worker;
  /** records received, not yet merged: per message, the lines, their tags and how far they were taken */
  private readonly pending: { lines: string[]; tags: Float64Array; at: number }[] = [];
  /** every frame up to this index has been run (-1: none yet) */
  upTo = -1;
  inFlight = 0;
  end: Extract<FromShard, { type: 'end' }> | undefined;
  readonly free: { data: ArrayBuffer; meta: ArrayBuffer }[] = [];
  batch: Batch;

  constructor(input: ShardInput, onEvent: (failure?: Error) => void, chunkGuess: number) {
    this.batch = new Batch(new Uint8Array(chunkGuess), new Float64Array(1024 * META_FIELDS));
    // (execArgv: the parent's flags may be ones a worker refuses, such as --input-type with --eval)
    this.worker = new Worker(new URL('./shard-thread.js', import.meta.url), { workerData: input, execArgv: [] });
    this.worker.on('message', (m: FromShard) => {
      if (m.type === 'records') {
        if (m.lines.length > 0) this.pending.push({ lines: m.lines, tags: new Float64Array(m.tags), at: 0 });
        this.upTo = m.upTo;
        this.inFlight--;
        if (m.data && m.meta) this.free.push({ data: m.data, meta: m.meta });
        onEvent();
      } else if (m.type === 'end') {
        this.end = m;
        onEvent();
      } else {
        const err = new BpfkitError(m.message, m.exitCode);
        err.name = m.name;
        onEvent(err);
      }
    });
    this.worker.on('error', (err) => onEvent(new BpfkitError(`a shard thread failed: ${err.message}`, 70)));
    // An exit before 'end' (the thread died) must not leave the run waiting forever.
    this.worker.on('exit', (code) => {
      if (!this.end) onEvent(new BpfkitError(`a shard thread exited (status ${code}) before the end`, 70));
    });
  }

  /** Tag of the next record to merge, or Infinity when none is here. */
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

  /** Send the current batch (possibly empty) with the index every frame up to which was dealt. */
  send(upTo: number, origin: number, clock: number): void {
    const b = this.batch;
    const msg: ToShard = {
      type: 'frames',
      data: b.data.buffer as ArrayBuffer,
      meta: b.meta.buffer as ArrayBuffer,
      count: b.count,
      upTo,
      origin,
      clock,
    };
    this.worker.postMessage(msg, [msg.data, msg.meta]);
    this.inFlight++;
    const reuse = this.free.pop();
    this.batch = reuse
      ? new Batch(new Uint8Array(reuse.data), new Float64Array(reuse.meta))
      : new Batch(new Uint8Array(Math.max(64 << 10, b.data.length)), new Float64Array(b.meta.length));
  }
}

/** A sharded run: threads started at construction (their booting overlaps the caller's), then read, finish. */
export class ShardedCapture {
  private readonly shards: Shard[];
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private finished = false;

  constructor(
    private readonly opts: ShardedOptions,
    /** where merged output lines go, in one thread's order */
    private readonly onLine: (line: string) => void,
  ) {
    const n = opts.shards;
    const onEvent = (failure?: Error) => {
      if (failure) this.failure ??= failure;
      this.wake?.();
    };
    this.shards = [];
    for (let shard = 0; shard < n; shard++)
      this.shards.push(
        new Shard(
          {
            shard,
            shards: n,
            engine: opts.engine,
            ...(opts.vmEngine ? { vmEngine: opts.vmEngine } : {}),
            format: opts.format,
            maxLine: opts.maxLine,
            maxFlows: Math.max(1, Math.floor(opts.maxFlows / n)),
            idleTimeoutSec: opts.idleTimeoutSec,
            maxMemory: Math.floor(opts.maxMemory / n),
          },
          onEvent,
          Math.ceil((6 << 20) / n),
        ),
      );
  }

  /** Resolves when `ready()` holds (rethrowing a shard's failure). */
  private async until(ready: () => boolean): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (ready()) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  /** Write every record no shard can precede any more (all of them once every shard is done). */
  private merge(): void {
    let frontier = Infinity;
    for (const s of this.shards) if (!s.end) frontier = Math.min(frontier, s.upTo);
    const shards = this.shards;
    for (;;) {
      let best: Shard | undefined;
      let bestTag = Infinity;
      for (const s of shards) {
        const t = s.head();
        if (t < bestTag) {
          bestTag = t;
          best = s;
        }
      }
      if (!best || bestTag > frontier) return;
      this.onLine(best.take());
    }
  }

  /**
   * Deal every frame of `path` to the shards, merging their output as it comes. A malformed capture: the
   * frames before the fault are dealt first, then the reader's error is raised (call finish() after).
   */
  async read(
    path: string,
    o: { shouldStop?: () => boolean; onProgress?: (bytes: number) => void; keep?: (p: PacketRef) => boolean } = {},
  ): Promise<void> {
    const reader = await openCapture(path);
    const shards = this.shards;
    const n = shards.length;
    let index = 0;
    let origin = NaN;
    const keep = o.keep;
    let clock = NaN;
    const deal = (p: PacketRef) => {
      if (keep !== undefined && !keep(p)) return;
      if (index === 0) origin = p.ts;
      clock = p.ts;
      shards[shardOf(p.bytes, p.offset, p.caplen, p.linktype, n)]!.batch.add(index++, p);
    };
    try {
      const scan = reader.scan({ readAhead: true });
      let more = true;
      while (more) {
        await this.until(() => shards.every((s) => s.inFlight < WINDOW));
        try {
          more = await scan.step(deal);
        } finally {
          for (const s of shards) s.send(index - 1, origin, clock);
          this.merge();
        }
        o.onProgress?.(scan.position);
        if (o.shouldStop?.()) break;
      }
    } finally {
      await reader.close();
    }
  }

  /** End of input: the shards close their flows; everything left is merged. Resolves to the run's summary. */
  async finish(): Promise<UrlSummary> {
    if (!this.finished) {
      this.finished = true;
      for (const s of this.shards) s.worker.postMessage({ type: 'finish' } satisfies ToShard);
    }
    const shards = this.shards;
    await this.until(() => {
      this.merge();
      return shards.every((s) => s.end !== undefined);
    });
    this.merge();
    return mergedSummary(shards.map((s) => s.end!));
  }

  /** Stop the threads (after finish, or on a failure). */
  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.worker.terminate()));
  }
}

/** One summary from the shards' counters: sums, and the undecoded reasons by name, most frequent first. */
function mergedSummary(ends: Extract<FromShard, { type: 'end' }>[]): UrlSummary {
  const counts: FrameCounts = { seen: 0, kept: 0, cut: 0 };
  for (const e of ends) {
    counts.seen += e.counts.seen;
    counts.kept += e.counts.kept;
    counts.cut += e.counts.cut;
  }
  const stats = ends.slice(1).reduce((sum, e) => addCounters(sum, e.stats), ends[0]!.stats);
  const reasons = new Map<string, number>();
  for (const e of ends) for (const r of e.reasons) reasons.set(r.name, (reasons.get(r.name) ?? 0) + r.count);
  const merged = [...reasons].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count);
  return fullSummary(counts, stats, merged);
}

/** a + b, field by field (nested counters too). */
function addCounters(a: FullStats, b: FullStats): FullStats {
  const sum = (x: Record<string, unknown>, y: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(x)) {
      const u = x[k];
      const v = y[k];
      out[k] =
        typeof u === 'number' && typeof v === 'number'
          ? u + v
          : typeof u === 'object' && u !== null && typeof v === 'object' && v !== null
            ? sum(u as Record<string, unknown>, v as Record<string, unknown>)
            : u;
    }
    return out;
  };
  return sum(a as unknown as Record<string, unknown>, b as unknown as Record<string, unknown>) as unknown as FullStats;
}
