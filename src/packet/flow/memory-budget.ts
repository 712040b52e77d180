/**
 * One memory budget (`bpfkit urls --max-memory`) split across what a traffic analyzer holds: flows,
 * out-of-order segments, requests waiting for their response, IP fragments waiting for their datagram.
 * Each part is charged its real cost (payload plus object overhead, by the measured constants where the
 * parts are defined) and reclaims its own room when full, so that no one kind of hostile traffic can take
 * the memory another needs: a SYN flood fills only the flows' share, and loses its own flows first.
 *
 * The shares add up to 53% of the budget (segments get the most: a million one-byte segments in reverse
 * order cost ~50 MB, and should fit the default budget): the rest is headroom for what the budget does not itemise —
 * garbage the collector has not reclaimed yet (the heap is held to `heapLimit`, 60% of the budget, by
 * forcing a collection past it), memory malloc keeps after V8 frees it, parsers' line buffers, the capture
 * reader's chunks. Measured on test/http/hostile's many-flows capture: with the data at 75% of the budget
 * the process took 2.2x the budget above Node's baseline; with its flows at 15% it stays under. (Node's own baseline,
 * ~45-55 MB with no traffic, is outside the budget.)
 */

/** The budget's parts, in bytes. */
export interface MemoryShares {
  /** the flow table's flows */
  flows: number;
  /** bytes held out of order by every stream, structure included */
  segments: number;
  /** requests waiting for their response */
  requests: number;
  /** IP fragments waiting for the rest of their datagram */
  fragments: number;
}

/** The default budget: what a small sensor can spare. */
export const DEFAULT_MAX_MEMORY = 256 << 20;

/** Split a budget of `total` bytes (see the file comment). */
export function splitBudget(total: number): MemoryShares {
  return {
    flows: Math.floor(total * 0.15),
    segments: Math.floor(total * 0.25),
    requests: Math.floor(total * 0.08),
    fragments: Math.floor(total * 0.05),
  };
}

/** The JS heap size past which a full collection is forced, for a budget of `total` bytes. */
export function heapLimit(total: number): number {
  return Math.floor(total * 0.6);
}
