/**
 * zstd-compressed captures (`capture.pcap.zst`) read as a stream on any Node: fzstd (pure JavaScript)
 * decodes, and this module walks the frame layout (RFC 8878) itself in front of it, for three reasons:
 *
 * - memory: fzstd decodes everything a `push` holds at once, so a decompression bomb (a few bytes per
 *   128 KiB RLE block) pushed a file chunk at a time would produce gigabytes in one call. Pushing one block
 *   at a time bounds the output of a call to a block or two, and the reader pulls the next block only when
 *   it has consumed the last.
 * - the window: fzstd allocates whatever window a frame header claims (up to 2 GiB). A frame whose window
 *   exceeds 128 MiB (the limit the zstd tool itself applies without `--memory`) is refused in one line.
 * - the place of a fault: a damaged block or a file cut short is reported at the compressed offset of the
 *   block, after every byte decoded before it has been handed over.
 *
 * fzstd skips the optional content checksum without checking it; a damaged raw block would go unseen.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Decompress } from 'fzstd';
import { InputError } from '../util/errors.js';
import type { ByteSource } from './decompressed-source.js';

/** The largest window accepted: zstd's own default decoding limit (2^27 bytes). */
export const ZSTD_MAX_WINDOW = 1 << 27;
const MAX_BLOCK = 128 * 1024;
const FRAME_MAGIC = 0xfd2fb528;
const BLOCK_RESERVED = 3;
const DICT_BYTES = [0, 1, 2, 4];

/** Bytes of a frame header after the magic, from its descriptor byte. */
function headerLength(fhd: number): number {
  const single = (fhd >> 5) & 1;
  return 1 + (single ? 0 : 1) + DICT_BYTES[fhd & 3]! + fcsLength(fhd);
}

/** Bytes of the Frame_Content_Size field. */
function fcsLength(fhd: number): number {
  const flag = fhd >> 6;
  return flag === 0 ? (fhd >> 5) & 1 : 1 << flag;
}

/** An unsigned little-endian number of `n` bytes (exact up to 2^53). */
function littleEndian(b: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + b[at + i]!;
  return v;
}

/** The decompressed bytes of the zstd file at `path` as a sequential ByteSource. */
export function zstdSource(path: string): ByteSource {
  return new ZstdSource(path, createReadStream(path));
}

class ZstdSource implements ByteSource {
  private readonly chunks: AsyncIterator<Buffer>;
  /** Compressed bytes read from the file and not yet handed to the decoder: `buf[pos..]`. */
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** File offset of `buf[0]`. */
  private base = 0;
  private eof = false;
  private inFrame = false;
  private checksum = false;
  private maxBlock = MAX_BLOCK;
  private finished = false;
  private readonly decoder: Decompress;
  private readonly out: Uint8Array[] = [];
  private outPos = 0;
  private delivered = 0;
  private fault: InputError | undefined;

  constructor(
    private readonly path: string,
    private readonly file: Readable,
  ) {
    this.chunks = file[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    this.decoder = new Decompress((data) => {
      if (data.length > 0) this.out.push(data);
    });
  }

  async read(buffer: Uint8Array, off: number, length: number): Promise<{ bytesRead: number }> {
    if (this.fault) throw this.fault;
    let got = 0;
    while (got < length) {
      const head = this.out[0];
      if (!head) {
        try {
          if (!(await this.decodeMore())) break;
        } catch (err) {
          this.fault = err instanceof InputError ? err : this.damaged((err as Error).message, this.base + this.pos);
          if (got > 0) break; // hand over what came before the fault; the next read raises it
          throw this.fault;
        }
        continue;
      }
      const n = Math.min(length - got, head.length - this.outPos);
      buffer.set(head.subarray(this.outPos, this.outPos + n), off + got);
      got += n;
      this.delivered += n;
      this.outPos += n;
      if (this.outPos === head.length) {
        this.out.shift();
        this.outPos = 0;
      }
    }
    return { bytesRead: got };
  }

  async close(): Promise<void> {
    this.file.destroy();
  }

  /**
   * Push the next block (with the frame header before it) to the decoder; false at the end of the file.
   * Offsets here are relative to `pos`, the start of the unit: fill() may move `buf`, never `buf[pos..]`.
   */
  private async decodeMore(): Promise<boolean> {
    if (this.finished) return false;
    let rel = 0;
    if (!this.inFrame) {
      for (;;) {
        if (!(await this.fill(0, 4))) {
          if (this.buf.length === this.pos) {
            this.finished = true;
            this.decoder.push(new Uint8Array(0), true);
            return this.out.length > 0;
          }
          throw this.cut(this.base + this.pos);
        }
        const magic = this.buf.readUInt32LE(this.pos);
        if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
          // A skippable frame (metadata): dropped here, never buffered whole.
          const place = this.base + this.pos;
          if (!(await this.fill(0, 8))) throw this.cut(place);
          await this.skip(8 + this.buf.readUInt32LE(this.pos + 4), place);
          continue;
        }
        if (magic !== FRAME_MAGIC)
          throw this.damaged(`not a zstd frame (magic 0x${magic.toString(16).padStart(8, '0')})`, this.base + this.pos);
        break;
      }
      if (!(await this.fill(4, 1))) throw this.cut(this.base + this.pos);
      const len = headerLength(this.buf[this.pos + 4]!);
      if (!(await this.fill(4, len))) throw this.cut(this.base + this.pos);
      this.frameHeader(this.buf.subarray(this.pos + 4, this.pos + 4 + len), this.base + this.pos);
      rel = 4 + len;
      this.inFrame = true;
    }
    const blockAt = this.base + this.pos + rel;
    if (!(await this.fill(rel, 3))) throw this.cut(blockAt);
    const p = this.pos + rel;
    const b = this.buf[p]! | (this.buf[p + 1]! << 8) | (this.buf[p + 2]! << 16);
    const last = (b & 1) === 1;
    const type = (b >> 1) & 3;
    const size = b >>> 3;
    if (type === BLOCK_RESERVED) throw this.damaged('reserved block type', blockAt);
    if (size > this.maxBlock)
      throw this.damaged(`block of ${size} bytes, over the ${this.maxBlock}-byte maximum`, blockAt);
    let end = rel + 3 + (type === 1 ? 1 : size);
    if (last && this.checksum) end += 4;
    if (!(await this.fill(0, end))) throw this.cut(blockAt);
    const unit = this.buf.subarray(this.pos, this.pos + end);
    this.pos += end;
    if (last) this.inFrame = false;
    try {
      this.decoder.push(unit);
    } catch (err) {
      throw this.damaged((err as Error).message, blockAt);
    }
    return true;
  }

  /** Check a frame header (from its descriptor byte on); `place` is the frame's compressed offset. */
  private frameHeader(h: Uint8Array, place: number): void {
    const fhd = h[0]!;
    if (fhd & 0x08) throw this.damaged('reserved bit set in the frame header', place);
    const single = (fhd >> 5) & 1;
    const dictBytes = DICT_BYTES[fhd & 3]!;
    const fcsBytes = fcsLength(fhd);
    let window: number;
    if (!single) {
      const wd = h[1]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    } else {
      window = littleEndian(h, 1 + dictBytes, fcsBytes) + (fcsBytes === 2 ? 256 : 0);
    }
    if (dictBytes > 0) {
      const dict = littleEndian(h, 1 + (single ? 0 : 1), dictBytes);
      if (dict !== 0) throw this.damaged(`frame needs dictionary ${dict}, which bpfkit does not have`, place);
    }
    if (window > ZSTD_MAX_WINDOW)
      throw this.damaged(
        `frame window of ${(window / 2 ** 20).toFixed(0)} MiB exceeds the ${ZSTD_MAX_WINDOW / 2 ** 20} MiB limit`,
        place,
      );
    this.maxBlock = Math.min(MAX_BLOCK, Math.max(window, 1));
    this.checksum = (fhd & 0x04) !== 0;
  }

  /** Make `n` bytes from `pos + rel` available; false when the file ends first. Drops only bytes before `pos`. */
  private async fill(rel: number, n: number): Promise<boolean> {
    while (this.buf.length < this.pos + rel + n) {
      if (this.eof) return false;
      const r = await this.chunks.next();
      if (r.done) {
        this.eof = true;
        return false;
      }
      const keep = this.buf.subarray(this.pos);
      this.base += this.pos;
      this.buf = keep.length > 0 ? Buffer.concat([keep, r.value]) : r.value;
      this.pos = 0;
    }
    return true;
  }

  /** Consume `n` bytes starting at `pos` without keeping them. */
  private async skip(n: number, place: number): Promise<void> {
    for (;;) {
      const have = this.buf.length - this.pos;
      if (have >= n) {
        this.pos += n;
        return;
      }
      n -= have;
      this.base += this.buf.length;
      this.buf = Buffer.alloc(0);
      this.pos = 0;
      if (this.eof) throw this.cut(place);
      const r = await this.chunks.next();
      if (r.done) {
        this.eof = true;
        throw this.cut(place);
      }
      this.buf = r.value;
    }
  }

  private cut(place: number): InputError {
    return new InputError(
      `zstd stream cut short at compressed offset ${place}: the file ends inside a frame (${this.delivered} bytes decompressed before it)`,
      `${this.path}@${place}`,
    );
  }

  private damaged(why: string, place: number): InputError {
    return new InputError(
      `zstd stream damaged at compressed offset ${place}: ${why} (${this.delivered} bytes decompressed before it)`,
      `${this.path}@${place}`,
    );
  }
}
