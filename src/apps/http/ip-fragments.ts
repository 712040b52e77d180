/**
 * IPv4 and IPv6 fragment reassembly for the URL sniffer. A fragment's data is copied into a per-datagram
 * list; once the last fragment is in and the pieces cover [0, total) the transport bytes are joined and
 * decoded as TCP. Overlapping fragments (illegal for IPv6 since RFC 5722): the lowest-offset piece wins. Bounded: datagrams wait at most `timeoutSec` of capture time, and at
 * most `maxDatagrams` wait at once; what is dropped is counted.
 */
import { DecodedFrame, FrameKind, decodeTcp } from './frame.js';

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
  src4: number;
  dst4: number;
  /** IPv6: 32 bytes, source then destination. */
  addrs: Uint8Array | undefined;
  proto: number;
  bytes: number;
}

export interface FragmentStats {
  fragments: number;
  reassembled: number;
  expired: number;
}

export class FragmentReassembler {
  private pending = new Map<string, Pending>();
  readonly stats: FragmentStats = { fragments: 0, reassembled: 0, expired: 0 };

  constructor(
    private readonly maxDatagrams = 4096,
    private readonly timeoutSec = 30,
    private readonly maxDatagramBytes = 65535 + 8,
  ) {}

  /**
   * Add the fragment described by `f` (FrameKind.Fragment). When it completes a TCP datagram, `f` is
   * rewritten to describe the whole segment and Tcp is returned; otherwise Other (waiting, or not TCP).
   */
  add(f: DecodedFrame, now: number): FrameKind {
    this.stats.fragments++;
    const b = f.bytes;
    let key: string;
    if (f.ipVersion === 4) key = `4:${f.src4}:${f.dst4}:${f.fragId}:${f.fragProto}`;
    else {
      let hex = '6:';
      for (let i = 0; i < 16; i++) hex += b[f.srcOff + i]!.toString(16) + '.';
      for (let i = 0; i < 16; i++) hex += b[f.dstOff + i]!.toString(16) + '.';
      key = `${hex}:${f.fragId}`;
    }
    let d = this.pending.get(key);
    if (!d) {
      if (this.pending.size >= this.maxDatagrams) this.expire(now, true);
      d = {
        pieces: [],
        total: -1,
        firstSeen: now,
        ipVersion: f.ipVersion,
        src4: f.src4,
        dst4: f.dst4,
        addrs: f.ipVersion === 6 ? concatAddrs(b, f.srcOff, f.dstOff) : undefined,
        proto: f.fragProto,
        bytes: 0,
      };
      this.pending.set(key, d);
    }
    const end = f.fragOffset + f.fragDataLen;
    if (end > this.maxDatagramBytes || d.bytes + f.fragDataLen > 2 * this.maxDatagramBytes) {
      this.pending.delete(key); // hostile or broken: a datagram can never be this large
      this.stats.expired++;
      return FrameKind.Malformed;
    }
    d.pieces.push({ offset: f.fragOffset, data: b.slice(f.fragDataOff, f.fragDataOff + f.fragDataLen) });
    d.bytes += f.fragDataLen;
    if (!f.fragMore) d.total = end;
    if (d.total < 0) return FrameKind.Other;
    // Complete when the pieces cover [0, total).
    d.pieces.sort((x, y) => x.offset - y.offset);
    let covered = 0;
    for (const piece of d.pieces) {
      if (piece.offset > covered) return FrameKind.Other;
      covered = Math.max(covered, piece.offset + piece.data.length);
    }
    if (covered < d.total) return FrameKind.Other;
    this.pending.delete(key);
    this.stats.reassembled++;
    if (d.proto !== 6) return FrameKind.Other;
    const head = d.ipVersion === 6 ? 32 : 0;
    const whole = new Uint8Array(head + d.total);
    if (d.addrs) whole.set(d.addrs, 0);
    // Highest offset first, so where pieces overlap the lowest-offset piece's bytes are the ones kept.
    for (let i = d.pieces.length - 1; i >= 0; i--) {
      const piece = d.pieces[i]!;
      whole.set(piece.data.subarray(0, Math.max(0, Math.min(piece.data.length, d.total - piece.offset))), head + piece.offset);
    }
    f.bytes = whole;
    f.ipVersion = d.ipVersion;
    f.src4 = d.src4;
    f.dst4 = d.dst4;
    f.srcOff = 0;
    f.dstOff = 16;
    return decodeTcp(whole, head, whole.length, f);
  }

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

  get size(): number {
    return this.pending.size;
  }
}

function concatAddrs(b: Uint8Array, srcOff: number, dstOff: number): Uint8Array {
  const a = new Uint8Array(32);
  a.set(b.subarray(srcOff, srcOff + 16), 0);
  a.set(b.subarray(dstOff, dstOff + 16), 16);
  return a;
}
