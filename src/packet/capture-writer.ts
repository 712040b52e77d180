/**
 * Writing capture files that tcpdump, tshark and libpcap read: pcap (microsecond or nanosecond magic)
 * or pcapng (one section, one Interface Description Block per interface, Enhanced Packet Blocks).
 * Either byte order (default: little-endian).
 *
 * Writes are buffered (1 MiB) and go out synchronously with fs.writeSync, so `flush()`/`close()` can
 * run from a signal handler and leave a complete file behind.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { EnvironmentError, UsageError } from '../util/errors.js';
import {
  PCAP_MAGIC_NSEC,
  PCAP_MAGIC_USEC,
  PCAPNG_BYTE_ORDER_MAGIC,
  PCAPNG_EPB,
  PCAPNG_IDB,
  PCAPNG_IF_NAME,
  PCAPNG_IF_TSRESOL,
  PCAPNG_SHB,
  PCAPNG_SHB_USERAPPL,
  DEFAULT_MAX_SNAPLEN,
  type CaptureFormat,
} from './capture-format.js';
import { joinTicks, type SecNsec } from './timestamp.js';

/** Options of `createCaptureWriter`. */
export interface WriterOptions {
  /** default: from the file name (.pcapng → pcapng), else pcap */
  format?: CaptureFormat;
  /** LINKTYPE_* of interface 0 (default EN10MB) */
  linktype?: number;
  /** longest packet kept; longer ones are cut (default 262144) */
  snaplen?: number;
  /** nanosecond timestamps (pcap: the 0xa1b23c4d magic; pcapng: if_tsresol 9). Default false. */
  nanosecond?: boolean;
  /** byte order of the file (default true: little-endian) */
  littleEndian?: boolean;
  /** pcapng: name of interface 0 (if_name) */
  ifname?: string;
  /** pcapng: declare no interface up front; the caller adds each with addInterface (ids from 0) */
  noDefaultInterface?: boolean;
}

/** What the writer needs of a packet (Packet from the readers fits). */
export interface WritablePacket {
  tsSec: number;
  tsNsec: number;
  data: Uint8Array;
  /** default data.length */
  origLen?: number;
  /** pcapng: interface index from addInterface (default 0) */
  interfaceId?: number;
}

const BUFFER_SIZE = 1 << 20;
const encoder = new TextEncoder();

/** The format a file name asks for: pcapng for `.pcapng`, else pcap. */
export function formatForPath(path: string): CaptureFormat {
  return /\.pcapng$/i.test(path) ? 'pcapng' : 'pcap';
}

/** Create (or truncate) a capture file and write its header. */
export function createCaptureWriter(path: string, options: WriterOptions = {}): CaptureWriter {
  return new CaptureWriter(path, options);
}

/** Writes packets to a pcap or pcapng file through one buffer. */
export class CaptureWriter {
  readonly format: CaptureFormat;
  readonly nanosecond: boolean;
  readonly littleEndian: boolean;
  /** packets written so far */
  packets = 0;
  private fd: number;
  private buf = new Uint8Array(BUFFER_SIZE);
  private dv = new DataView(this.buf.buffer);
  private fill = 0;
  private readonly snaplens: number[] = [];
  private readonly ts: SecNsec = { sec: 0, nsec: 0 };
  private closed = false;

  constructor(
    readonly path: string,
    options: WriterOptions = {},
  ) {
    this.format = options.format ?? formatForPath(path);
    this.nanosecond = options.nanosecond ?? false;
    this.littleEndian = options.littleEndian ?? true;
    const snaplen = options.snaplen ?? DEFAULT_MAX_SNAPLEN;
    const linktype = options.linktype ?? 1;
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 0x7fffffff)
      throw new UsageError(`bad snaplen ${snaplen}`);
    if (!Number.isInteger(linktype) || linktype < 0 || linktype > 0xffff)
      throw new UsageError(`bad link type ${linktype}`);
    try {
      this.fd = openSync(path, 'w');
    } catch (err) {
      throw new EnvironmentError(`cannot write capture ${path}: ${(err as Error).message}`);
    }
    if (this.format === 'pcap') {
      this.writePcapHeader(linktype, snaplen);
      this.snaplens.push(snaplen);
    } else {
      this.writeSectionHeader();
      if (!options.noDefaultInterface)
        this.addInterface({ linktype, snaplen, ...(options.ifname !== undefined ? { name: options.ifname } : {}) });
    }
  }

  /** pcapng: declare another interface; returns its id for `interfaceId`. pcap has exactly one. */
  addInterface(iface: { linktype: number; snaplen?: number; name?: string }): number {
    if (this.format === 'pcap') throw new UsageError('a pcap file has exactly one interface; write pcapng for several');
    const snaplen = iface.snaplen ?? DEFAULT_MAX_SNAPLEN;
    const name = iface.name !== undefined ? encoder.encode(iface.name) : undefined;
    let optLen = 0;
    if (this.nanosecond) optLen += 8;
    if (name) optLen += 4 + pad4(name.length);
    if (optLen) optLen += 4; // opt_endofopt
    const len = 20 + optLen;
    const at = this.reserve(len);
    const le = this.littleEndian;
    const dv = this.dv;
    dv.setUint32(at, PCAPNG_IDB, le);
    dv.setUint32(at + 4, len, le);
    dv.setUint16(at + 8, iface.linktype, le);
    dv.setUint16(at + 10, 0, le);
    dv.setUint32(at + 12, snaplen, le);
    let o = at + 16;
    if (this.nanosecond) {
      dv.setUint16(o, PCAPNG_IF_TSRESOL, le);
      dv.setUint16(o + 2, 1, le);
      dv.setUint32(o + 4, 0, le);
      this.buf[o + 4] = 9;
      o += 8;
    }
    if (name) {
      dv.setUint16(o, PCAPNG_IF_NAME, le);
      dv.setUint16(o + 2, name.length, le);
      this.buf.fill(0, o + 4, o + 4 + pad4(name.length));
      this.buf.set(name, o + 4);
      o += 4 + pad4(name.length);
    }
    if (optLen) {
      dv.setUint32(o, 0, le);
      o += 4;
    }
    dv.setUint32(o, len, le);
    this.fill = at + len;
    this.snaplens.push(snaplen);
    return this.snaplens.length - 1;
  }

  /** Append one packet (cut at the snaplen). */
  write(pkt: WritablePacket): void {
    this.writeBytes(
      pkt.data,
      0,
      pkt.data.length,
      pkt.tsSec,
      pkt.tsNsec,
      pkt.origLen ?? pkt.data.length,
      pkt.interfaceId ?? 0,
    );
  }

  /**
   * The no-allocation form: packet = bytes[offset, offset + length). Lets a reader's PacketRef be
   * copied straight out of its chunk buffer.
   */
  writeBytes(
    bytes: Uint8Array,
    offset: number,
    length: number,
    tsSec: number,
    tsNsec: number,
    origLen: number,
    interfaceId = 0,
  ): void {
    if (this.closed) throw new UsageError(`capture writer for ${this.path} is closed`);
    const snaplen = this.snaplens[interfaceId];
    if (snaplen === undefined) throw new UsageError(`no interface ${interfaceId} in ${this.path}`);
    const caplen = Math.min(length, snaplen);
    const le = this.littleEndian;
    if (this.format === 'pcap') {
      const at = this.reserve(16 + caplen);
      const dv = this.dv;
      dv.setUint32(at, tsSec, le);
      dv.setUint32(at + 4, this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000), le);
      dv.setUint32(at + 8, caplen, le);
      dv.setUint32(at + 12, Math.max(origLen, caplen), le);
      this.buf.set(bytes.subarray(offset, offset + caplen), at + 16);
      this.fill = at + 16 + caplen;
    } else {
      const padded = pad4(caplen);
      const len = 32 + padded;
      const at = this.reserve(len);
      const dv = this.dv;
      joinTicks(tsSec, tsNsec, this.nanosecond, this.ts);
      dv.setUint32(at, PCAPNG_EPB, le);
      dv.setUint32(at + 4, len, le);
      dv.setUint32(at + 8, interfaceId, le);
      dv.setUint32(at + 12, this.ts.sec, le);
      dv.setUint32(at + 16, this.ts.nsec, le);
      dv.setUint32(at + 20, caplen, le);
      dv.setUint32(at + 24, Math.max(origLen, caplen), le);
      this.buf.set(bytes.subarray(offset, offset + caplen), at + 28);
      this.buf.fill(0, at + 28 + caplen, at + 28 + padded);
      dv.setUint32(at + 28 + padded, len, le);
      this.fill = at + len;
    }
    this.packets++;
  }

  /** Push buffered bytes to the file. */
  flush(): void {
    let o = 0;
    while (o < this.fill) o += writeSync(this.fd, this.buf, o, this.fill - o);
    this.fill = 0;
  }

  /** Write out what is buffered and close the file. */
  close(): void {
    if (this.closed) return;
    this.flush();
    closeSync(this.fd);
    this.closed = true;
  }

  /** Room for `len` bytes at the end of the buffer (flushing or growing first); returns its offset. */
  private reserve(len: number): number {
    if (this.fill + len > this.buf.length) {
      this.flush();
      if (len > this.buf.length) {
        this.buf = new Uint8Array(len);
        this.dv = new DataView(this.buf.buffer);
      }
    }
    return this.fill;
  }

  private writePcapHeader(linktype: number, snaplen: number): void {
    const at = this.reserve(24);
    const le = this.littleEndian;
    const dv = this.dv;
    dv.setUint32(at, this.nanosecond ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, le);
    dv.setUint16(at + 4, 2, le);
    dv.setUint16(at + 6, 4, le);
    dv.setInt32(at + 8, 0, le);
    dv.setUint32(at + 12, 0, le);
    dv.setUint32(at + 16, snaplen, le);
    dv.setUint32(at + 20, linktype, le);
    this.fill = at + 24;
  }

  private writeSectionHeader(): void {
    const appl = encoder.encode('bpfkit');
    const optLen = 4 + pad4(appl.length) + 4;
    const len = 28 + optLen;
    const at = this.reserve(len);
    const le = this.littleEndian;
    const dv = this.dv;
    dv.setUint32(at, PCAPNG_SHB, le);
    dv.setUint32(at + 4, len, le);
    dv.setUint32(at + 8, PCAPNG_BYTE_ORDER_MAGIC, le);
    dv.setUint16(at + 12, 1, le);
    dv.setUint16(at + 14, 0, le);
    dv.setInt32(at + 16, -1, le); // section length unknown (-1)
    dv.setInt32(at + 20, -1, le);
    let o = at + 24;
    dv.setUint16(o, PCAPNG_SHB_USERAPPL, le);
    dv.setUint16(o + 2, appl.length, le);
    this.buf.fill(0, o + 4, o + 4 + pad4(appl.length));
    this.buf.set(appl, o + 4);
    o += 4 + pad4(appl.length);
    dv.setUint32(o, 0, le);
    dv.setUint32(o + 4, len, le);
    this.fill = at + len;
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}
