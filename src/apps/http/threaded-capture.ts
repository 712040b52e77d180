/**
 * `bpfkit urls FILE` on two threads (full mode, VM engine): the filter thread (filter-thread.ts) reads
 * the capture and runs the eBPF filter; this side feeds the frames it kept to the FullPipeline and sends
 * back, with each batch, the session keys of flows that ended. Same requests as one thread; the filter
 * just sees userspace's deletes one batch later (as a kernel filter would see them a little later too).
 */
import { Worker } from 'node:worker_threads';
import { BpfkitError } from '../../util/errors.js';
import { META_FIELDS, type FilterThreadInput, type ToFilter, type ToMain } from './filter-thread-protocol.js';
import { FULL_KEY_SIZE, fullSessionKeys } from './full-key.js';
import type { FullFilter, FullPipeline } from './full-pipeline.js';
import type { FlowEnds } from '../../packet/flow/flow-key.js';
import { FrameView } from '../../packet/frame.js';
import { parseFilterObject } from './filter-engine.js';

export interface ThreadedOptions {
  shouldStop?: () => boolean;
  /** called after each batch with the file offset reached */
  onProgress?: (bytes: number) => void;
}

/**
 * The filter as the main thread sees it: frames arrive already filtered; ended flows are queued and go
 * to the filter thread with the next acknowledgement.
 */
export class RemoteFilter implements FullFilter {
  private forgotten: FlowEnds[] = [];
  readonly sessions = 0;
  keep(): boolean {
    return true;
  }
  forget(flow: FlowEnds): void {
    this.forgotten.push(flow);
  }
  /** The keys queued since the last call, back to back. */
  take(): Uint8Array {
    const out = new Uint8Array(this.forgotten.length * FULL_KEY_SIZE);
    let o = 0;
    for (const f of this.forgotten)
      for (const k of fullSessionKeys(f)) {
        out.set(k, o);
        o += FULL_KEY_SIZE;
      }
    this.forgotten = [];
    return out.subarray(0, o);
  }
}

/** A filter thread, started as early as possible so its loading overlaps the main thread's. */
export class FilterThread {
  private readonly worker: Worker;
  private readonly messages: ToMain[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;

  constructor(path: string) {
    // (execArgv: the parent's flags may be ones a worker refuses, such as --input-type with --eval)
    this.worker = new Worker(new URL('./filter-thread.js', import.meta.url), {
      workerData: { path } satisfies FilterThreadInput,
      execArgv: [],
    });
    this.worker.on('message', (m: ToMain) => {
      this.messages.push(m);
      this.wake?.();
    });
    this.worker.on('error', (err) => {
      this.failure = err;
      this.wake?.();
    });
    // An exit before 'end' or 'error' (the thread died) must not leave run() waiting forever.
    this.worker.on('exit', (code) => {
      this.failure ??= new Error(`it exited (status ${code}) before the end of the capture`);
      this.wake?.();
    });
    // Parse the filter object here while the thread boots: this thread has nothing else to do yet.
    void parseFilterObject('full').then(
      (spec) => this.worker.postMessage({ type: 'spec', spec } satisfies ToFilter),
      (err: Error) => {
        this.failure = err;
        this.wake?.();
      },
    );
  }

  private async next(): Promise<ToMain> {
    for (;;) {
      const m = this.messages.shift();
      if (m) return m;
      if (this.failure)
        throw this.failure instanceof BpfkitError
          ? this.failure
          : new BpfkitError(`the filter thread failed: ${this.failure.message}`, 70);
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  /**
   * Feed every kept frame to `pipeline` (built with a RemoteFilter) until the capture ends. A malformed
   * capture: every frame before the fault goes through first, then the reader's error is raised here.
   */
  async run(pipeline: FullPipeline, filter: RemoteFilter, opts: ThreadedOptions = {}): Promise<void> {
    let stopSent = false;
    const frame = new FrameView();
    for (;;) {
      const m = await this.next();
      if (m.type === 'end') {
        pipeline.dropped(m.seen, m.cut);
        return;
      }
      if (m.type === 'error') {
        const err = new BpfkitError(m.message, m.exitCode);
        err.name = m.name;
        throw err;
      }
      const frames = new Uint8Array(m.frames);
      const meta = new Float64Array(m.meta);
      for (let i = 0, k = 0; i < m.count; i++, k += META_FIELDS) {
        pipeline.keptPacket(frame.set(frames, meta[k]!, meta[k + 1]!, meta[k + 2]!, meta[k + 3]!));
      }
      pipeline.dropped(m.seen - m.count, m.cut);
      opts.onProgress?.(m.bytes);
      const forget = filter.take();
      const ack: ToFilter = { type: 'ack', seq: m.seq, frames: m.frames, meta: m.meta, forget };
      this.worker.postMessage(ack, [m.frames, m.meta, forget.buffer as ArrayBuffer]);
      if (!stopSent && opts.shouldStop?.()) {
        stopSent = true;
        this.worker.postMessage({ type: 'stop' } satisfies ToFilter);
      }
    }
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
