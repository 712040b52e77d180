/**
 * One shard of `bpfkit urls --threads N`: a whole full-mode pipeline (its own eBPF filter, flow table
 * and parsers) for the flows dealt to it, run batch by batch, its output lines kept with their tags
 * (shard-protocol.ts) for the merge. The shard threads (shard-thread.ts) each run one, and so does the
 * reading thread (sharded-capture.ts): one thread fewer to start, and its start-up is the one a single
 * thread pays anyway.
 */
import { FrameView } from '../../packet/frame.js';
import { FullPipeline } from './full-pipeline.js';
import type { LoadedFilter } from './filter-engine.js';
import { jsonLine, textLine, type UrlRecord } from './record.js';
import type { FlowEnds } from './full-analyzer.js';
import { heapValve } from './heap-valve.js';
import { heapLimit } from '../../packet/flow/memory-budget.js';
import { FINISH_TAG, META_FIELDS, UNTAGGED, type ShardEnd, type ShardInput } from './shard-protocol.js';

/** Output lines with their tags (one tag per line). */
export interface TaggedLines {
  lines: string[];
  tags: Float64Array;
}

/** The lines a shard reported since they were last taken, with their tags. */
class Outbox {
  lines: string[] = [];
  tags: number[] = [];
  /** tag of what is reported now: the frame being run, or (at the end) pending the flow's */
  tag = 0;
  /** at the end of input: where the records of the flow being closed start */
  private flowStart = 0;
  /** index of the frame that opened each open flow */
  private readonly opened = new Map<FlowEnds, number>();

  add(line: string): void {
    this.lines.push(line);
    this.tags.push(this.tag);
  }
  flowStarted(f: FlowEnds): void {
    this.opened.set(f, this.tag);
  }
  /** A flow closed after its last record: at the end of input, its records take its opening's tag. */
  flowEnded(f: FlowEnds): void {
    const at = this.opened.get(f);
    this.opened.delete(f);
    if (this.tag !== UNTAGGED) return;
    const tag = at === undefined ? UNTAGGED : FINISH_TAG + at;
    for (let i = this.flowStart; i < this.tags.length; i++) this.tags[i] = tag;
    this.flowStart = this.tags.length;
  }
  /** From now on, records belong to the end of input. */
  finishing(): void {
    this.tag = UNTAGGED;
    this.flowStart = this.tags.length;
  }
  take(): TaggedLines {
    const taken = { lines: this.lines, tags: new Float64Array(this.tags) };
    this.lines = [];
    this.tags = [];
    this.flowStart = 0;
    return taken;
  }
}

/** A shard's pipeline and its tagged output. */
export class ShardRunner {
  private readonly out = new Outbox();
  private readonly pipeline: FullPipeline;
  private readonly frame = new FrameView();

  /**
   * `loaded`: the shard's filter (undefined: --engine none). `ownHeap`: the shard has its thread's heap
   * to itself and holds it to its share of the budget (heap-valve.ts); the reading thread's shard
   * leaves that to the thread's own valve.
   */
  constructor(
    input: ShardInput,
    private readonly loaded: LoadedFilter | undefined,
    ownHeap: boolean,
  ) {
    const out = this.out;
    const valve = ownHeap ? heapValve(heapLimit(input.maxMemory)) : undefined;
    const line =
      input.format === 'json'
        ? (r: UrlRecord) => jsonLine(r)
        : (r: UrlRecord) => (r.truncated || r.malformed ? textLine(r) : `${r.method} ${r.uri} ${r.version}`);
    this.pipeline = new FullPipeline(
      {
        limits: { maxLine: input.maxLine, maxHeaderLine: 16384 },
        maxFlows: input.maxFlows,
        idleTimeoutSec: input.idleTimeoutSec,
        maxMemory: input.maxMemory,
        ...(valve ? { onPoll: () => valve.check() } : {}),
        immediate: input.format === 'text',
        udp: false,
        onRecord: (r) => out.add(line(r)),
        onFlowStart: (f) => out.flowStarted(f),
        onFlowEnd: (f) => out.flowEnded(f),
      },
      loaded?.full(),
    );
  }

  /**
   * Run `count` frames (where `meta` says they are in `data`), then sweep idle flows on the capture's
   * `clock` (NaN: none yet); returns what they reported.
   */
  run(data: Uint8Array, meta: Float64Array, count: number, upTo: number, origin: number, clock: number): TaggedLines {
    const { out, pipeline, frame } = this;
    this.loaded?.startClock(origin);
    for (let i = 0, k = 0; i < count; i++, k += META_FIELDS) {
      out.tag = meta[k]!;
      pipeline.packet(frame.set(data, meta[k + 2]!, meta[k + 3]!, meta[k + 5]!, meta[k + 1]!, meta[k + 4]));
    }
    // The capture's clock, as the reading thread saw it: idle flows close on the capture's time even
    // when this shard got none of the last frames (records of such closings take the batch's last index).
    if (!Number.isNaN(clock)) {
      out.tag = upTo;
      pipeline.tick(clock);
    }
    return out.take();
  }

  /** End of input: close every flow; the last lines and the shard's counters. */
  finish(): { last: TaggedLines; end: ShardEnd } {
    this.out.finishing();
    this.pipeline.finish();
    const analyzer = this.pipeline.analyzer;
    return {
      last: this.out.take(),
      end: { counts: this.pipeline.counts(), stats: analyzer.stats, reasons: analyzer.undecodedReasons() },
    };
  }
}
