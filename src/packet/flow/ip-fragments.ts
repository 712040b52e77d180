/**
 * IPv4 and IPv6 fragment reassembly. A fragment's data is copied into a per-datagram SegmentStore (the
 * structure TCP streams keep out-of-order bytes in: a bounded cost per byte in any order); once the last
 * fragment is in and the pieces cover [0, total) the transport bytes are joined behind a minimal IP header
 * and decoded again, as if the datagram had come in one piece. Overlapping fragments (illegal for IPv6
 * since RFC 5722): the lowest-offset piece wins (the earliest among equal offsets). Completion is known
 * from a count (bytes held below `total`), not a walk over the pieces. Bounded: datagrams wait at most
 * `timeoutSec` of capture time, and at most `maxDatagrams` wait at once; what is dropped is counted.
 */
import { LINKTYPE } from '../linktype.js';
import type { PacketView } from '../decode/packet-view.js';
import { SegmentStore } from './segment-store.js';

interface Pending {
  pieces: SegmentStore;
  /** bytes held at or past `total` (from fragments that came before the last one): not part of the datagram */
  beyond: number;
  /** Transport length, known once the last fragment arrived; -1 until then. */
  total: number;
  firstSeen: number;
  ipVersion: number;
  /** source then destination address (4 + 4 or 16 + 16 bytes) */
  addrs: Uint8Array;
  proto: number;
  bytes: number;
  /** what this datagram adds to the reassembler's memory */
  charged: number;
}

/** What the reassembler has done so far. */
export interface FragmentStats {
  fragments: number;
  reassembled: number;
  expired: number;
}

/** Bounds of a FragmentReassembler, and which datagrams it rebuilds. */
export interface ReassemblyOptions {
  /** most datagrams waiting for fragments at once; the oldest is dropped to make room (default 4096) */
  maxDatagrams?: number;
  /** seconds of capture time a datagram may wait for its fragments (default 30) */
  timeoutSec?: number;
  /** largest transport length accepted (default 65535 + 8); larger is malformed */
  maxDatagramBytes?: number;
  /** rebuild only datagrams of this IP protocol (others are counted, then dropped); default: all */
  protocol?: number;
  /** memory the waiting datagrams may take, in bytes, structure included (default: no limit); the oldest go */
  maxMemory?: number;
}

/**
 * What a waiting datagram costs besides its SegmentStore: its record, key string, address copy and map
 * entry — estimated from the parts (an object of 9 fields ~100 B, a ~40-char key ~60 B, a small
 * Uint8Array ~150 B, a Map entry ~40 B).
 */
const DATAGRAM_COST = 350;

/** Collects fragments until their datagram is whole (see the file comment). */
export class FragmentReassembler {
  private pending = new Map<string, Pending>();
  readonly stats: FragmentStats = { fragments: 0, reassembled: 0, expired: 0 };
  private readonly maxDatagrams: number;
  private readonly timeoutSec: number;
  private readonly maxDatagramBytes: number;
  private readonly protocol: number;
  private readonly maxMemory: number;
  /** memory of the waiting datagrams, by DATAGRAM_COST and their stores' costs */
  private memory = 0;

  constructor(opts: ReassemblyOptions = {}) {
    this.maxMemory = opts.maxMemory ?? Infinity;
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
      d = {
        pieces: new SegmentStore(),
        beyond: 0,
        total: -1,
        firstSeen: now,
        ipVersion: v.ipVersion,
        addrs,
        proto: v.fragmentProto,
        bytes: 0,
        charged: 0,
      };
      this.pending.set(key, d);
    }
    const len = v.fragmentDataLength;
    const end = v.fragmentOffset + len;
    if (end > this.maxDatagramBytes || d.bytes + len > 2 * this.maxDatagramBytes) {
      this.drop(key, d); // hostile or broken: a datagram can never be this large
      this.stats.expired++;
      this.malformed = true;
      return false;
    }
    d.bytes += len;
    const off = v.fragmentOffset;
    if (!v.moreFragments && end !== d.total) {
      // (a new end: what is held past it is not part of the datagram; a walk over those pieces only)
      d.total = end;
      d.beyond = d.pieces.bytesFrom(end);
    }
    if (d.total >= 0) {
      // Past the end: kept out (it can never be part of the datagram).
      const keep = Math.min(end, d.total) - off;
      if (keep > 0) d.pieces.insert(off, b, v.fragmentDataOffset, v.fragmentDataOffset + keep, 0);
    } else if (len > 0) d.pieces.insert(off, b, v.fragmentDataOffset, v.fragmentDataOffset + len, 0);
    this.memory += DATAGRAM_COST + d.pieces.memory - d.charged;
    d.charged = DATAGRAM_COST + d.pieces.memory;
    // Complete when the pieces cover [0, total).
    if (d.total < 0 || d.pieces.bytes - d.beyond < d.total) {
      // Over the budget: the oldest datagrams go (this one last).
      while (this.memory > this.maxMemory && this.pending.size > 1) this.expire(now, true);
      return false;
    }
    this.drop(key, d);
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
        this.drop(key, d);
        this.stats.expired++;
        if (force) return;
      }
    }
  }

  private drop(key: string, d: Pending): void {
    this.pending.delete(key);
    this.memory -= d.charged;
    d.charged = 0;
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
  const head = d.ipVersion === 4 ? 20 : 40;
  const whole = new Uint8Array(head + d.total);
  let at = head;
  // (the store hands its bytes over in order, overlaps already settled; what lies past `total` is cut)
  d.pieces.deliver(0, (b, start, end) => {
    const n = Math.min(end - start, whole.length - at);
    if (n > 0) whole.set(b.subarray(start, start + n), at);
    at += end - start;
  });
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
