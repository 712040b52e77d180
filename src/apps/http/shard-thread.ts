/**
 * One shard thread of `bpfkit urls --threads N`: a whole full-mode pipeline (its own eBPF filter in the
 * VM, its own flow table and parsers) for the flows the main thread deals to it (shard-key.ts). It gets
 * the frames of each chunk of the capture in one batch, runs them in capture order, and sends back the
 * output lines it made with their tags (shard-protocol.ts), so the main thread can merge the shards into
 * one thread's order.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { FrameView } from '../../packet/frame.js';
import { FullPipeline } from './full-pipeline.js';
import { loadFilterObject, type LoadedFilter } from './filter-engine.js';
import { jsonLine, textLine, type UrlRecord } from './record.js';
import type { FlowEnds } from './full-analyzer.js';
import { heapValve } from './heap-valve.js';
import { heapLimit } from '../../packet/flow/memory-budget.js';
import { FINISH_TAG, META_FIELDS, UNTAGGED, type FromShard, type ShardInput, type ToShard } from './shard-protocol.js';

/** Messages from the main thread, in order, waited for one at a time. */
class Inbox {
  private readonly queue: ToShard[] = [];
  private wake: (() => void) | undefined;
  constructor(port: MessagePort) {
    port.on('message', (m: ToShard) => {
      this.queue.push(m);
      this.wake?.();
    });
  }
  async next(): Promise<ToShard> {
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

/** The lines a shard reported since the last message, with their tags. */
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
  /** Send what was reported, with the batch's buffers (`back`) for the main thread to fill again. */
  send(port: MessagePort, upTo: number, back?: { data: ArrayBuffer; meta: ArrayBuffer }): void {
    const tags = new Float64Array(this.tags);
    const msg: FromShard = { type: 'records', lines: this.lines, tags: tags.buffer, upTo, ...back };
    port.postMessage(msg, back ? [tags.buffer, back.data, back.meta] : [tags.buffer]);
    this.lines = [];
    this.tags = [];
    this.flowStart = 0;
  }
}

async function main(port: MessagePort, input: ShardInput): Promise<void> {
  const inbox = new Inbox(port);
  let loaded: LoadedFilter | undefined;
  try {
    if (input.engine === 'vm') loaded = await loadFilterObject('full', 'vm', input.vmEngine);
    const out = new Outbox();
    const valve = heapValve(heapLimit(input.maxMemory));
    const line =
      input.format === 'json'
        ? (r: UrlRecord) => jsonLine(r)
        : (r: UrlRecord) => (r.truncated || r.malformed ? textLine(r) : `${r.method} ${r.uri} ${r.version}`);
    const pipeline = new FullPipeline(
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
    const frame = new FrameView();
    for (;;) {
      const m = await inbox.next();
      if (m.type === 'finish') break;
      loaded?.startClock(m.origin);
      const data = new Uint8Array(m.data);
      const meta = new Float64Array(m.meta);
      for (let i = 0, k = 0; i < m.count; i++, k += META_FIELDS) {
        out.tag = meta[k]!;
        pipeline.packet(frame.set(data, meta[k + 2]!, meta[k + 3]!, meta[k + 5]!, meta[k + 1]!, meta[k + 4]));
      }
      // The capture's clock, as the reading thread saw it: idle flows close on the capture's time even
      // when this shard got none of the last frames (records of such closings take the batch's last index).
      if (!Number.isNaN(m.clock)) {
        out.tag = m.upTo;
        pipeline.tick(m.clock);
      }
      out.send(port, m.upTo, { data: m.data, meta: m.meta });
    }
    out.finishing();
    pipeline.finish();
    out.send(port, Infinity);
    port.postMessage({
      type: 'end',
      counts: pipeline.counts(),
      stats: pipeline.analyzer.stats,
      reasons: pipeline.analyzer.undecodedReasons(),
    } satisfies FromShard);
  } catch (err) {
    const e = err as Error & { exitCode?: number };
    port.postMessage({
      type: 'error',
      name: e.name ?? 'Error',
      message: e.message ?? String(err),
      exitCode: typeof e.exitCode === 'number' ? e.exitCode : 70,
    } satisfies FromShard);
  } finally {
    loaded?.close();
    port.close();
  }
}

if (parentPort) void main(parentPort, workerData as ShardInput);
