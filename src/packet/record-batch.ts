/**
 * A batch of capture records as parallel typed arrays: what `CaptureReader.forEachBatch` fills for a
 * whole run of records in one tight loop, with no callback and no PacketRef per record. Record `i`'s bytes
 * are `bytes[offsets[i], offsets[i] + caplens[i])`: a window into the reader's chunk buffer, valid until
 * the batch is filled again (or the reader scans again or closes), like a PacketRef's. All the records of
 * one batch lie in the same buffer, so `offsets` and `caplens` go as they are to an engine's batch entry
 * (VmProgram.runPackets).
 */
import { PacketRef } from './packet.js';

/** Records per batch when none is given: enough that the per-batch work vanishes, small enough for L1/L2. */
export const DEFAULT_BATCH_RECORDS = 4096;

const NO_BYTES = new Uint8Array(0);

/** Parallel arrays of records (see the file comment). */
export class RecordBatch {
  /** the buffer every record of the batch lies in */
  bytes: Uint8Array = NO_BYTES;
  /** file offset of bytes[0] (record i starts at file offset base + offsets[i]) */
  base = 0;
  /** records filled (the arrays hold garbage past it) */
  count = 0;
  /** the link type of every record of the batch, or -1 when they differ (pcapng with several interfaces) */
  linktype = -1;
  /**
   * Whether the batch's consumer reads the records' timestamps. Set it false (a consumer that runs
   * frames, runCapture) and a parser may leave `tsSec` and `tsNsec` as they were — stale or zero, not
   * these records' — to save their loads and stores (the pcap parser does: ~1.5 ns a record).
   */
  timestamps = true;
  /**
   * Whether the batch's consumer reads the records' lengths on the wire. Set it false too (runCapture
   * without a filter) and the pcap parser's loop without timestamps leaves `origLens` as it was — stale
   * or zero — saving a load and a store a record (~1 ns of ~9 reading a capture).
   */
  wireLengths = true;
  /** where each record's captured bytes start in `bytes` */
  readonly offsets: Int32Array;
  /** captured bytes of each record */
  readonly caplens: Int32Array;
  /** each record's length on the wire */
  readonly origLens: Uint32Array;
  /** LINKTYPE_* of each record's interface */
  readonly linktypes: Int32Array;
  /** pcap: 0; pcapng: index into the reader's `interfaces` */
  readonly interfaceIds: Int32Array;
  /** capture time: whole seconds since 1970 */
  readonly tsSec: Float64Array;
  /** capture time: nanoseconds within the second (as the file has them) */
  readonly tsNsec: Float64Array;

  /** `capacity`: the most records one fill delivers. */
  constructor(readonly capacity = DEFAULT_BATCH_RECORDS) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`batch capacity ${capacity}: need 1 or more`);
    this.offsets = new Int32Array(capacity);
    this.caplens = new Int32Array(capacity);
    this.origLens = new Uint32Array(capacity);
    this.linktypes = new Int32Array(capacity);
    this.interfaceIds = new Int32Array(capacity);
    this.tsSec = new Float64Array(capacity);
    this.tsNsec = new Float64Array(capacity);
  }

  /** Record i's captured bytes: a view (no copy), valid as long as the batch's records are. */
  data(i: number): Uint8Array {
    const at = this.offsets[i]!;
    return this.bytes.subarray(at, at + this.caplens[i]!);
  }

  /** File offset of record i's first captured byte (for error messages). */
  fileOffset(i: number): number {
    return this.base + this.offsets[i]!;
  }

  /** Record i as a PacketRef (`into`, reused, or a new one): for code written against the per-packet API. */
  ref(i: number, into: PacketRef = new PacketRef()): PacketRef {
    into.bytes = this.bytes;
    into.base = this.base;
    into.offset = this.offsets[i]!;
    into.caplen = this.caplens[i]!;
    into.origLen = this.origLens[i]!;
    into.linktype = this.linktypes[i]!;
    into.interfaceId = this.interfaceIds[i]!;
    into.tsSec = this.tsSec[i]!;
    into.tsNsec = this.tsNsec[i]!;
    return into;
  }

  /**
   * Append a parser's current record (the scanner's way to batch formats without a batch loop of their
   * own). `p.bytes` must be the batch's buffer. Returns false once the batch is full.
   * @internal
   */
  push(p: PacketRef): boolean {
    const i = this.count;
    this.offsets[i] = p.offset;
    this.caplens[i] = p.caplen;
    this.origLens[i] = p.origLen;
    this.linktypes[i] = p.linktype;
    this.interfaceIds[i] = p.interfaceId;
    this.tsSec[i] = p.tsSec;
    this.tsNsec[i] = p.tsNsec;
    if (i === 0) this.linktype = p.linktype;
    else if (this.linktype !== p.linktype) this.linktype = -1;
    this.count = i + 1;
    return i + 1 < this.capacity;
  }
}

/** Batches kept for the next scan: a fresh batch's arrays cost page faults the first time they are written. */
const kept: RecordBatch[] = [];
const KEPT = 4;

/**
 * A batch of DEFAULT_BATCH_RECORDS records, kept from an earlier scan when there is one (see giveBackBatch).
 * @internal
 */
export function takeBatch(): RecordBatch {
  return kept.pop() ?? new RecordBatch();
}

/**
 * Keep `batch` for a later takeBatch (at most a few are kept). The caller must not use it afterwards.
 * @internal
 */
export function giveBackBatch(batch: RecordBatch): void {
  if (batch.capacity !== DEFAULT_BATCH_RECORDS || kept.length >= KEPT || kept.includes(batch)) return;
  // (not holding on to the chunk buffer the last records lay in)
  batch.bytes = NO_BYTES;
  batch.count = 0;
  // (the next taker may read timestamps and wire lengths)
  batch.timestamps = true;
  batch.wireLengths = true;
  kept.push(batch);
}
