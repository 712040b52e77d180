/**
 * Keeps V8's heap near what is live, so that `--max-memory` bounds the process and not just the data.
 * V8 lets garbage pile up in the old generation until a limit it sets from the machine's memory (well
 * over 100 MB), and flows that churn by the hundred thousand (a SYN flood, eviction under a full table)
 * are exactly that garbage: `bpfkit urls --max-memory 64` on the many-flows capture held 26 MB live in a
 * 176 MB heap. The valve asks for a full collection when the heap passes the budget; V8 then returns the
 * freed pages. A full collection costs ~10-30 ms per 100 MB live, and runs only under that pressure.
 * The analyzer calls check() every thousand packets (FullOptions.onPoll): between 4 MiB chunks of input
 * a flow flood left ~150 MB of garbage.
 *
 * The floor: V8 commits its young generation (~33 MB at Node's default semi-space size) whatever the heap
 * holds, so below `--max-memory 128` the process exceeds budget + baseline; started with
 * `NODE_OPTIONS=--max-semi-space-size=2` it holds down to 64 MB (docs/urls.md).
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A check to call now and then (between capture chunks, on a timer); stop() when done. */
export interface HeapValve {
  check(): void;
  /** full collections asked for so far */
  readonly collections: number;
}

/**
 * A valve for a heap of at most `maxHeapBytes`. V8's `gc` is fetched the first time the heap passes the
 * budget (a fresh context costs ~4 ms, which most runs never need); when V8 will not give it, the valve
 * does nothing.
 */
export function heapValve(maxHeapBytes: number): HeapValve | undefined {
  let gc: (() => void) | null | undefined;
  const collect = (): void => {
    if (gc === undefined) gc = fetchGc();
    gc?.();
  };
  let collections = 0;
  // A collection must free a good share of the limit to be worth its cost: with the live heap close to
  // the limit, collecting each time the heap passes it would collect every few hundred packets (110 s
  // instead of 29 s for a 250k-flow flood at 64 MB). So the next collection waits until the heap in use
  // has grown by `slack` past what the last one left. (Used, not committed, size: the young generation's
  // ~33 MB is committed whatever we do.)
  const slack = Math.floor(maxHeapBytes * 0.4);
  let next = maxHeapBytes;
  return {
    check(): void {
      if (getHeapStatistics().used_heap_size > next) {
        collections++;
        collect();
        next = Math.max(maxHeapBytes, getHeapStatistics().used_heap_size + slack);
      }
    },
    get collections(): number {
      return collections;
    },
  };
}

/** V8's `gc`, or null when it will not give it. */
function fetchGc(): (() => void) | null {
  try {
    // (the flag only exposes `gc` to contexts made after it is set: a fresh one, just for that)
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}
