/**
 * The filter thread of `bpfkit urls FILE` (full mode, VM engine, two threads): reads the capture and runs
 * the eBPF filter in the VM on every frame, and hands the frames it keeps to the main thread in batches,
 * one batch per chunk of the file, while the main thread reassembles and parses the previous batch.
 * This is the kernel's split: the filter runs in its own context, userspace reads what it kept.
 *
 * A batch is the chunk the reader just parsed (handed over whole: kept frames are read where they lie,
 * nothing is copied) plus the offset, length, link type and time of each kept frame. The main thread
 * acknowledges each batch with the session keys to forget (flows that ended or are not HTTP) and gives
 * the buffers back; those deletes reach the map before batch seq + WINDOW is filtered and never earlier,
 * so the result depends only on the file, not on the threads' timing. Memory stays at WINDOW + 1 chunks
 * whatever the capture's size.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { openCapture, type CaptureReader } from '../../packet/capture-reader.js';
import type { PacketRef } from '../../packet/packet.js';
import { FULL_KEY_SIZE } from './full-key.js';
import { loadFilterSpec, type LoadedFilter } from './filter-engine.js';
import type { ObjectSpec } from '../../elf/spec.js';
import { META_FIELDS, WINDOW, type FilterThreadInput, type ToFilter, type ToMain } from './filter-thread-protocol.js';

/** Kept frames' META_FIELDS numbers for one chunk (grows when a chunk holds many small frames). */
class Meta {
  count = 0;
  constructor(public values: Float64Array) {}
  add(offset: number, length: number, linktype: number, ts: number): void {
    if ((this.count + 1) * META_FIELDS > this.values.length) {
      const m = new Float64Array(Math.max(64 * META_FIELDS, this.values.length * 2));
      m.set(this.values);
      this.values = m;
    }
    const k = this.count * META_FIELDS;
    this.values[k] = offset;
    this.values[k + 1] = length;
    this.values[k + 2] = linktype;
    this.values[k + 3] = ts;
    this.count++;
  }
}

async function main(port: MessagePort, input: FilterThreadInput): Promise<void> {
  const inbox = new Inbox(port);
  let reader: CaptureReader | undefined;
  let loaded: LoadedFilter | undefined;
  try {
    reader = await openCapture(input.path);
    const spec = await inbox.spec();
    loaded = await loadFilterSpec(spec, 'full', 'vm');
    await filterAll(port, inbox, reader, loaded);
  } catch (err) {
    const e = err as Error & { exitCode?: number };
    const exitCode = typeof e.exitCode === 'number' ? e.exitCode : 70;
    port.postMessage({
      type: 'error',
      name: e.name ?? 'Error',
      message: e.message ?? String(err),
      exitCode,
    } satisfies ToMain);
  } finally {
    await reader?.close();
    loaded?.close();
    port.close();
  }
}

/** Messages from the main thread, kept until asked for. */
class Inbox {
  readonly acks = new Map<number, Extract<ToFilter, { type: 'ack' }>>();
  stopped = false;
  private parsed: ObjectSpec | undefined;
  private wake: (() => void) | undefined;
  constructor(port: MessagePort) {
    port.on('message', (m: ToFilter) => {
      if (m.type === 'stop') this.stopped = true;
      else if (m.type === 'spec') this.parsed = m.spec;
      else this.acks.set(m.seq, m);
      this.wake?.();
    });
  }
  /** Resolves at the next message. */
  next(): Promise<void> {
    return new Promise<void>((resolve) => (this.wake = resolve));
  }
  async spec(): Promise<ObjectSpec> {
    while (this.parsed === undefined) await this.next();
    return this.parsed;
  }
}

/** Read, filter and hand over every chunk, then 'end'. */
async function filterAll(port: MessagePort, inbox: Inbox, reader: CaptureReader, loaded: LoadedFilter): Promise<void> {
  const filter = loaded.full();
  const sessions = loaded.sessions;
  const acks = inbox.acks;
  const freeChunks: Uint8Array[] = [];
  const freeMeta: Float64Array[] = [];
  let applied = -1;

  /** Apply the main thread's acknowledgements up to `seq`, in order, waiting for those not yet here. */
  const until = async (seq: number) => {
    while (applied < seq && !inbox.stopped) {
      const ack = acks.get(applied + 1);
      if (!ack) {
        await inbox.next();
        continue;
      }
      acks.delete(applied + 1);
      applied++;
      for (let o = 0; o + FULL_KEY_SIZE <= ack.forget.length; o += FULL_KEY_SIZE)
        sessions?.delete(ack.forget.subarray(o, o + FULL_KEY_SIZE));
      freeChunks.push(new Uint8Array(ack.frames));
      freeMeta.push(new Float64Array(ack.meta));
    }
  };

  let seen = 0;
  let cut = 0;
  let seq = 0;
  let meta = new Meta(new Float64Array(0));
  const onPacket = (p: PacketRef) => {
    seen++;
    if (p.caplen < p.origLen) cut++;
    if (filter.keep(p)) meta.add(p.offset, p.caplen, p.linktype, p.ts);
  };
  // Small first reads: the main thread starts parsing (and warming up) while this one still warms up.
  const scan = reader.scan({ firstRead: 64 << 10 });
  let more = true;
  while (more && !inbox.stopped) {
    await until(seq - WINDOW);
    if (inbox.stopped) break;
    meta = new Meta(freeMeta.pop() ?? new Float64Array(8192 * META_FIELDS));
    try {
      more = await scan.step(onPacket);
    } finally {
      // The chunk itself goes to the main thread (the kept frames are read where they are), even after
      // a fault: every frame read before it is delivered first.
      const chunk = scan.handOff(freeChunks.pop() ?? new Uint8Array(0));
      const msg: ToMain = {
        type: 'batch',
        seq,
        frames: chunk.buffer as ArrayBuffer,
        meta: meta.values.buffer as ArrayBuffer,
        count: meta.count,
        seen,
        cut,
        bytes: scan.position,
      };
      port.postMessage(msg, [chunk.buffer as ArrayBuffer, meta.values.buffer as ArrayBuffer]);
      seq++;
      seen = 0;
      cut = 0;
    }
  }
  port.postMessage({ type: 'end', seen, cut } satisfies ToMain);
}

if (parentPort) void main(parentPort, workerData as FilterThreadInput);
