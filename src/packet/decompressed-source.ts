/**
 * Compressed captures (`capture.pcap.gz`, `.pcapng.gz`) read as a stream: node:zlib inflates the file
 * as the reader asks for bytes, so memory stays at a few chunks whatever the ratio (a decompression bomb
 * costs time, not memory: the parsers bound every record). To the reader the result is a pipe: read once,
 * sequentially. A damaged or truncated stream is an InputError naming the file and the offset in the
 * decompressed data, raised after every whole packet before it was delivered.
 *
 * zstd (`.zst`) needs `zlib.createZstdDecompress`, which only newer Node versions have; without it the
 * file is refused in one line saying so.
 */
import { createReadStream } from 'node:fs';
import * as zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import { InputError, UsageError } from '../util/errors.js';

/** The reads the capture reader makes: a file handle, or this. */
export interface ByteSource {
  read(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** What compression, if any, four leading bytes announce. */
export function compressionOf(head: Uint8Array): 'gzip' | 'zstd' | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return undefined;
}

/** The decompressed bytes of `path` as a sequential ByteSource. */
export function decompressedSource(path: string, kind: 'gzip' | 'zstd'): ByteSource {
  const zstd = (zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream }).createZstdDecompress;
  if (kind === 'zstd' && !zstd)
    throw new UsageError(
      `${path}: zstd-compressed capture, and this Node (${process.version}) has no zstd decompressor: run zstd -d first`,
    );
  const inflate = kind === 'gzip' ? zlib.createGunzip() : zstd!();
  const file = createReadStream(path);
  const out = file.pipe(inflate) as unknown as Readable;
  file.on('error', (e) => out.destroy(e));
  return new StreamSource(path, kind, out);
}

class StreamSource implements ByteSource {
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer | undefined;
  private offset = 0;
  private fault: InputError | undefined;
  constructor(
    private readonly path: string,
    private readonly kind: string,
    private readonly stream: Readable,
  ) {
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async read(buffer: Uint8Array, off: number, length: number): Promise<{ bytesRead: number }> {
    if (this.fault) throw this.fault;
    let got = 0;
    while (got < length) {
      if (!this.pending || this.pending.length === 0) {
        let r: IteratorResult<Buffer>;
        try {
          r = await this.chunks.next();
        } catch (err) {
          this.fault = new InputError(
            `${this.kind} stream damaged or cut short (${(err as Error).message}) after ${this.offset + got} decompressed bytes`,
            `${this.path}@${this.offset + got}`,
          );
          if (got > 0) break; // hand over what came before the fault; the next read raises it
          throw this.fault;
        }
        if (r.done) break;
        this.pending = r.value;
      }
      const n = Math.min(length - got, this.pending.length);
      buffer.set(this.pending.subarray(0, n), off + got);
      this.pending = this.pending.subarray(n);
      got += n;
      this.offset += n;
    }
    return { bytesRead: got };
  }

  async close(): Promise<void> {
    this.stream.destroy();
  }
}
