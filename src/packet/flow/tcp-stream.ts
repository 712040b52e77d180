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
import { SegmentStore, type PieceSink } from './segment-store.js';

/** Where a stream's bytes go, in order, each once. */
export interface StreamConsumer {
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

/**
 * What one segment held before the stream knows where it starts costs besides its bytes: the object and
 * its Uint8Array copy (measured as SegmentStore's constants are; at most START_SEGMENTS of them per stream).
 */
const START_SEGMENT_COST = 260;

/** How many segments an unsynchronised stream collects before choosing where it starts. */
const START_SEGMENTS = 8;

/** Counters shared by all the streams of a flow table. */
export interface StreamStats {
  /** memory held out of order, across all streams, in bytes (payload and structure; for the global budget) */
  bufferedBytes: number;
  retransmitted: number;
  outOfOrder: number;
  gaps: number;
}

/** One direction of a TCP connection (see the file comment). */
export class TcpStream {
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
  /** position of `next` in the stream: the sequence number unwrapped (only grows; starts at 0) */
  private nextPos = 0;
  /** out-of-order pieces, made on the first one and dropped when empty */
  private store: SegmentStore | undefined;
  /** what `store` was last charged to stats.bufferedBytes */
  private storeCharge = 0;
  /** payload bytes held before syncing */
  private startBytes = 0;
  private startSegs: Segment[] = [];
  private readonly sink: PieceSink = (b, start, end, ts) => this.deliver(b, start, end, ts);
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
    this.takeStartSegments();
  }

  /**
   * A segment with payload b[start, end) (may be empty) and flags; `seq` as int32. `fin` marks the FIN
   * flag. `cut`: payload bytes the segment carried past `end` that the capture did not keep (its snapshot
   * length cut the packet); they are lost for good (a retransmission is cut the same way), so once the
   * stream reaches them it skips them at once and tells the consumer, instead of waiting for them.
   */
  segment(seq: number, b: Uint8Array, start: number, end: number, fin: boolean, ts: number, cut = 0): void {
    const len = end - start;
    if (fin) {
      this.finSeq = (seq + len + cut) | 0;
      this.sawFin = true;
    }
    if (!this.synced) {
      if (len > 0) {
        this.startSegs.push({ seq, data: b.slice(start, end), ts });
        this.stats.bufferedBytes += START_SEGMENT_COST + len;
        this.startBytes += len;
      }
      if (
        this.startSegs.length >= START_SEGMENTS ||
        (fin && this.startSegs.length > 0) ||
        this.startBytes > this.maxPendingBytes
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
        if (cut > 0) this.skipCut(cut);
        if (this.store) this.drain();
      } else {
        this.stats.outOfOrder++;
        this.insert(seq, b, start, end, ts);
        if (this.store && this.store.bytes > this.maxPendingBytes) this.skipHole();
      }
    }
    this.checkFinished();
  }

  /** The stream ends (connection closed, evicted, end of capture): deliver what can be, skipping holes. */
  flush(): void {
    if (!this.synced) this.syncFromStart();
    while (this.store) this.skipHole();
  }

  /** Payload bytes this stream holds out of order (or before it knows where it starts). */
  get bufferedBytes(): number {
    return (this.store ? this.store.bytes : 0) + this.startBytes;
  }

  /** Memory this stream holds out of order, in bytes (what it adds to stats.bufferedBytes). */
  get bufferedMemory(): number {
    return this.storeCharge + this.startSegs.length * START_SEGMENT_COST + this.startBytes;
  }

  private checkFinished(): void {
    if (this.synced && this.sawFin && this.next === this.finSeq && !this.store) this.finished = true;
  }

  private syncFromStart(): void {
    if (this.synced) return;
    this.synced = true;
    const segs = this.startSegs;
    if (segs.length === 0) return;
    let base = segs[0]!.seq;
    for (const s of segs) if (((s.seq - base) | 0) < 0) base = s.seq;
    this.next = base;
    this.takeStartSegments();
    this.checkFinished();
  }

  /** Now that the stream knows where it starts, the segments collected before go where they belong. */
  private takeStartSegments(): void {
    const segs = this.startSegs;
    this.startSegs = [];
    this.stats.bufferedBytes -= segs.length * START_SEGMENT_COST + this.startBytes;
    this.startBytes = 0;
    // (all through the store, even those at or before `next`: it applies the overlap policy among them)
    for (const s of segs) this.insert(s.seq, s.data, 0, s.data.length, s.ts);
    this.drain();
  }

  /** Keep b[start, end) (sequence number `seq`) out of order. */
  private insert(seq: number, b: Uint8Array, start: number, end: number, ts: number): void {
    const store = (this.store ??= new SegmentStore());
    const pos = this.nextPos + ((seq - this.next) | 0);
    if (store.insert(pos, b, start, end, ts) === 0) this.stats.retransmitted++;
    this.charge();
  }

  /** Deliver every held piece that has become contiguous. */
  private drain(): void {
    const store = this.store;
    if (!store) return;
    this.stats.retransmitted += store.deliver(this.nextPos, this.sink);
    this.charge();
  }

  /** Bring stats.bufferedBytes up to date with the store's cost; drop the store once empty. */
  private charge(): void {
    const store = this.store;
    let cost = 0;
    if (store) {
      if (store.empty) this.store = undefined;
      else cost = store.memory;
    }
    this.stats.bufferedBytes += cost - this.storeCharge;
    this.storeCharge = cost;
  }

  /** Give up on the hole before the first held piece: jump over it and tell the consumer. */
  private skipHole(): void {
    // First what is already contiguous (a consumer may flush its stream from inside a callback, before
    // the caller drained: the hole must not be measured from a piece behind `next`).
    this.drain();
    const store = this.store;
    if (!store) return;
    this.stats.gaps++;
    const to = store.firstStart();
    this.next = (this.next + (to - this.nextPos)) | 0;
    this.nextPos = to;
    this.consumer?.gap();
    this.drain();
  }

  /**
   * The segment just delivered ended `cut` bytes short of what it carried: jump over them and tell the
   * consumer (whatever was in progress, a request line say, ends where the capture stopped).
   */
  private skipCut(cut: number): void {
    this.stats.gaps++;
    this.next = (this.next + cut) | 0;
    this.nextPos += cut;
    this.consumer?.gap();
  }

  private deliver(b: Uint8Array, start: number, end: number, ts: number): void {
    this.next = (this.next + (end - start)) | 0;
    this.nextPos += end - start;
    if (this.onFirstData) {
      const f = this.onFirstData;
      this.onFirstData = undefined;
      f(b, start, end);
    }
    this.consumer?.data(b, start, end, ts);
  }
}
