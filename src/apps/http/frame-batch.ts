/**
 * Frames of one capture chunk gathered so the full-mode filter can run them in one call (the VM's
 * runPackets: no JavaScript per frame) before the analyzer sees them one by one, in order.
 *
 * Each frame also gets the `sessions` key the filter uses for it, read from the frame as
 * bpf/http_filter_full.c reads it: when the analyzer ends a flow while a batch is being replayed, the
 * frames after it of that flow were filtered while the flow's entry was still there, and are run again
 * (filter-engine.ts). Only frames whose key is certain go into a batch: Ethernet frames with at most
 * two VLAN tags carrying IPv4, or IPv6 with TCP as the first next header (or frames the filter looks up
 * nothing for). Others (IPv6 extension headers, other link types) are refused and take the per-frame
 * path, after the batch before them.
 */
import type { Frame } from '../../packet/frame.js';

/** Frames a batch holds at most (the VM's own batches are of up to 1024 records). */
export const BATCH_FRAMES = 1024;
/** 32-bit words per key: family, a[4], b[4], port_a | port_b << 16 (full-key.ts's layout as numbers). */
export const KEY_WORDS = 10;

/** The frames of one batch, all inside `bytes`, in capture order. */
export class FrameBatch {
  bytes: Uint8Array = new Uint8Array(0);
  count = 0;
  readonly offs = new Int32Array(BATCH_FRAMES);
  readonly lens = new Int32Array(BATCH_FRAMES);
  readonly origLens = new Int32Array(BATCH_FRAMES);
  readonly ts = new Float64Array(BATCH_FRAMES);
  /** the filter's key of each frame (family 0: the filter looks nothing up for it) */
  readonly keys = new Uint32Array(BATCH_FRAMES * KEY_WORDS);
  /** end of the last frame added (frames never overlap: a source refilling one buffer is caught) */
  private end = 0;

  /**
   * Add `f` when it can join: true when it did. False when the caller must flush the batch first (full,
   * another buffer, an overlapping frame) and then try again, or when the frame cannot be batched at all
   * (`batchable(f)` is false): the caller sends it the per-frame way, after flushing.
   */
  add(f: Frame): boolean {
    const n = this.count;
    if (n === BATCH_FRAMES) return false;
    if (n !== 0 && (f.bytes !== this.bytes || f.offset < this.end)) return false;
    if (f.linktype !== 1 || !readKey(f.bytes, f.offset, f.caplen, this.keys, n * KEY_WORDS)) return false;
    if (n === 0) this.bytes = f.bytes;
    this.offs[n] = f.offset;
    this.lens[n] = f.caplen;
    this.origLens[n] = f.origLen;
    this.ts[n] = f.ts;
    this.end = f.offset + f.caplen;
    this.count = n + 1;
    return true;
  }

  /** Whether `f` could join a batch at all (an empty one). */
  static batchable(f: Frame): boolean {
    return f.linktype === 1 && readKey(f.bytes, f.offset, f.caplen, SCRATCH_KEY, 0);
  }

  clear(): void {
    this.count = 0;
    this.end = 0;
  }
}

const SCRATCH_KEY = new Uint32Array(KEY_WORDS);

/**
 * The filter's session key of the Ethernet frame b[o, o + len) into keys[k, k + KEY_WORDS), family 0
 * when the filter looks up no key for it; false when this cannot tell for sure (the filter walks IPv6
 * extension headers, which this does not).
 */
function readKey(b: Uint8Array, o: number, len: number, keys: Uint32Array, k: number): boolean {
  keys[k] = 0;
  // (a frame shorter than a header read makes the filter stop there, before any lookup)
  if (len < 14) return true;
  const e = o + len;
  let p = o + 12;
  let proto = (b[p]! << 8) | b[p + 1]!;
  for (let tags = 0; tags < 2 && (proto === 0x8100 || proto === 0x88a8); tags++) {
    p += 4;
    if (p + 2 > e) return true;
    proto = (b[p]! << 8) | b[p + 1]!;
  }
  const l3 = p + 2;
  let l4: number;
  if (proto === 0x0800) {
    if (l3 + 20 > e) return true;
    const ihl = (b[l3]! & 15) << 2;
    if (ihl < 20 || (((b[l3 + 6]! << 8) | b[l3 + 7]!) & 0x3fff) !== 0 || b[l3 + 9] !== 6) return true;
    l4 = l3 + ihl;
    if (l4 + 4 > e) return true;
    keys[k] = 4;
    keys[k + 1] = word(b, l3 + 12);
    keys[k + 2] = keys[k + 3] = keys[k + 4] = 0;
    keys[k + 5] = word(b, l3 + 16);
    keys[k + 6] = keys[k + 7] = keys[k + 8] = 0;
  } else if (proto === 0x86dd) {
    if (l3 + 40 > e) return true;
    const next = b[l3 + 6]!;
    if (next === 0 || next === 43 || next === 60 || next === 44) return false;
    if (next !== 6) return true;
    l4 = l3 + 40;
    if (l4 + 4 > e) return true;
    keys[k] = 6;
    for (let i = 0; i < 4; i++) {
      keys[k + 1 + i] = word(b, l3 + 8 + 4 * i);
      keys[k + 5 + i] = word(b, l3 + 24 + 4 * i);
    }
  } else return true;
  const sport = (b[l4]! << 8) | b[l4 + 1]!;
  const dport = (b[l4 + 2]! << 8) | b[l4 + 3]!;
  // Endpoint A is the smaller (address words from the first, then port), as the filter orders them.
  let srcIsA = sport <= dport;
  for (let i = 4; i >= 1; i--) if (keys[k + i] !== keys[k + 4 + i]) srcIsA = keys[k + i]! < keys[k + 4 + i]!;
  if (srcIsA) keys[k + 9] = (sport | (dport << 16)) >>> 0;
  else {
    for (let i = 1; i <= 4; i++) {
      const t = keys[k + i]!;
      keys[k + i] = keys[k + 4 + i]!;
      keys[k + 4 + i] = t;
    }
    keys[k + 9] = (dport | (sport << 16)) >>> 0;
  }
  return true;
}

function word(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}
