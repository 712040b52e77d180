/**
 * `bpfkit urls FILE --threads N` (full mode): the flows of the capture split over N shards, each a whole
 * pipeline with its own eBPF filter in the VM (shard-runner.ts). Shard 0 runs on this thread, the others
 * each on a thread of their own (shard-thread.ts). This thread reads the capture a chunk at a time
 * straight into shared memory, parses the record headers and deals each frame to the shard of its
 * address pair (shard-key.ts): per frame only a few byte reads and six numbers in its shard's batch, no
 * copy and no message; per chunk one message per shard thread, the chunk itself shared by all of them.
 * It runs its own shard's frames while the threads run theirs, and merges the shards' output back into
 * the order one thread prints (shard-protocol.ts explains the tags).
 *
 * Same output, byte for byte, as one thread whenever no flow is closed by the idle timeout or by the
 * flow and memory limits (each shard has 1/N of them, so such closings may come at other frames). Every
 * batch carries the capture's clock (the last frame dealt), and each shard sweeps its idle flows on it:
 * a shard whose flows went quiet closes them when the capture's time says so, not at its own next frame,
 * which may come much later or never (then only the end of input closed them). Memory stays bounded: at
 * most WINDOW chunks in flight.
 */
import { Worker } from 'node:worker_threads';
import { BpfkitError } from '../../util/errors.js';
import { DEFAULT_CHUNK_SIZE, openCapture } from '../../packet/capture-reader.js';
import type { PacketRef } from '../../packet/packet.js';
import type { VmExecution } from '../../engine/options.js';
import { FlowDealer } from './shard-key.js';
import { MergeQueue, mergeReady } from './shard-merge.js';
import { loadFilterSpec, parseFilterObject, type LoadedFilter } from './filter-engine.js';
import { ShardRunner } from './shard-runner.js';
import { fullSummary, type FrameCounts } from './full-pipeline.js';
import type { FullStats } from './full-analyzer.js';
import type { UrlSummary } from './pipeline.js';
import { META_FIELDS, type FromShard, type ShardEnd, type ShardInput, type ToShard } from './shard-protocol.js';

/**
 * Chunks a shard thread may have unanswered. Enough for this thread to run on through its own shard's
 * frames while the other threads are still starting (loading modules, compiling their filter), which
 * takes about as long as this thread's own start; each is a 4 MiB chunk.
 */
const WINDOW = 6;

/**
 * What a byte dealt to this thread's own shard weighs against one dealt to a shard thread: this thread
 * also reads, deals and merges, so its shard gets a little less of the traffic.
 */
const OWN_SHARD_WEIGHT = 1.3;

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

/** Where the frames of one chunk dealt to one shard are: META_FIELDS numbers per frame. */
class Batch {
  meta: Float64Array;
  count = 0;
  constructor(meta: Float64Array) {
    this.meta = meta;
  }
  add(index: number, p: PacketRef): void {
    const k = this.count * META_FIELDS;
    if (k + META_FIELDS > this.meta.length) {
      const bigger = new Float64Array(Math.max(this.meta.length * 2, 1024 * META_FIELDS));
      bigger.set(this.meta);
      this.meta = bigger;
    }
    const m = this.meta;
    m[k] = index;
    m[k + 1] = p.ts;
    m[k + 2] = p.offset;
    m[k + 3] = p.caplen;
    m[k + 4] = p.origLen;
    m[k + 5] = p.linktype;
    this.count++;
  }
}

/** A shard thread as this side sees it: its worker, its output to merge, its batches. */
class ShardThread {
  readonly worker: Worker;
  readonly queue = new MergeQueue();
  inFlight = 0;
  private readonly freeMeta: ArrayBuffer[] = [];
  readonly batch = new Batch(new Float64Array(8192 * META_FIELDS));

  constructor(input: ShardInput, onAnswer: (seq: number) => void, onEvent: (failure?: Error) => void) {
    // (execArgv: the parent's flags may be ones a worker refuses, such as --input-type with --eval)
    this.worker = new Worker(new URL('./shard-thread.js', import.meta.url), { workerData: input, execArgv: [] });
    this.worker.on('message', (m: FromShard) => {
      if (m.type === 'records') {
        this.queue.push({ lines: m.lines, tags: new Float64Array(m.tags) }, m.upTo);
        if (m.meta) this.freeMeta.push(m.meta);
        if (m.seq >= 0) {
          this.inFlight--;
          onAnswer(m.seq);
        }
        onEvent();
      } else if (m.type === 'end') {
        this.queue.end = m;
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
      if (!this.queue.end) onEvent(new BpfkitError(`a shard thread exited (status ${code}) before the end`, 70));
    });
  }

  /** Send the current batch (possibly empty) of chunk `data`; every frame up to `upTo` has been dealt. */
  send(seq: number, data: SharedArrayBuffer | undefined, upTo: number, origin: number, clock: number): void {
    const b = this.batch;
    const size = b.meta.length;
    const msg: ToShard = {
      type: 'frames',
      seq,
      data: b.count > 0 ? data : undefined,
      meta: b.meta.buffer as ArrayBuffer,
      count: b.count,
      upTo,
      origin,
      clock,
    };
    this.worker.postMessage(msg, [msg.meta]);
    this.inFlight++;
    // (the meta went with the message: the batch goes on in one given back, or a new one)
    const reuse = this.freeMeta.pop();
    b.meta = reuse ? new Float64Array(reuse) : new Float64Array(size);
    b.count = 0;
  }
}

/** A chunk of the capture in shared memory, and how many shard threads have yet to answer for it. */
interface Chunk {
  bytes: Uint8Array;
  unanswered: number;
}

/** A sharded run: threads started at construction (their booting overlaps the caller's), then read, finish. */
export class ShardedCapture {
  private readonly threads: ShardThread[] = [];
  /** this thread's own shard (0): its filter loads while the threads start */
  private readonly own: Promise<ShardRunner>;
  private ownLoaded: LoadedFilter | undefined;
  private readonly ownQueue = new MergeQueue();
  private readonly ownBatch = new Batch(new Float64Array(8192 * META_FIELDS));
  private readonly queues: MergeQueue[];
  /** chunks the threads still read, by batch number; and chunks free to read into */
  private readonly inFlight = new Map<number, Chunk>();
  private readonly freeChunks: Uint8Array[] = [];
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
    const onAnswer = (seq: number) => {
      const chunk = this.inFlight.get(seq);
      if (chunk && --chunk.unanswered === 0) {
        this.inFlight.delete(seq);
        this.freeChunks.push(chunk.bytes);
      }
    };
    const input = (shard: number): ShardInput => ({
      shard,
      shards: n,
      engine: opts.engine,
      ...(opts.vmEngine ? { vmEngine: opts.vmEngine } : {}),
      format: opts.format,
      maxLine: opts.maxLine,
      maxFlows: Math.max(1, Math.floor(opts.maxFlows / n)),
      idleTimeoutSec: opts.idleTimeoutSec,
      maxMemory: Math.floor(opts.maxMemory / n),
    });
    for (let shard = 1; shard < n; shard++) this.threads.push(new ShardThread(input(shard), onAnswer, onEvent));
    this.queues = [this.ownQueue, ...this.threads.map((t) => t.queue)];
    this.own = (async () => {
      if (opts.engine === 'vm') {
        // (parsed once, here, while the threads start; each loads it into its own VM)
        const spec = await parseFilterObject('full');
        for (const t of this.threads) t.worker.postMessage({ type: 'filter', spec } satisfies ToShard);
        this.ownLoaded = await loadFilterSpec(spec, 'full', 'vm', opts.vmEngine);
      }
      return new ShardRunner(input(0), this.ownLoaded, false);
    })();
    this.own.catch(() => {}); // (raised where it is awaited)
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
    mergeReady(this.queues, this.onLine);
  }

  /** A chunk-sized buffer in shared memory, at least `size` bytes, to read into. */
  private freeChunk(size: number): Uint8Array {
    const free = this.freeChunks;
    for (;;) {
      const c = free.pop();
      if (!c) break;
      if (c.length >= size) return c;
    }
    return new Uint8Array(new SharedArrayBuffer(Math.max(size, DEFAULT_CHUNK_SIZE)));
  }

  /**
   * Deal every frame of `path` to the shards, merging their output as it comes. A malformed capture: the
   * frames before the fault are dealt first, then the reader's error is raised (call finish() after).
   */
  async read(
    path: string,
    o: { shouldStop?: () => boolean; onProgress?: (bytes: number) => void; keep?: (p: PacketRef) => boolean } = {},
  ): Promise<void> {
    const reader = await openCapture(path, { chunkSize: DEFAULT_CHUNK_SIZE });
    const own = await this.own;
    const { threads, ownBatch } = this;
    const batches = [ownBatch, ...threads.map((t) => t.batch)];
    const dealer = new FlowDealer(this.opts.shards, [OWN_SHARD_WEIGHT]);
    let index = 0;
    let origin = NaN;
    const keep = o.keep;
    let clock = NaN;
    /** the buffer the frames of this step are in */
    let stepBytes: Uint8Array | undefined;
    const deal = (p: PacketRef) => {
      if (keep !== undefined && !keep(p)) return;
      if (stepBytes !== p.bytes) {
        if (stepBytes !== undefined) throw new BpfkitError('sharded read: one chunk in two buffers', 70);
        stepBytes = p.bytes;
      }
      if (index === 0) origin = p.ts;
      clock = p.ts;
      batches[dealer.shardOf(p.bytes, p.offset, p.caplen, p.linktype)]!.add(index++, p);
    };
    let seq = 0;
    try {
      const scan = reader.scan();
      // (the scanner reads into shared memory from the start, and the chunk it read is ours after each step)
      scan.handOff(this.freeChunk(DEFAULT_CHUNK_SIZE));
      let more = true;
      while (more) {
        await this.until(() => threads.every((t) => t.inFlight < WINDOW));
        stepBytes = undefined;
        try {
          more = await scan.step(deal);
        } finally {
          this.dealt(scan, stepBytes, seq++, index - 1, origin, clock, own);
        }
        o.onProgress?.(scan.position);
        if (o.shouldStop?.()) break;
      }
    } finally {
      await reader.close();
    }
  }

  /** The frames of one step are dealt: send the threads theirs, run our own, merge. */
  private dealt(
    scan: { handOff(next: Uint8Array): Uint8Array },
    stepBytes: Uint8Array | undefined,
    seq: number,
    upTo: number,
    origin: number,
    clock: number,
    own: ShardRunner,
  ): void {
    let data: SharedArrayBuffer | undefined;
    let bytes: Uint8Array | undefined;
    if (stepBytes !== undefined) {
      bytes = scan.handOff(this.freeChunk(stepBytes.length));
      if (bytes !== stepBytes) throw new BpfkitError('sharded read: the chunk handed off is not the one dealt', 70);
      if (!(bytes.buffer instanceof SharedArrayBuffer) || bytes.byteOffset !== 0) {
        // (a record larger than a chunk: the scanner grew its buffer outside shared memory)
        const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
        shared.set(bytes);
        bytes = shared;
      }
      data = bytes.buffer as SharedArrayBuffer;
      if (this.threads.length > 0) this.inFlight.set(seq, { bytes, unanswered: this.threads.length });
    }
    for (const t of this.threads) t.send(seq, data, upTo, origin, clock);
    const b = this.ownBatch;
    this.ownQueue.push(own.run(bytes ?? EMPTY, b.meta, b.count, upTo, origin, clock), upTo);
    b.count = 0;
    if (bytes !== undefined && this.threads.length === 0) this.freeChunks.push(bytes);
    this.merge();
  }

  /** End of input: the shards close their flows; everything left is merged. Resolves to the run's summary. */
  async finish(): Promise<UrlSummary> {
    if (!this.finished) {
      this.finished = true;
      for (const t of this.threads) t.worker.postMessage({ type: 'finish' } satisfies ToShard);
      const { last, end } = (await this.own).finish();
      this.ownQueue.push(last, Infinity);
      this.ownQueue.end = end;
    }
    const queues = this.queues;
    await this.until(() => {
      this.merge();
      return queues.every((q) => q.end !== undefined);
    });
    this.merge();
    return mergedSummary(queues.map((q) => q.end!));
  }

  /** Stop the threads (after finish, or on a failure). */
  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
    this.ownLoaded?.close();
  }
}

const EMPTY = new Uint8Array(0);

/** One summary from the shards' counters: sums, and the undecoded reasons by name, most frequent first. */
function mergedSummary(ends: ShardEnd[]): UrlSummary {
  const counts: FrameCounts = { seen: 0, kept: 0, cut: 0, cutHiding: 0 };
  for (const e of ends) {
    counts.seen += e.counts.seen;
    counts.kept += e.counts.kept;
    counts.cut += e.counts.cut;
    counts.cutHiding += e.counts.cutHiding;
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
