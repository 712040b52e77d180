// The stream as it was before SegmentStore (a sorted array, quadratic): the model the tests compare with.
/**
 * One direction of a TCP connection, reassembled by sequence number. Segments may come out of order,
 * twice, or overlapping; the stream hands its consumer each byte once, in order. Sequence arithmetic is
 * modulo 2^32 (signed 32-bit differences), so wrap-around is handled.
 *
 * A stream whose SYN was not seen (capture started mid-connection, handshake lost) does not know where it
 * starts: it collects its first few segments and starts at the lowest sequence number among them, so a
 * capture that begins with reordered segments still reads from the right place.
 *
 * Holes that never fill (packets the capture lost) are skipped when the out-of-order store passes its cap
 * or when the stream ends; the consumer is told (`gap`) so it can resynchronise.
 */

/** Where a stream's bytes go, in order, each once. */
interface StreamConsumer {
  /** b[start, end) are the next bytes; `ts` is the capture time of the segment that carried them */
  data(b: Uint8Array, start: number, end: number, ts: number): void;
  /** bytes were lost (a hole skipped): what comes next does not continue what came before */
  gap(): void;
}

interface Segment {
  seq: number;
  data: Uint8Array;
  ts: number;
}

/** How many segments an unsynchronised stream collects before choosing where it starts. */
const START_SEGMENTS = 8;

import type { StreamStats } from '../../../src/packet/flow/tcp-stream.js';

/** One direction of a TCP connection (see the file comment). */
export class ModelStream {
  synced = false;
  /**
   * Next expected sequence number (valid once synced). Sequence numbers are kept as int32 (`| 0`), not
   * uint32: only their differences matter, and an int32 is a small integer to V8, where an unsigned
   * value past 2^31 would be a heap number allocated at every call that passes it.
   */
  next = 0;
  /** sequence number just past the FIN (when sawFin) */
  finSeq = 0;
  sawFin = false;
  /** set when the stream delivered everything up to its FIN */
  finished = false;
  private pending: Segment[] = [];
  private pendingBytes = 0;
  private startSegs: Segment[] = [];
  /** Gets the bytes once they are in order (none set: they are passed over). */
  consumer: StreamConsumer | undefined;
  /**
   * Called once, with the first bytes delivered, before the consumer sees them (an owner can tell the
   * connection's roles from them, and set consumers accordingly).
   */
  onFirstData: ((b: Uint8Array, start: number, end: number) => void) | undefined;

  constructor(
    private readonly stats: StreamStats,
    private readonly maxPendingBytes: number,
  ) {}

  /** A SYN (or SYN-ACK) with this sequence number: the data starts at seq + 1. */
  syn(seq: number): void {
    if (this.synced) return;
    this.synced = true;
    this.next = (seq + 1) | 0;
    const early = this.startSegs;
    this.startSegs = [];
    for (const s of early) this.insert(s);
    this.drain();
  }

  /** A segment with payload b[start, end) (may be empty) and flags; `seq` as int32. `fin` marks the FIN flag. */
  segment(seq: number, b: Uint8Array, start: number, end: number, fin: boolean, ts: number): void {
    const len = end - start;
    if (fin) {
      this.finSeq = (seq + len) | 0;
      this.sawFin = true;
    }
    if (!this.synced) {
      if (len > 0) {
        this.startSegs.push({ seq, data: b.slice(start, end), ts });
        this.stats.bufferedBytes += len;
        this.pendingBytes += len;
      }
      if (
        this.startSegs.length >= START_SEGMENTS ||
        (fin && this.startSegs.length > 0) ||
        this.pendingBytes > this.maxPendingBytes
      )
        this.syncFromStart();
      this.checkFinished();
      return;
    }
    if (len > 0) {
      const d = (seq - this.next) | 0;
      if (d + len <= 0) {
        this.stats.retransmitted++;
      } else if (d <= 0) {
        // In order (possibly overlapping what we already have: skip the part already delivered).
        this.deliver(b, start - d, end, ts);
        if (this.pending.length > 0) this.drain();
      } else {
        this.stats.outOfOrder++;
        this.insert({ seq, data: b.slice(start, end), ts });
        this.stats.bufferedBytes += len;
        this.pendingBytes += len;
        if (this.pendingBytes > this.maxPendingBytes) this.skipHole();
      }
    }
    this.checkFinished();
  }

  /** The stream ends (connection closed, evicted, end of capture): deliver what can be, skipping holes. */
  flush(): void {
    if (!this.synced) this.syncFromStart();
    while (this.pending.length > 0) this.skipHole();
  }

  /** Bytes this stream holds out of order (or before it knows where it starts). */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  private checkFinished(): void {
    if (this.synced && this.sawFin && this.next === this.finSeq && this.pending.length === 0) this.finished = true;
  }

  private syncFromStart(): void {
    if (this.synced) return;
    const segs = this.startSegs;
    this.startSegs = [];
    this.synced = true;
    if (segs.length === 0) return;
    let base = segs[0]!.seq;
    for (const s of segs) if (((s.seq - base) | 0) < 0) base = s.seq;
    this.next = base;
    for (const s of segs) this.insert(s); // already counted in pendingBytes when collected
    this.drain();
    this.checkFinished();
  }

  /** Insert into the out-of-order list, kept sorted by sequence number relative to `next`. */
  private insert(s: Segment): void {
    const rel = (s.seq - this.next) | 0;
    let i = this.pending.length;
    while (i > 0 && ((this.pending[i - 1]!.seq - this.next) | 0) > rel) i--;
    this.pending.splice(i, 0, s);
  }

  /** Deliver every pending segment that has become contiguous. */
  private drain(): void {
    while (this.pending.length > 0) {
      const s = this.pending[0]!;
      const d = (s.seq - this.next) | 0;
      if (d > 0) return;
      this.pending.shift();
      this.pendingBytes -= s.data.length;
      this.stats.bufferedBytes -= s.data.length;
      if (d + s.data.length > 0) this.deliver(s.data, -d, s.data.length, s.ts);
      else this.stats.retransmitted++;
    }
  }

  /** Give up on the hole before the first pending segment: jump over it and tell the consumer. */
  private skipHole(): void {
    if (this.pending.length === 0) return;
    this.stats.gaps++;
    this.next = this.pending[0]!.seq;
    this.consumer?.gap();
    this.drain();
  }

  private deliver(b: Uint8Array, start: number, end: number, ts: number): void {
    this.next = (this.next + (end - start)) | 0;
    if (this.onFirstData) {
      const f = this.onFirstData;
      this.onFirstData = undefined;
      f(b, start, end);
    }
    this.consumer?.data(b, start, end, ts);
  }
}
