// The reassembler as it was before SegmentStore (sorts all pieces at every fragment): the model the tests compare with.
/**
 * IPv4 and IPv6 fragment reassembly. A fragment's data is copied into a per-datagram list; once the last
 * fragment is in and the pieces cover [0, total) the transport bytes are joined behind a minimal IP header
 * and decoded again, as if the datagram had come in one piece. Overlapping fragments (illegal for IPv6
 * since RFC 5722): the lowest-offset piece wins. Bounded: datagrams wait at most `timeoutSec` of capture
 * time, and at most `maxDatagrams` wait at once; what is dropped is counted.
 */
import { LINKTYPE } from '../../../src/packet/linktype.js';
import type { PacketView } from '../../../src/packet/decode/packet-view.js';

interface Piece {
  offset: number;
  data: Uint8Array;
}

interface Pending {
  pieces: Piece[];
  /** Transport length, known once the last fragment arrived; -1 until then. */
  total: number;
  firstSeen: number;
  ipVersion: number;
  /** source then destination address (4 + 4 or 16 + 16 bytes) */
  addrs: Uint8Array;
  proto: number;
  bytes: number;
}

/** What the reassembler has done so far. */
interface FragmentStats {
  fragments: number;
  reassembled: number;
  expired: number;
}

/** Bounds of a FragmentReassembler, and which datagrams it rebuilds. */
interface ReassemblyOptions {
  /** most datagrams waiting for fragments at once; the oldest is dropped to make room (default 4096) */
  maxDatagrams?: number;
  /** seconds of capture time a datagram may wait for its fragments (default 30) */
  timeoutSec?: number;
  /** largest transport length accepted (default 65535 + 8); larger is malformed */
  maxDatagramBytes?: number;
  /** rebuild only datagrams of this IP protocol (others are counted, then dropped); default: all */
  protocol?: number;
}

/** Collects fragments until their datagram is whole (see the file comment). */
export class ModelReassembler {
  private pending = new Map<string, Pending>();
  readonly stats: FragmentStats = { fragments: 0, reassembled: 0, expired: 0 };
  private readonly maxDatagrams: number;
  private readonly timeoutSec: number;
  private readonly maxDatagramBytes: number;
  private readonly protocol: number;

  constructor(opts: ReassemblyOptions = {}) {
    this.maxDatagrams = opts.maxDatagrams ?? 4096;
    this.timeoutSec = opts.timeoutSec ?? 30;
    this.maxDatagramBytes = opts.maxDatagramBytes ?? 65535 + 8;
    this.protocol = opts.protocol ?? -1;
  }

  /**
   * Add the fragment `v` decoded (`v.isFragment`). When it completes a datagram (of the wanted protocol),
   * the datagram is rebuilt (a plain IP header, no options or extension headers, then the joined data)
   * and decoded into `v`, and true is returned; otherwise false (waiting, another protocol, or dropped:
   * see `malformed`).
   */
  add(v: PacketView, now: number): boolean {
    this.malformed = false;
    this.stats.fragments++;
    const b = v.bytes;
    const alen = v.addrLength;
    let key: string;
    if (v.ipVersion === 4) key = `4:${v.srcIPv4}:${v.dstIPv4}:${v.ipId}:${v.fragmentProto}`;
    else {
      let hex = '6:';
      for (let i = 0; i < 16; i++) hex += b[v.srcAddrOffset + i]!.toString(16) + '.';
      for (let i = 0; i < 16; i++) hex += b[v.dstAddrOffset + i]!.toString(16) + '.';
      key = `${hex}:${v.ipId}`;
    }
    let d = this.pending.get(key);
    if (!d) {
      if (this.pending.size >= this.maxDatagrams) this.expire(now, true);
      const addrs = new Uint8Array(2 * alen);
      addrs.set(b.subarray(v.srcAddrOffset, v.srcAddrOffset + alen), 0);
      addrs.set(b.subarray(v.dstAddrOffset, v.dstAddrOffset + alen), alen);
      d = { pieces: [], total: -1, firstSeen: now, ipVersion: v.ipVersion, addrs, proto: v.fragmentProto, bytes: 0 };
      this.pending.set(key, d);
    }
    const len = v.fragmentDataLength;
    const end = v.fragmentOffset + len;
    if (end > this.maxDatagramBytes || d.bytes + len > 2 * this.maxDatagramBytes) {
      this.pending.delete(key); // hostile or broken: a datagram can never be this large
      this.stats.expired++;
      this.malformed = true;
      return false;
    }
    d.pieces.push({ offset: v.fragmentOffset, data: b.slice(v.fragmentDataOffset, v.fragmentDataOffset + len) });
    d.bytes += len;
    if (!v.moreFragments) d.total = end;
    if (d.total < 0) return false;
    // Complete when the pieces cover [0, total).
    d.pieces.sort((x, y) => x.offset - y.offset);
    let covered = 0;
    for (const piece of d.pieces) {
      if (piece.offset > covered) return false;
      covered = Math.max(covered, piece.offset + piece.data.length);
    }
    if (covered < d.total) return false;
    this.pending.delete(key);
    this.stats.reassembled++;
    if (this.protocol >= 0 && d.proto !== this.protocol) return false;
    const whole = ipDatagram(d);
    v.decode(whole, d.ipVersion === 4 ? LINKTYPE.IPV4 : LINKTYPE.IPV6);
    return true;
  }

  /** The last `add` dropped its datagram as impossible (larger than any IP datagram can be). */
  malformed = false;

  /** Drop datagrams older than the timeout (or, when `force`, the oldest one to make room). */
  expire(now: number, force = false): void {
    for (const [key, d] of this.pending) {
      if (now - d.firstSeen > this.timeoutSec || force) {
        this.pending.delete(key);
        this.stats.expired++;
        if (force) return;
      }
    }
  }

  /** Datagrams waiting for fragments. */
  get size(): number {
    return this.pending.size;
  }
}

/**
 * The reassembled datagram with a minimal IP header in front, so the one packet decoder reads it like
 * any other. A length that does not fit the header's field is written as 0, which the decoder takes as
 * "as long as the bytes" (what it does for jumbograms and offloaded super-packets).
 */
function ipDatagram(d: Pending): Uint8Array {
  // Highest offset first, so where pieces overlap the lowest-offset piece's bytes are the ones kept.
  const head = d.ipVersion === 4 ? 20 : 40;
  const whole = new Uint8Array(head + d.total);
  for (let i = d.pieces.length - 1; i >= 0; i--) {
    const piece = d.pieces[i]!;
    whole.set(
      piece.data.subarray(0, Math.max(0, Math.min(piece.data.length, d.total - piece.offset))),
      head + piece.offset,
    );
  }
  if (d.ipVersion === 4) {
    const total = whole.length <= 0xffff ? whole.length : 0;
    whole[0] = 0x45;
    whole[2] = total >> 8;
    whole[3] = total & 255;
    whole[8] = 64;
    whole[9] = d.proto;
    whole.set(d.addrs, 12);
  } else {
    const plen = d.total <= 0xffff ? d.total : 0;
    whole[0] = 0x60;
    whole[4] = plen >> 8;
    whole[5] = plen & 255;
    whole[6] = d.proto;
    whole[7] = 64;
    whole.set(d.addrs, 8);
  }
  return whole;
}
