/**
 * Compressed captures (`capture.pcap.gz`, `.pcapng.gz`) read as a stream: node:zlib inflates the file
 * as the reader asks for bytes, so memory stays at a few chunks whatever the ratio (a decompression bomb
 * costs time, not memory: the parsers bound every record). To the reader the result is a pipe: read once,
 * sequentially. A damaged or truncated stream is an InputError naming the file and the offset in the
 * decompressed data, raised after every whole packet before it was delivered.
 *
 * zstd (`.zst`, recognised by its magic like gzip) goes through src/packet/zstd-source.ts on every Node
 * version: Node 20's zlib has no zstd, and one decoder keeps the limits and messages the same everywhere.
 */
import { createReadStream } from 'node:fs';
import * as zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import { InputError } from '../util/errors.js';
import { zstdSource } from './zstd-source.js';

/** The reads the capture reader makes: a file handle, or this. */
export interface ByteSource {
  read(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

// (the magic test lives with the other magic numbers: callers that only test need not load zlib)
export { compressionOf } from './capture-format.js';

/** The decompressed bytes of `path` as a sequential ByteSource. */
export function decompressedSource(path: string, kind: 'gzip' | 'zstd'): ByteSource {
  if (kind === 'zstd') return zstdSource(path);
  const inflate = zlib.createGunzip();
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
