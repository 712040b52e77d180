/**
 * Solaris snoop files (RFC 1761), which Wireshark reads: a 16-byte header ("snoop\0\0\0", version,
 * datalink type), then records of a 24-byte header (original length, included length, record length,
 * cumulative drops, seconds, microseconds), the captured bytes and padding up to the record length. Every
 * field is big-endian. The datalink type is snoop's own numbering, mapped here to the libpcap link type
 * the decoders know; a type with no such link type is refused in one line naming it.
 */
import { InputError } from '../util/errors.js';
import { MAX_RECORD_LEN, SNOOP_MAGIC } from './capture-format.js';
import { LINKTYPE } from './linktype.js';
import type { CaptureInterface, PacketCallback, PacketRef } from './packet.js';
import type { RecordParser } from './record-parser.js';
import { MICROSECONDS } from './timestamp.js';

/** the second half of "snoop\0\0\0", read big-endian */
const SNOOP_MAGIC_LO = 0x70000000;
const SNOOP_HEADER_LEN = 16;
const SNOOP_RECORD_HEADER_LEN = 24;

/**
 * snoop datalink types (RFC 1761, and SunATM's 0x12) to libpcap link types. 802.3 and Ethernet frames
 * are both Ethernet to a decoder (the type/length field tells them apart); snoop's ATM records start with
 * the same 4-byte flags/VPI/VCI header as libpcap's SUNATM.
 */
const SNOOP_LINKTYPES: Record<number, number> = {
  0: LINKTYPE.EN10MB, // IEEE 802.3
  2: 6, // IEEE 802.5 token ring: LINKTYPE_IEEE802
  4: LINKTYPE.EN10MB, // Ethernet
  8: 10, // FDDI
  0x12: 123, // ATM: LINKTYPE_SUNATM
};

/** snoop's names for the datalink types it has and libpcap has not, for the refusal. */
const SNOOP_TYPE_NAMES: Record<number, string> = {
  1: 'IEEE 802.4 token bus',
  3: 'IEEE 802.6 metro net',
  5: 'HDLC',
  6: 'character synchronous',
  7: 'IBM channel-to-channel',
  9: 'other',
};

export class SnoopParser implements RecordParser {
  readonly interfaces: CaptureInterface[] = [];
  need = SNOOP_HEADER_LEN;
  stopped = false;
  /** snoop has no snapshot length: nothing is oversized */
  oversized = 0;
  /** the version field of the file header, once read */
  version = 0;
  private linktype = 0;

  constructor(private readonly path: string) {}

  parse(
    buf: Uint8Array,
    dv: DataView,
    pos: number,
    end: number,
    base: number,
    pkt: PacketRef,
    cb: PacketCallback,
  ): number {
    if (this.interfaces.length === 0) {
      if (end - pos < SNOOP_HEADER_LEN) {
        this.need = SNOOP_HEADER_LEN;
        return pos;
      }
      this.readHeader(dv, pos, base);
      pos += SNOOP_HEADER_LEN;
    }
    pkt.linktype = this.linktype;
    pkt.interfaceId = 0;
    pkt.bytes = buf;
    pkt.base = base;
    for (;;) {
      if (end - pos < SNOOP_RECORD_HEADER_LEN) {
        this.need = SNOOP_RECORD_HEADER_LEN;
        return pos;
      }
      const origLen = dv.getUint32(pos, false);
      const caplen = dv.getUint32(pos + 4, false);
      const recLen = dv.getUint32(pos + 8, false);
      // The record length covers header, bytes and padding: shorter than header + bytes, or past any real
      // record, is a damaged header (Wireshark refuses both too).
      if (caplen > MAX_RECORD_LEN || recLen > MAX_RECORD_LEN + SNOOP_RECORD_HEADER_LEN)
        throw new InputError(
          `snoop record: length ${Math.max(caplen, recLen)} is past any real record (corrupt record header)`,
          `${this.path}@${base + pos}`,
        );
      if (recLen < SNOOP_RECORD_HEADER_LEN + caplen)
        throw new InputError(
          `snoop record: record length ${recLen} is shorter than its header and ${caplen} captured bytes (corrupt record header)`,
          `${this.path}@${base + pos}`,
        );
      if (end - pos < recLen) {
        this.need = recLen;
        return pos;
      }
      // (a microsecond field past a second carries over, as Wireshark reads it)
      const usec = dv.getUint32(pos + 20, false);
      pkt.tsSec = dv.getUint32(pos + 16, false) + Math.floor(usec / 1e6);
      pkt.tsNsec = (usec % 1e6) * 1000;
      pkt.caplen = caplen;
      pkt.origLen = origLen;
      pkt.offset = pos + SNOOP_RECORD_HEADER_LEN;
      pos += recLen;
      if (cb(pkt) === false) {
        this.stopped = true;
        return pos;
      }
    }
  }

  private readHeader(dv: DataView, pos: number, base: number): void {
    const where = `${this.path}@${base + pos}`;
    if (dv.getUint32(pos, false) !== SNOOP_MAGIC || dv.getUint32(pos + 4, false) !== SNOOP_MAGIC_LO)
      throw new InputError('not a snoop file (bad magic)', where);
    const version = dv.getUint32(pos + 8, false);
    // 2 is RFC 1761's; 3 and 4 come from other writers of the format (Wireshark reads 2 to 4).
    if (version < 2 || version > 4) throw new InputError(`unsupported snoop version ${version}`, where);
    const type = dv.getUint32(pos + 12, false);
    const linktype = SNOOP_LINKTYPES[type];
    if (linktype === undefined)
      throw new InputError(
        `snoop datalink type ${type}${SNOOP_TYPE_NAMES[type] ? ` (${SNOOP_TYPE_NAMES[type]})` : ''} has no libpcap link type: the file cannot be read`,
        `${this.path}@${base + pos + 12}`,
      );
    this.version = version;
    this.linktype = linktype;
    this.interfaces.push({ linktype, snaplen: 0, tsresol: MICROSECONDS, tsoffset: 0, section: 0 });
  }
}
