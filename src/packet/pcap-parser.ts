/**
 * Classic libpcap files: a 24-byte file header, then records of a 16-byte header + captured bytes.
 * The magic decides byte order and timestamp unit (microseconds or nanoseconds).
 */
import { InputError } from '../util/errors.js';
import {
  DEFAULT_MAX_SNAPLEN,
  MAX_RECORD_LEN,
  PCAP_HEADER_LEN,
  PCAP_MAGIC_NSEC,
  PCAP_MAGIC_USEC,
  PCAP_RECORD_HEADER_LEN,
} from './capture-format.js';
import type { CaptureInterface, PacketCallback, PacketRef } from './packet.js';
import type { RecordParser } from './record-parser.js';
import type { RecordBatch } from './record-batch.js';
import { MICROSECONDS, NANOSECONDS } from './timestamp.js';

/** The pcap file header. */
export interface PcapHeader {
  littleEndian: boolean;
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  linktype: number;
  /** the FCS bits libpcap 1.10 keeps in the top of the link type field */
  fcsInfo: number;
}

/** Returns undefined when the 4 bytes are not a pcap magic in either order. */
export function pcapMagicInfo(dv: DataView, pos: number): { littleEndian: boolean; nanosecond: boolean } | undefined {
  const le = dv.getUint32(pos, true);
  if (le === PCAP_MAGIC_USEC) return { littleEndian: true, nanosecond: false };
  if (le === PCAP_MAGIC_NSEC) return { littleEndian: true, nanosecond: true };
  const be = dv.getUint32(pos, false);
  if (be === PCAP_MAGIC_USEC) return { littleEndian: false, nanosecond: false };
  if (be === PCAP_MAGIC_NSEC) return { littleEndian: false, nanosecond: true };
  return undefined;
}

export function parsePcapHeader(dv: DataView, pos: number, where: string): PcapHeader {
  const magic = pcapMagicInfo(dv, pos);
  if (!magic) throw new InputError('not a pcap file (bad magic)', where);
  const le = magic.littleEndian;
  const versionMajor = dv.getUint16(pos + 4, le);
  const versionMinor = dv.getUint16(pos + 6, le);
  if (versionMajor !== 2) throw new InputError(`unsupported pcap version ${versionMajor}.${versionMinor}`, where);
  const snaplen = dv.getUint32(pos + 16, le);
  const rawLinktype = dv.getUint32(pos + 20, le);
  return {
    littleEndian: le,
    nanosecond: magic.nanosecond,
    versionMajor,
    versionMinor,
    snaplen,
    linktype: rawLinktype & 0xffff,
    fcsInfo: rawLinktype >>> 28,
  };
}

export class PcapParser implements RecordParser {
  readonly interfaces: CaptureInterface[] = [];
  need = PCAP_HEADER_LEN;
  stopped = false;
  oversized = 0;
  header: PcapHeader | undefined;
  private le = true;
  private nsecPerUnit = 1000;
  private snaplen = DEFAULT_MAX_SNAPLEN;
  private linktype = 0;

  constructor(private readonly path: string) {}

  /** The file header at `pos` (whole in the buffer): sets up the record loop; returns where records start. */
  private readHeader(dv: DataView, pos: number, base: number): number {
    const h = parsePcapHeader(dv, pos, `${this.path}@${base + pos}`);
    this.header = h;
    this.le = h.littleEndian;
    this.nsecPerUnit = h.nanosecond ? 1 : 1000;
    // Records longer than the snaplen are read (and counted), as Wireshark and tcpdump read them; only a
    // length past any sane record is a corrupt header.
    this.snaplen = h.snaplen > 0 && h.snaplen <= MAX_RECORD_LEN ? h.snaplen : MAX_RECORD_LEN;
    this.linktype = h.linktype;
    this.interfaces.push({
      linktype: h.linktype,
      snaplen: h.snaplen,
      tsresol: h.nanosecond ? NANOSECONDS : MICROSECONDS,
      tsoffset: 0,
      section: 0,
    });
    return pos + PCAP_HEADER_LEN;
  }

  /** A corrupt record header: the captured length is past any real record. */
  private tooLong(caplen: number, at: number): InputError {
    return new InputError(
      `pcap record: captured length ${caplen} is past any real record (corrupt record header)`,
      `${this.path}@${at}`,
    );
  }

  /** Where the records start: past the file header, read first if needed; -1 while it is not whole (`need` set). */
  private pastHeader(dv: DataView, pos: number, end: number, base: number): number {
    if (this.header) return pos;
    if (end - pos < PCAP_HEADER_LEN) {
      this.need = PCAP_HEADER_LEN;
      return -1;
    }
    return this.readHeader(dv, pos, base);
  }

  parse(
    buf: Uint8Array,
    dv: DataView,
    pos: number,
    end: number,
    base: number,
    pkt: PacketRef,
    cb: PacketCallback,
  ): number {
    const start = this.pastHeader(dv, pos, end, base);
    if (start < 0) return pos;
    pos = start;
    const le = this.le;
    const nsecPerUnit = this.nsecPerUnit;
    const snaplen = this.snaplen;
    pkt.linktype = this.linktype;
    pkt.interfaceId = 0;
    pkt.bytes = buf;
    pkt.base = base;
    for (;;) {
      // (`need` is stored at every record, not only where the chunk runs out: a store first reached at the
      // end of the first chunk has no type feedback, and would throw the optimised loop away there)
      const caplen = end - pos < PCAP_RECORD_HEADER_LEN ? -1 : dv.getUint32(pos + 8, le);
      if (caplen > MAX_RECORD_LEN) throw this.tooLong(caplen, base + pos);
      const total = caplen < 0 ? PCAP_RECORD_HEADER_LEN : PCAP_RECORD_HEADER_LEN + caplen;
      this.need = total;
      if (caplen < 0 || end - pos < total) return pos;
      // (counted once the record is whole: a record cut by the chunk's end is looked at again)
      if (caplen > snaplen) this.oversized++;
      pkt.tsSec = dv.getUint32(pos, le);
      pkt.tsNsec = dv.getUint32(pos + 4, le) * nsecPerUnit;
      pkt.caplen = caplen;
      pkt.origLen = dv.getUint32(pos + 12, le);
      pkt.offset = pos + PCAP_RECORD_HEADER_LEN;
      pos += total;
      if (cb(pkt) === false) {
        this.stopped = true;
        return pos;
      }
    }
  }

  /**
   * The records in one loop into `batch` (RecordParser.parseBatch): the same checks, `need` and oversized
   * count as parse, stores into typed arrays instead of a callback per record.
   */
  parseBatch(buf: Uint8Array, dv: DataView, pos: number, end: number, base: number, batch: RecordBatch): number {
    const start = this.pastHeader(dv, pos, end, base);
    if (start < 0) return pos;
    pos = start;
    const le = this.le;
    const nsecPerUnit = this.nsecPerUnit;
    const snaplen = this.snaplen;
    if (!batch.timestamps) return this.parseFrames(dv, pos, end, base, batch);
    const { offsets, caplens, origLens, tsSec, tsNsec } = batch;
    const first = batch.count;
    const room = batch.capacity;
    let n = first;
    let need = PCAP_RECORD_HEADER_LEN;
    while (n < room) {
      if (end - pos < PCAP_RECORD_HEADER_LEN) {
        need = PCAP_RECORD_HEADER_LEN;
        break;
      }
      const caplen = dv.getUint32(pos + 8, le);
      if (caplen > MAX_RECORD_LEN) {
        this.closeBatch(batch, first, n);
        throw this.tooLong(caplen, base + pos);
      }
      const total = PCAP_RECORD_HEADER_LEN + caplen;
      if (end - pos < total) {
        need = total;
        break;
      }
      if (caplen > snaplen) this.oversized++;
      tsSec[n] = dv.getUint32(pos, le);
      tsNsec[n] = dv.getUint32(pos + 4, le) * nsecPerUnit;
      caplens[n] = caplen;
      origLens[n] = dv.getUint32(pos + 12, le);
      offsets[n] = pos + PCAP_RECORD_HEADER_LEN;
      n++;
      pos += total;
    }
    this.need = need;
    this.closeBatch(batch, first, n);
    return pos;
  }

  /**
   * parseBatch for a batch whose consumer reads no timestamps (RecordBatch.timestamps false): the same
   * loop without the two timestamp loads and stores (and without the wire length's when the consumer
   * reads none either: RecordBatch.wireLengths), ~1.5 ns of ~5 a record (a loop of its own: a test
   * per record in parseBatch's would cost the batches that do take timestamps ~0.5 ns).
   */
  private parseFrames(dv: DataView, pos: number, end: number, base: number, batch: RecordBatch): number {
    const le = this.le;
    const snaplen = this.snaplen;
    const { offsets, caplens, origLens } = batch;
    const wire = batch.wireLengths;
    const first = batch.count;
    const room = batch.capacity;
    let n = first;
    let need = PCAP_RECORD_HEADER_LEN;
    while (n < room) {
      if (end - pos < PCAP_RECORD_HEADER_LEN) {
        need = PCAP_RECORD_HEADER_LEN;
        break;
      }
      const caplen = dv.getUint32(pos + 8, le);
      if (caplen > MAX_RECORD_LEN) {
        this.closeBatch(batch, first, n);
        throw this.tooLong(caplen, base + pos);
      }
      const total = PCAP_RECORD_HEADER_LEN + caplen;
      if (end - pos < total) {
        need = total;
        break;
      }
      if (caplen > snaplen) this.oversized++;
      caplens[n] = caplen;
      // (a test per record, not a loop of its own: the same ~1 ns less as without the load and store)
      if (wire) origLens[n] = dv.getUint32(pos + 12, le);
      offsets[n] = pos + PCAP_RECORD_HEADER_LEN;
      n++;
      pos += total;
    }
    this.need = need;
    this.closeBatch(batch, first, n);
    return pos;
  }

  /** Records [first, n) of the batch were filled: their link type and interface (one per pcap file), the count. */
  private closeBatch(batch: RecordBatch, first: number, n: number): void {
    if (n === first) return;
    batch.linktypes.fill(this.linktype, first, n);
    batch.interfaceIds.fill(0, first, n);
    if (first === 0) batch.linktype = this.linktype;
    else if (batch.linktype !== this.linktype) batch.linktype = -1;
    batch.count = n;
  }
}
