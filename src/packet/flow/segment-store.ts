/**
 * The out-of-order part of a reassembled TCP direction: byte ranges waiting for the hole in front of them,
 * kept as non-overlapping pieces sorted by position, with a bounded cost per byte whatever the order.
 *
 * Positions are plain numbers (the stream turns its int32 sequence numbers into a position that only
 * grows), so the store needs no modular arithmetic.
 *
 * Overlap policy (the one the stream always had): a byte comes from the segment with the lowest start
 * that carries it, the earliest arrival among equal starts. Each piece remembers its segment's start
 * (`origin`), so a later segment replaces exactly the bytes it wins, and delivery keeps the segments'
 * boundaries and capture times (the HTTP parser resynchronises at segment starts).
 *
 * Layout, for memory: pieces live in blocks of at most BLOCK_MAX, each block one Float64Array of
 * (start, end, origin, ts, offset) plus one array of chunk references — 44 bytes per piece instead of
 * ~360 for an object and a copied Uint8Array per segment. Small segments are copied into shared slabs.
 * Costs: finding a position is two binary searches (over blocks, then in a block); inserting moves at most
 * BLOCK_MAX/2 entries in a block (a block that fills is split, which moves the block list once every
 * BLOCK_MAX/2 inserts; a full block at either end gets a new neighbour instead, so segments in order after
 * a hole or in reverse order fill whole blocks); taking the first piece is O(1) (the first block is read
 * from its low end).
 */

/** Bytes a piece's payload lives in; counted live so that a slab is charged until its last piece goes. */
class Chunk {
  live = 0;
  constructor(readonly bytes: Uint8Array) {}
}

const W = 5; // fields per piece in a block: start, end, origin, ts, offset
const F_S = 0;
const F_E = 1;
const F_O = 2;
const F_TS = 3;
const F_OFF = 4;

class Block {
  data: Float64Array;
  refs: (Chunk | undefined)[];
  lo: number;
  hi: number;
  constructor(cap: number, lo: number) {
    this.data = new Float64Array(cap * W);
    this.refs = new Array<Chunk | undefined>(cap).fill(undefined);
    this.lo = lo;
    this.hi = lo;
  }
  get cap(): number {
    return this.refs.length;
  }
}

/** Most pieces in one block; a full block splits in two. */
const BLOCK_MAX = 128;
/** A new block's room, grown by doubling up to BLOCK_MAX (a stream with one waiting segment stays small). */
const BLOCK_MIN = 4;
/** Segments shorter than this are copied into a shared slab; longer ones get their own copy. */
const SLAB_COPY_BELOW = 512;
const SLAB_MAX = 16384;

/**
 * Memory costs, in bytes. Set from the parts (an object, a typed array with its ArrayBuffer, an array),
 * then checked with process.memoryUsage() (heapUsed + arrayBuffers, after gc) on Node 20 over 50,000 stores
 * with one piece and 20 stores of 10,000 one-byte pieces (in reverse and in scattered order): what a store
 * charges itself is within 2% of what it takes.
 * - a Block with BLOCK_MIN room, empty: ~600 B; each further slot of room: W * 8 + 8 bytes;
 * - a Chunk over a fresh Uint8Array: ~240 B besides its bytes;
 * - the store itself with its block list: ~160 B.
 */
export const STORE_COST = 160;
const BLOCK_COST = 600 - BLOCK_MIN * (W * 8 + 8);
const SLOT_COST = W * 8 + 8;
const CHUNK_COST = 240;

/**
 * Steps taken by every store so far: search steps, entries moved, pieces walked. A machine-independent
 * measure of cost, for tests that check the cost per piece does not grow with the count.
 */
let work = 0;

/** The steps every SegmentStore has taken so far (see `work`). */
export function storeWork(): number {
  return work;
}

/** Receives delivered bytes: b[start, end), captured at ts. */
export type PieceSink = (b: Uint8Array, start: number, end: number, ts: number) => void;

/** The out-of-order pieces of one stream direction (see the file comment). */
export class SegmentStore {
  private blocks: Block[] = [];
  /** index of the first block still in use (the list is compacted now and then) */
  private head = 0;
  private slab: Chunk | undefined;
  private slabUsed = 0;
  /** payload bytes held */
  bytes = 0;
  /** pieces held */
  pieces = 0;
  /** what the store costs in memory, by the constants above (payload, slabs and structure) */
  memory = STORE_COST;

  get empty(): boolean {
    return this.pieces === 0;
  }

  /** Position of the first held byte (only when not empty). */
  firstStart(): number {
    const b = this.blocks[this.head]!;
    return b.data[b.lo * W + F_S]!;
  }

  /**
   * A segment covering positions [s, s + (end - start)) with bytes b[start, end), captured at `ts`. Keeps
   * the bytes it wins by the overlap policy; returns how many (0: it brought nothing new).
   */
  insert(s: number, b: Uint8Array, start: number, end: number, ts: number): number {
    const e = s + (end - start);
    // Where this segment's bytes begin to count: past every held piece from a segment starting at or
    // before s (those win). Starts are monotone along positions, so those pieces come first.
    let cur = s;
    this.locate(s);
    let bi = this.atBlock;
    let k = this.atIndex;
    while (bi < this.blocks.length) {
      const blk = this.blocks[bi]!;
      if (k >= blk.hi) {
        bi++;
        if (bi < this.blocks.length) k = this.blocks[bi]!.lo;
        continue;
      }
      const o = k * W;
      work++;
      if (blk.data[o + F_S]! >= e || blk.data[o + F_O]! > s) break;
      if (blk.data[o + F_E]! > cur) cur = blk.data[o + F_E]!;
      k++;
    }
    if (cur >= e) return 0;
    // Pieces in [cur, e) are all from segments starting after s: this one replaces them.
    while (bi < this.blocks.length) {
      const blk = this.blocks[bi]!;
      if (k >= blk.hi) {
        bi++;
        if (bi < this.blocks.length) k = this.blocks[bi]!.lo;
        continue;
      }
      const o = k * W;
      work++;
      const ps = blk.data[o + F_S]!;
      if (ps >= e) break;
      const pe = blk.data[o + F_E]!;
      if (pe <= e) {
        this.bytes -= pe - ps;
        this.removeAt(bi, k);
        // (removeAt may drop the block or shift entries: find the place again)
        this.locate(cur);
        bi = this.atBlock;
        k = this.atIndex;
        continue;
      }
      // Straddles e: keep its tail.
      blk.data[o + F_OFF] = blk.data[o + F_OFF]! + (e - ps);
      blk.data[o + F_S] = e;
      this.bytes -= e - ps;
      break;
    }
    const from = start + (cur - s);
    const len = e - cur;
    const chunk = this.copy(b, from, from + len);
    // (bi, k) is where the piece goes: past the pieces that win, at the first it does not replace
    if (bi >= this.blocks.length && this.blocks.length > this.head) {
      bi = this.blocks.length - 1;
      k = this.blocks[bi]!.hi;
    }
    this.insertAt(bi, k, cur, e, s, ts, chunk, this.copiedAt);
    this.bytes += len;
    return len;
  }

  /**
   * Hand `sink` every held byte from position `next` on that is contiguous with it (pieces before `next`
   * are dropped, a piece straddling it is cut); returns how many pieces were dropped whole (bytes already
   * delivered: retransmissions).
   */
  deliver(next: number, sink: PieceSink): number {
    let dropped = 0;
    while (this.pieces > 0) {
      const blk = this.blocks[this.head]!;
      const o = blk.lo * W;
      const s = blk.data[o + F_S]!;
      work++;
      if (s > next) break;
      const e = blk.data[o + F_E]!;
      const chunk = blk.refs[blk.lo]!;
      const off = blk.data[o + F_OFF]!;
      const ts = blk.data[o + F_TS]!;
      this.bytes -= e - s;
      this.removeFirst();
      if (e > next) {
        sink(chunk.bytes, off + (next - s), off + (e - s), ts);
        next = e;
      } else dropped++;
    }
    return dropped;
  }

  /** Payload bytes held at or past position `pos` (walks only the pieces there). */
  bytesFrom(pos: number): number {
    let n = 0;
    this.locate(pos);
    let bi = this.atBlock;
    let k = this.atIndex;
    for (; bi < this.blocks.length; bi++) {
      const blk = this.blocks[bi]!;
      if (k < blk.lo) k = blk.lo;
      for (; k < blk.hi; k++) n += blk.data[k * W + F_E]! - Math.max(pos, blk.data[k * W + F_S]!);
      k = 0;
    }
    return n;
  }

  /** Forget everything (the stream is closed). */
  clear(): void {
    this.blocks = [];
    this.head = 0;
    this.slab = undefined;
    this.slabUsed = 0;
    this.bytes = 0;
    this.pieces = 0;
    this.memory = STORE_COST;
  }

  /** Where locate() found: block index and index in the block (fields, not a returned pair: no allocation). */
  private atBlock = 0;
  private atIndex = 0;

  /**
   * The block and index (atBlock, atIndex) where a piece starting at `pos` goes: after every piece that
   * ends at or before it.
   */
  private locate(pos: number): void {
    const blocks = this.blocks;
    let lo = this.head;
    let hi = blocks.length;
    // the first block whose last piece ends after pos
    while (lo < hi) {
      work++;
      const mid = (lo + hi) >>> 1;
      const b = blocks[mid]!;
      if (b.data[(b.hi - 1) * W + F_E]! <= pos) lo = mid + 1;
      else hi = mid;
    }
    if (lo === blocks.length) {
      if (lo === this.head) {
        this.atBlock = lo;
        this.atIndex = 0;
        return;
      }
      this.atBlock = lo - 1;
      this.atIndex = blocks[lo - 1]!.hi;
      return;
    }
    const b = blocks[lo]!;
    let a = b.lo;
    let z = b.hi;
    while (a < z) {
      work++;
      const mid = (a + z) >>> 1;
      if (b.data[mid * W + F_E]! <= pos) a = mid + 1;
      else z = mid;
    }
    this.atBlock = lo;
    this.atIndex = a;
  }

  private insertAt(
    bi: number,
    k: number,
    s: number,
    e: number,
    origin: number,
    ts: number,
    chunk: Chunk,
    off: number,
  ): void {
    if (bi >= this.blocks.length) {
      const nb = new Block(BLOCK_MIN, 0);
      this.blocks.push(nb);
      this.memory += BLOCK_COST + BLOCK_MIN * SLOT_COST;
      bi = this.blocks.length - 1;
      k = 0;
    }
    let blk = this.blocks[bi]!;
    while (blk.hi - blk.lo >= blk.cap) {
      if (blk.cap < BLOCK_MAX) this.grow(blk);
      else if (k === blk.hi && bi === this.blocks.length - 1) {
        // Appending past a full last block (segments after a hole, in order): a new block, no split.
        blk = new Block(BLOCK_MAX, 0);
        this.blocks.push(blk);
        this.memory += BLOCK_COST + BLOCK_MAX * SLOT_COST;
        bi++;
        k = 0;
        break;
      } else if (k === blk.lo && bi === this.head) {
        // Prepending before a full first block (segments in reverse order): a new block, filled downwards.
        blk = new Block(BLOCK_MAX, BLOCK_MAX);
        if (this.head > 0) this.blocks[--this.head] = blk;
        else this.blocks.unshift(blk);
        this.memory += BLOCK_COST + BLOCK_MAX * SLOT_COST;
        bi = this.head;
        k = BLOCK_MAX;
        break;
      } else this.split(bi);
      this.locate(s);
      bi = this.atBlock;
      k = this.atIndex;
      blk = this.blocks[bi]!;
    }
    const d = blk.data;
    work += Math.min(k - blk.lo, blk.hi - k) + 1;
    if (blk.hi < blk.cap && (k - blk.lo >= blk.hi - k || blk.lo === 0)) {
      d.copyWithin((k + 1) * W, k * W, blk.hi * W);
      for (let i = blk.hi; i > k; i--) blk.refs[i] = blk.refs[i - 1];
      blk.hi++;
    } else {
      d.copyWithin((blk.lo - 1) * W, blk.lo * W, k * W);
      for (let i = blk.lo - 1; i < k - 1; i++) blk.refs[i] = blk.refs[i + 1];
      blk.lo--;
      k--;
    }
    const o = k * W;
    d[o + F_S] = s;
    d[o + F_E] = e;
    d[o + F_O] = origin;
    d[o + F_TS] = ts;
    d[o + F_OFF] = off;
    blk.refs[k] = chunk;
    chunk.live++;
    this.pieces++;
  }

  /** Double a block's room, its entries in the middle (so inserts at either end are cheap). */
  private grow(blk: Block): void {
    const n = blk.hi - blk.lo;
    work += n;
    const cap = blk.cap * 2;
    const data = new Float64Array(cap * W);
    const lo = (cap - n) >>> 1;
    data.set(blk.data.subarray(blk.lo * W, blk.hi * W), lo * W);
    const refs = new Array<Chunk | undefined>(cap).fill(undefined);
    for (let i = 0; i < n; i++) refs[lo + i] = blk.refs[blk.lo + i];
    this.memory += (cap - blk.cap) * SLOT_COST;
    blk.data = data;
    blk.refs = refs;
    blk.lo = lo;
    blk.hi = lo + n;
  }

  /** Split a full block in two halves, each with room on both sides. */
  private split(bi: number): void {
    const blk = this.blocks[bi]!;
    const n = blk.hi - blk.lo;
    const half = n >>> 1;
    work += n + (this.blocks.length - bi); // (the entries, and the block list's move)
    const right = new Block(BLOCK_MAX, (BLOCK_MAX - (n - half)) >>> 1);
    const from = blk.lo + half;
    right.data.set(blk.data.subarray(from * W, blk.hi * W), right.lo * W);
    for (let i = from; i < blk.hi; i++) {
      right.refs[right.hi++] = blk.refs[i];
      blk.refs[i] = undefined;
    }
    blk.hi = from;
    // re-centre the left half too
    const left = new Block(BLOCK_MAX, (BLOCK_MAX - half) >>> 1);
    left.data.set(blk.data.subarray(blk.lo * W, blk.hi * W), left.lo * W);
    for (let i = blk.lo; i < blk.hi; i++) left.refs[left.hi++] = blk.refs[i];
    this.blocks[bi] = left;
    this.blocks.splice(bi + 1, 0, right);
    this.memory += BLOCK_COST + BLOCK_MAX * SLOT_COST;
  }

  private removeFirst(): void {
    const blk = this.blocks[this.head]!;
    this.release(blk.refs[blk.lo]!);
    blk.refs[blk.lo] = undefined;
    blk.lo++;
    this.pieces--;
    if (blk.lo === blk.hi) this.dropBlock(this.head);
  }

  private removeAt(bi: number, k: number): void {
    const blk = this.blocks[bi]!;
    work += blk.hi - k;
    this.release(blk.refs[k]!);
    blk.data.copyWithin(k * W, (k + 1) * W, blk.hi * W);
    for (let i = k; i < blk.hi - 1; i++) blk.refs[i] = blk.refs[i + 1];
    blk.hi--;
    blk.refs[blk.hi] = undefined;
    this.pieces--;
    if (blk.lo === blk.hi) this.dropBlock(bi);
  }

  private dropBlock(bi: number): void {
    this.memory -= BLOCK_COST + this.blocks[bi]!.cap * SLOT_COST;
    if (bi === this.head) {
      this.blocks[bi] = undefined as unknown as Block;
      this.head++;
      if (this.head === this.blocks.length) {
        this.blocks = [];
        this.head = 0;
      } else if (this.head > 64 && this.head * 2 > this.blocks.length) {
        work += this.blocks.length - this.head;
        this.blocks = this.blocks.slice(this.head);
        this.head = 0;
      }
    } else {
      work += this.blocks.length - bi;
      this.blocks.splice(bi, 1);
    }
  }

  /** A copy of b[start, end) that outlives the caller's buffer: in the current slab when small. */
  /** Where copy() put the bytes in the chunk it returned. */
  private copiedAt = 0;

  private copy(b: Uint8Array, start: number, end: number): Chunk {
    const len = end - start;
    if (len >= SLAB_COPY_BELOW) {
      const c = new Chunk(b.slice(start, end));
      this.memory += CHUNK_COST + len;
      this.copiedAt = 0;
      return c;
    }
    let slab = this.slab;
    if (!slab || this.slabUsed + len > slab.bytes.length) {
      // Slabs grow with the stream's appetite, so a stream holding one small segment stays small.
      const size = Math.min(SLAB_MAX, Math.max(4 * SLAB_COPY_BELOW, slab ? slab.bytes.length * 2 : 0));
      if (slab && slab.live === 0) this.memory -= CHUNK_COST + slab.bytes.length;
      slab = new Chunk(new Uint8Array(size));
      this.memory += CHUNK_COST + size;
      this.slab = slab;
      this.slabUsed = 0;
    }
    if (len <= 16) {
      // (a loop: a subarray to copy from would be an allocation per tiny segment)
      const dst = slab.bytes;
      for (let i = 0, at = this.slabUsed; i < len; i++) dst[at + i] = b[start + i]!;
    } else slab.bytes.set(b.subarray(start, end), this.slabUsed);
    this.copiedAt = this.slabUsed;
    this.slabUsed += len;
    return slab;
  }

  /** A piece let go of its chunk: a chunk nobody uses any more (and not the slab being filled) is freed. */
  private release(c: Chunk): void {
    if (--c.live === 0 && c !== this.slab) this.memory -= CHUNK_COST + c.bytes.length;
  }
}
