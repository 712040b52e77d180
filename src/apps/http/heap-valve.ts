/**
 * Keeps V8's heap near what is live, so that `--max-memory` bounds the process and not just the data.
 * V8 lets garbage pile up in the old generation until a limit it sets from the machine's memory (well
 * over 100 MB), and flows that churn by the hundred thousand (a SYN flood, eviction under a full table)
 * are exactly that garbage: `bpfkit urls --max-memory 64` on the many-flows capture held 26 MB live in a
 * 176 MB heap. The valve asks for a full collection when the heap passes the budget; V8 then returns the
 * freed pages. A full collection costs ~10-30 ms per 100 MB live, and runs only under that pressure.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A check to call now and then (between capture chunks, on a timer); stop() when done. */
export interface HeapValve {
  check(): void;
  /** full collections asked for so far */
  readonly collections: number;
}

/** A valve for a heap of at most `maxHeapBytes`; undefined when V8 will not give us `gc`. */
export function heapValve(maxHeapBytes: number): HeapValve | undefined {
  let gc: (() => void) | undefined;
  try {
    // (the flag only exposes `gc` to contexts made after it is set: a fresh one, just for that)
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
  if (typeof gc !== 'function') return undefined;
  let collections = 0;
  return {
    check(): void {
      if (getHeapStatistics().total_heap_size > maxHeapBytes) {
        collections++;
        gc();
      }
    },
    get collections(): number {
      return collections;
    },
  };
}
