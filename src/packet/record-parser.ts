/**
 * The contract between the chunked file scanner (capture-reader.ts) and a format parser. The scanner
 * hands the parser a window [pos, end) of its buffer; the parser delivers every whole record in it and
 * returns where it stopped. A record cut by the window's end stays for the next call, with `need`
 * saying how many bytes it wants from that point (so the scanner can grow its buffer or report a
 * truncated file).
 */
import type { CaptureInterface, PacketCallback, PacketRef } from './packet.js';
import type { RecordBatch } from './record-batch.js';

export interface RecordParser {
  readonly interfaces: CaptureInterface[];
  /** bytes needed at the returned position before the parser can make progress */
  need: number;
  /** set when the callback returned false */
  stopped: boolean;
  /**
   * records whose captured length exceeds the snapshot length: read all the same (Wireshark and tcpdump
   * do), and counted as an anomaly
   */
  oversized: number;
  /**
   * @param base file offset of buf[0] (for error messages)
   */
  parse(
    buf: Uint8Array,
    dv: DataView,
    pos: number,
    end: number,
    base: number,
    pkt: PacketRef,
    cb: PacketCallback,
  ): number;
  /**
   * Optional: like `parse`, but the records go into `batch` (from index batch.count, until it is full) in
   * one loop instead of one callback each. Same errors, `need` and anomaly counts as `parse`; on an
   * error, batch.count holds the records before the faulty one. A parser without it is batched through
   * `parse` with a callback.
   */
  parseBatch?(buf: Uint8Array, dv: DataView, pos: number, end: number, base: number, batch: RecordBatch): number;
}
