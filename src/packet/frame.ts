/**
 * A captured frame as it travels from a packet source (capture reader, live socket, another thread's
 * batch) through a filter to an analyzer: one type for the whole path instead of loose arguments.
 *
 * The frame is bytes[offset, offset + caplen) of `bytes`, which may be a larger buffer (the reader's
 * chunk), so no view is made per frame. A source may hand the same object for every frame, refilled
 * (the reader's `PacketRef`, a `FrameView`): a receiver reads it during the call and copies what it
 * keeps.
 */
export interface Frame {
  /** the buffer holding the frame */
  readonly bytes: Uint8Array;
  /** where the frame starts in `bytes` */
  readonly offset: number;
  /** bytes captured */
  readonly caplen: number;
  /** length of the frame on the wire (caplen or more) */
  readonly origLen: number;
  /** LINKTYPE_* of the frame's first header (see linktype.ts) */
  readonly linktype: number;
  /** capture time in seconds since 1970-01-01 UTC (fractional) */
  readonly ts: number;
}

/** A Frame whose fields a source sets, and sets again for the next frame (no allocation per frame). */
export class FrameView implements Frame {
  bytes: Uint8Array = new Uint8Array(0);
  offset = 0;
  caplen = 0;
  origLen = 0;
  linktype = 0;
  ts = 0;

  /** Point the view at bytes[offset, offset + caplen). Returns the view. */
  set(bytes: Uint8Array, offset: number, caplen: number, linktype: number, ts: number, origLen = caplen): this {
    this.bytes = bytes;
    this.offset = offset;
    this.caplen = caplen;
    this.origLen = origLen;
    this.linktype = linktype;
    this.ts = ts;
    return this;
  }
}

/** A frame that is the whole of `data` (allocates: for tests and one-off frames). */
export function frameOf(data: Uint8Array, linktype: number, ts: number): Frame {
  return new FrameView().set(data, 0, data.length, linktype, ts);
}

/** The frame's bytes as their own view (no copy; allocates a view unless the frame is all of `bytes`). */
export function frameBytes(f: Frame): Uint8Array {
  return f.offset === 0 && f.caplen === f.bytes.length ? f.bytes : f.bytes.subarray(f.offset, f.offset + f.caplen);
}
