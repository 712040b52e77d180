/**
 * One memory budget (`bpfkit urls --max-memory`) split across what a traffic analyzer holds: flows,
 * out-of-order segments, requests waiting for their response, IP fragments waiting for their datagram.
 * Each part is charged its real cost (payload plus object overhead, by the measured constants where the
 * parts are defined) and reclaims its own room when full, so that no one kind of hostile traffic can take
 * the memory another needs: a SYN flood fills only the flows' share, and loses its own flows first.
 *
 * The shares add up to 75% of the budget: the rest is headroom for what the budget does not itemise —
 * garbage the collector has not reclaimed yet, parsers' line buffers, the capture reader's chunks. (Node's
 * own baseline, ~45-55 MB with no traffic, is outside the budget.)
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
    flows: Math.floor(total * 0.3),
    segments: Math.floor(total * 0.25),
    requests: Math.floor(total * 0.15),
    fragments: Math.floor(total * 0.05),
  };
}
