/**
 * What the readers deliver. Two shapes:
 * - `Packet`: a plain object that owns its bytes (the async iterator yields these; safe to keep).
 * - `PacketRef`: one reused object per scan whose bytes are a window into the reader's chunk buffer
 *   (`forEachPacket` passes this). It is valid only during the callback: the next packet overwrites
 *   its fields and the next chunk read overwrites the bytes. Copy with `toPacket()` to keep one.
 *   It is a `Frame` (frame.ts), so it goes to filters and analyzers as it is.
 */
import type { TsResolution } from './timestamp.js';
import type { Frame } from './frame.js';

/** A captured packet that owns its bytes. */
export interface Packet {
  /**
   * whole seconds since 1970-01-01 UTC (the nearest double when they reach 2^53: a pcapng timestamp of
   * 64-bit ticks at a coarse if_tsresol, or a large if_tsoffset; `tsSecExact` then holds them exactly)
   */
  tsSec: number;
  /** the exact seconds, set only when `tsSec` is 2^53 or more (or -2^53 or less) */
  tsSecExact?: bigint;
  /** nanoseconds within the second, 0..999999999 */
  tsNsec: number;
  /** bytes captured (data.length) */
  caplen: number;
  /** length of the packet on the wire */
  origLen: number;
  /** LINKTYPE_* of the packet's interface (see linktype.ts) */
  linktype: number;
  /** pcap: always 0; pcapng: index into the reader's `interfaces` (counted across sections) */
  interfaceId: number;
  data: Uint8Array;
  /** Byte offset of the packet's first byte in the capture file (set by the readers), for error messages. */
  fileOffset?: number;
}

/** The reader's reused packet (see the file comment). */
export class PacketRef implements Packet, Frame {
  tsSec = 0;
  /**
   * The exact seconds when |tsSec| >= 2^53 (exactSeconds()). Read it only then: the parser sets it for
   * those records alone, so the per-record path of every other capture stores nothing more.
   */
  tsSecExact: bigint | undefined = undefined;
  tsNsec = 0;
  caplen = 0;
  origLen = 0;
  linktype = 0;
  interfaceId = 0;
  /** the chunk buffer holding the packet; the packet is bytes[offset, offset + caplen) */
  bytes: Uint8Array = new Uint8Array(0);
  offset = 0;
  /** file offset of bytes[0] (the parser sets it with `bytes`) */
  base = 0;

  /** Byte offset of the packet's first byte in the capture file. */
  get fileOffset(): number {
    return this.base + this.offset;
  }

  /** Capture time in seconds (fractional), as a Frame carries it. */
  get ts(): number {
    return this.tsSec + this.tsNsec / 1e9;
  }

  /** A view (no copy) of the packet bytes; allocates one small view object per call. */
  get data(): Uint8Array {
    return this.bytes.subarray(this.offset, this.offset + this.caplen);
  }

  /** A copy that outlives the callback. */
  toPacket(): Packet {
    return {
      tsSec: this.tsSec,
      ...(Math.abs(this.tsSec) >= TWO53 ? { tsSecExact: this.tsSecExact } : {}),
      tsNsec: this.tsNsec,
      caplen: this.caplen,
      origLen: this.origLen,
      linktype: this.linktype,
      interfaceId: this.interfaceId,
      data: this.bytes.slice(this.offset, this.offset + this.caplen),
      fileOffset: this.base + this.offset,
    };
  }
}

/** Seconds from here on are no longer all exact in a double. */
const TWO53 = 2 ** 53;

/** A packet's seconds, exactly: a bigint only where a number cannot hold them (|seconds| >= 2^53). */
export function exactSeconds(p: Pick<Packet, 'tsSec' | 'tsSecExact'>): number | bigint {
  return Math.abs(p.tsSec) >= TWO53 && p.tsSecExact !== undefined ? p.tsSecExact : p.tsSec;
}

/** Return false to stop the scan early; anything else continues. */
export type PacketCallback = (pkt: PacketRef) => boolean | void;

/** One capture interface: pcap has exactly one (from the file header), pcapng one per IDB. */
export interface CaptureInterface {
  linktype: number;
  /** 0 = no limit (pcapng) */
  snaplen: number;
  tsresol: TsResolution;
  /** seconds added to every timestamp (pcapng if_tsoffset) */
  tsoffset: number;
  /** if_tsoffset exactly, when it is 2^53 or more either way (`tsoffset` is then the nearest double) */
  tsoffsetExact?: bigint;
  name?: string;
  description?: string;
  /** pcapng section the interface belongs to (0 for pcap) */
  section: number;
}
