/**
 * pcapng: a sequence of blocks (type, total length, body, total length again). A Section Header Block
 * starts each section and fixes its byte order; Interface Description Blocks declare interfaces (link
 * type, snaplen, timestamp resolution and offset); Enhanced/Simple/obsolete Packet Blocks carry packets.
 * Every other block type (name resolution, statistics, custom, ...) is skipped by its length.
 */
import { InputError } from '../util/errors.js';
import {
  MAX_RECORD_LEN,
  PCAPNG_BYTE_ORDER_MAGIC,
  PCAPNG_EPB,
  PCAPNG_IDB,
  PCAPNG_IF_DESCRIPTION,
  PCAPNG_IF_NAME,
  PCAPNG_IF_TSOFFSET,
  PCAPNG_IF_TSRESOL,
  PCAPNG_OPB,
  PCAPNG_OPT_ENDOFOPT,
  PCAPNG_SHB,
  PCAPNG_SPB,
} from './capture-format.js';
import type { CaptureInterface, PacketCallback, PacketRef } from './packet.js';
import type { RecordParser } from './record-parser.js';
import { MICROSECONDS, splitTicks, tsResolution, type SecNsec } from './timestamp.js';

const TWO32 = 4294967296;
const TWO53 = 2 ** 53;

/**
 * Most interfaces, and most sections, one file may describe. Each costs an object kept to the end (a
 * packet may name any interface of its section), so a file of nothing but 20-byte interface blocks would
 * grow memory with its size; real captures have a handful, concatenated ones a few per part.
 */
export const MAX_PCAPNG_BLOCKS_KEPT = 65536;
const text = new TextDecoder('utf-8', { fatal: false });

/** One pcapng section (Section Header Block). */
export interface PcapngSection {
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  /** file offset of the SHB */
  offset: number;
}

export class PcapngParser implements RecordParser {
  readonly interfaces: CaptureInterface[] = [];
  readonly sections: PcapngSection[] = [];
  need = 12;
  stopped = false;
  oversized = 0;
  private le = true;
  /** index in `interfaces` of the current section's interface 0 */
  private sectionBase = 0;
  private readonly ts: SecNsec = { sec: 0, nsec: 0 };

  constructor(private readonly path: string) {}

  private fail(message: string, offset: number): never {
    throw new InputError(`pcapng: ${message}`, `${this.path}@${offset}`);
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
    pkt.bytes = buf;
    pkt.base = base;
    const ts = this.ts;
    for (;;) {
      if (end - pos < 12) {
        this.need = 12;
        return pos;
      }
      const type0 = dv.getUint32(pos, true);
      if (type0 === PCAPNG_SHB) {
        // The byte order magic tells how to read the length, so look at it before anything else.
        const bom = dv.getUint32(pos + 8, true);
        if (bom === PCAPNG_BYTE_ORDER_MAGIC) this.le = true;
        else if (bom === 0x4d3c2b1a) this.le = false;
        else this.fail(`section header with a bad byte-order magic 0x${bom.toString(16).padStart(8, '0')}`, base + pos);
      } else if (this.sections.length === 0) {
        this.fail('file does not start with a section header block', base + pos);
      }
      const le = this.le;
      const type = le ? type0 : dv.getUint32(pos, false);
      const len = dv.getUint32(pos + 4, le);
      if (len < 12 || (len & 3) !== 0 || len > MAX_RECORD_LEN) {
        this.fail(`block type 0x${type.toString(16)} has a bad length ${len}`, base + pos);
      }
      if (end - pos < len) {
        this.need = len;
        return pos;
      }
      if (dv.getUint32(pos + len - 4, le) !== len) {
        this.fail(
          `block type 0x${type.toString(16)}: trailing length ${dv.getUint32(pos + len - 4, le)} differs from ${len}`,
          base + pos,
        );
      }
      const blockAt = pos;
      pos += len;
      if (type === PCAPNG_EPB || type === PCAPNG_OPB) {
        if (len < 32) this.fail(`packet block too short (${len} bytes)`, base + blockAt);
        const ifid = type === PCAPNG_EPB ? dv.getUint32(blockAt + 8, le) : dv.getUint16(blockAt + 8, le);
        const gid = this.sectionBase + ifid;
        if (gid >= this.interfaces.length) this.fail(`packet for undeclared interface ${ifid}`, base + blockAt);
        const iface = this.interfaces[gid]!;
        const caplen = dv.getUint32(blockAt + 20, le);
        if (caplen > len - 32)
          this.fail(`captured length ${caplen} runs past its block (length ${len})`, base + blockAt);
        // (longer than the interface's snaplen: read all the same, as Wireshark does, and counted)
        if (iface.snaplen !== 0 && caplen > iface.snaplen) this.oversized++;
        const hi = dv.getUint32(blockAt + 12, le);
        const lo = dv.getUint32(blockAt + 16, le);
        if (iface.tsresol === MICROSECONDS && hi < 0x200000) {
          // The common case without a call: microseconds since 1970 fit a double exactly.
          const v = hi * TWO32 + lo;
          const sec = Math.floor(v / 1e6);
          ts.sec = sec;
          ts.nsec = (v - sec * 1e6) * 1000;
        } else {
          splitTicks(hi, lo, iface.tsresol, ts);
        }
        const sec = ts.sec + iface.tsoffset;
        pkt.tsSec = sec;
        // Seconds a double cannot hold (2^53 or more either way, or a sum whose parts were): exactly, as a
        // bigint beside the nearest double (PacketRef.tsSecExact).
        if (sec >= TWO53 || sec <= -TWO53 || ts.sec >= TWO53) {
          const exact = (ts.sec >= TWO53 ? ts.big! : BigInt(ts.sec)) + (iface.tsoffsetExact ?? BigInt(iface.tsoffset));
          pkt.tsSec = Number(exact);
          pkt.tsSecExact = exact;
        }
        pkt.tsNsec = ts.nsec;
        pkt.caplen = caplen;
        pkt.origLen = dv.getUint32(blockAt + 24, le);
        pkt.linktype = iface.linktype;
        pkt.interfaceId = gid;
        pkt.offset = blockAt + 28;
        if (cb(pkt) === false) {
          this.stopped = true;
          return pos;
        }
      } else if (type === PCAPNG_SPB) {
        if (len < 16) this.fail(`simple packet block too short (${len} bytes)`, base + blockAt);
        const gid = this.sectionBase;
        if (gid >= this.interfaces.length) this.fail('simple packet block before any interface', base + blockAt);
        const iface = this.interfaces[gid]!;
        const origLen = dv.getUint32(blockAt + 8, le);
        let caplen = Math.min(origLen, len - 16);
        if (iface.snaplen !== 0 && caplen > iface.snaplen) caplen = iface.snaplen;
        pkt.tsSec = 0;
        pkt.tsNsec = 0;
        pkt.caplen = caplen;
        pkt.origLen = origLen;
        pkt.linktype = iface.linktype;
        pkt.interfaceId = gid;
        pkt.offset = blockAt + 12;
        if (cb(pkt) === false) {
          this.stopped = true;
          return pos;
        }
      } else if (type === PCAPNG_SHB) {
        this.readSection(dv, blockAt, len, base);
      } else if (type === PCAPNG_IDB) {
        this.readInterface(buf, dv, blockAt, len, base);
      }
      // Anything else (NRB, ISB, DSB, custom blocks, ...) carries no packets: skipped by its length.
    }
  }

  private readSection(dv: DataView, at: number, len: number, base: number): void {
    if (len < 28) this.fail(`section header block too short (${len} bytes)`, base + at);
    const versionMajor = dv.getUint16(at + 12, this.le);
    const versionMinor = dv.getUint16(at + 14, this.le);
    // 1.0, and 1.2 that some writers put (read as 1.0), as libpcap and Wireshark accept; any other
    // version (libpcap's tests have 0.1 and 1.1) is a format these rules may not read right.
    if (versionMajor !== 1 || (versionMinor !== 0 && versionMinor !== 2)) {
      this.fail(`unsupported pcapng version ${versionMajor}.${versionMinor}`, base + at);
    }
    if (this.sections.length >= MAX_PCAPNG_BLOCKS_KEPT)
      this.fail(
        `more than ${MAX_PCAPNG_BLOCKS_KEPT} sections: more than bpfkit keeps (a real capture has a few)`,
        base + at,
      );
    this.sections.push({ littleEndian: this.le, versionMajor, versionMinor, offset: base + at });
    this.sectionBase = this.interfaces.length;
  }

  private readInterface(buf: Uint8Array, dv: DataView, at: number, len: number, base: number): void {
    if (len < 20) this.fail(`interface description block too short (${len} bytes)`, base + at);
    if (this.interfaces.length >= MAX_PCAPNG_BLOCKS_KEPT)
      this.fail(
        `more than ${MAX_PCAPNG_BLOCKS_KEPT} interfaces: more than bpfkit keeps (a real capture has a handful)`,
        base + at,
      );
    const le = this.le;
    const iface: CaptureInterface = {
      linktype: dv.getUint16(at + 8, le),
      snaplen: dv.getUint32(at + 12, le),
      tsresol: MICROSECONDS,
      tsoffset: 0,
      section: this.sections.length - 1,
    };
    const optEnd = at + len - 4;
    let o = at + 16;
    while (o + 4 <= optEnd) {
      const code = dv.getUint16(o, le);
      const olen = dv.getUint16(o + 2, le);
      if (code === PCAPNG_OPT_ENDOFOPT) break;
      const v = o + 4;
      if (v + olen > optEnd) this.fail(`interface option ${code} runs past its block`, base + o);
      if (code === PCAPNG_IF_TSRESOL && olen >= 1) {
        const r = tsResolution(buf[v]!);
        // Exponents beyond what a double can count with are corrupt, not a clock.
        if ((r.decimal && r.exponent > 15) || (!r.decimal && r.exponent > 52)) {
          this.fail(`if_tsresol 0x${buf[v]!.toString(16)} is out of range`, base + o);
        }
        iface.tsresol = r.decimal && r.exponent === 6 ? MICROSECONDS : r;
      } else if (code === PCAPNG_IF_TSOFFSET && olen >= 8) {
        const a = le ? dv.getInt32(v + 4, true) : dv.getInt32(v, false);
        const b = le ? dv.getUint32(v, true) : dv.getUint32(v + 4, false);
        iface.tsoffset = a * TWO32 + b;
        if (Math.abs(iface.tsoffset) >= TWO53) iface.tsoffsetExact = (BigInt(a) << 32n) + BigInt(b);
      } else if (code === PCAPNG_IF_NAME) {
        iface.name = text.decode(buf.subarray(v, v + olen)).replace(/\0+$/, '');
      } else if (code === PCAPNG_IF_DESCRIPTION) {
        iface.description = text.decode(buf.subarray(v, v + olen)).replace(/\0+$/, '');
      }
      o = v + ((olen + 3) & ~3);
    }
    this.interfaces.push(iface);
  }
}
