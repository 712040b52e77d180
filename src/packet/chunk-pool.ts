/**
 * Chunk buffers kept from one read-ahead scan for the next. A fresh multi-megabyte buffer costs a page
 * fault (and a zeroed page) per 4 KiB the first time it is written: on a virtual machine that was 10–15 µs
 * a fault, i.e. 25 ms for the two 4 MiB buffers of one scan, more than reading and parsing 200,000 small
 * records from the page cache. Buffers that were written once stay mapped, so a process that scans again
 * (the next file of `urls`, a benchmark's rounds, the tests) pays nothing for them.
 *
 * A scan takes its buffers here and gives them back when its reader closes or starts the next scan (the
 * records of a scan's last step stay valid until then). Memory stays bounded: at most KEPT buffers, none
 * larger than KEPT_MAX_BYTES.
 */

/** Buffers kept at once: two read-ahead scans' worth. */
const KEPT = 4;

/** Larger buffers (a huge chunkSize option) are left to the collector rather than held for the process. */
const KEPT_MAX_BYTES = 32 * 1024 * 1024;

const kept: Uint8Array[] = [];

/** A buffer of at least `size` bytes: the smallest kept one that fits, else a new one of exactly `size`. */
export function takeChunk(size: number): Uint8Array {
  let best = -1;
  for (let i = 0; i < kept.length; i++) {
    const len = kept[i]!.length;
    if (len >= size && (best < 0 || len < kept[best]!.length)) best = i;
  }
  if (best < 0) return new Uint8Array(size);
  const buf = kept[best]!;
  kept.splice(best, 1);
  return buf;
}

/** Keep `buf` for a later takeChunk. The caller must not touch it afterwards (nor read into it). */
export function giveBackChunk(buf: Uint8Array): void {
  if (buf.length > KEPT_MAX_BYTES || kept.includes(buf)) return;
  if (kept.length < KEPT) {
    kept.push(buf);
    return;
  }
  // Full: keep the larger buffers, which fit more requests.
  let smallest = 0;
  for (let i = 1; i < kept.length; i++) if (kept[i]!.length < kept[smallest]!.length) smallest = i;
  if (kept[smallest]!.length < buf.length) kept[smallest] = buf;
}

/**
 * Where a read-ahead scan takes its two chunk buffers and gives them back (CaptureReader's `chunks`
 * option): this module's pool by default. A consumer that wants the records somewhere in particular —
 * the VM's WebAssembly linear memory, where its batch loop can run frames where they lie instead of
 * copying each batch in (VmProgram.takeFrameChunk) — passes its own.
 */
export interface ChunkPool {
  /** A buffer of at least `size` bytes, not in use elsewhere. */
  take(size: number): Uint8Array;
  /** `buf`, taken from this pool, is no longer read into nor read. */
  giveBack(buf: Uint8Array): void;
}

/** The process's pool (takeChunk / giveBackChunk) as a ChunkPool. */
export const sharedChunkPool: ChunkPool = { take: takeChunk, giveBack: giveBackChunk };
