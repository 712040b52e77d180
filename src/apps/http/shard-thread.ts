/**
 * One shard thread of `bpfkit urls --threads N`: a ShardRunner (shard-runner.ts) for the flows the
 * reading thread deals to it. It gets the frames of each chunk of the capture in one batch (the chunk
 * itself shared, not copied), runs them in capture order, and sends back the output lines it made with
 * their tags (shard-protocol.ts), so the reading thread can merge the shards into one thread's order.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { loadFilterSpec, type LoadedFilter } from './filter-engine.js';
import { BpfkitError } from '../../util/errors.js';
import { ShardRunner } from './shard-runner.js';
import type { FromShard, ShardInput, ToShard } from './shard-protocol.js';

/** Messages from the reading thread, in order, waited for one at a time. */
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

const NO_DATA = new Uint8Array(0);

async function main(port: MessagePort, input: ShardInput): Promise<void> {
  const inbox = new Inbox(port);
  let loaded: LoadedFilter | undefined;
  try {
    if (input.engine === 'vm') {
      const m = await inbox.next();
      if (m.type !== 'filter') throw new BpfkitError(`a shard thread got '${m.type}' before its filter`, 70);
      loaded = await loadFilterSpec(m.spec, 'full', 'vm', input.vmEngine);
    }
    const runner = new ShardRunner(input, loaded, true);
    for (;;) {
      const m = await inbox.next();
      if (m.type === 'finish') break;
      if (m.type !== 'frames') continue;
      const data = m.data ? new Uint8Array(m.data) : NO_DATA;
      const got = runner.run(data, new Float64Array(m.meta), m.count, m.upTo, m.origin, m.clock);
      const msg: FromShard = {
        type: 'records',
        seq: m.seq,
        lines: got.lines,
        tags: got.tags.buffer as ArrayBuffer,
        upTo: m.upTo,
        meta: m.meta,
      };
      port.postMessage(msg, [msg.tags, m.meta]);
    }
    const { last, end } = runner.finish();
    const tags = last.tags.buffer as ArrayBuffer;
    port.postMessage({ type: 'records', seq: -1, lines: last.lines, tags, upTo: Infinity } satisfies FromShard, [tags]);
    port.postMessage({ type: 'end', ...end } satisfies FromShard);
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
