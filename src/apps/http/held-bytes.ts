/**
 * Bytes of one direction that its parser stopped before (a message it cannot place yet: a response whose
 * request has not come, the client's bytes after a CONNECT whose answer has not), kept in order and fed
 * to the parser again when the other direction has said what they are.
 */

/** What HeldBytes feeds: returns how far it consumed (less than `end` when it stops again). */
export interface HeldFeeder {
  feed(b: Uint8Array, start: number, end: number, ts: number): number;
}

/** What every HeldBytes of one analyzer holds together (its budget is checked by the analyzer). */
export interface HeldPool {
  bytes: number;
}

interface Chunk {
  data: Uint8Array;
  off: number;
  ts: number;
}

/** One direction's kept bytes (copies: the segments they came in are reused). */
export class HeldBytes {
  private readonly chunks: Chunk[] = [];
  /** bytes kept */
  bytes = 0;

  /** @param pool counts these bytes too, with every other direction's of the same analyzer */
  constructor(private readonly pool: HeldPool) {}

  /** Nothing kept. */
  get empty(): boolean {
    return this.chunks.length === 0;
  }

  /** Keep b[start, end), captured at `ts`. */
  push(b: Uint8Array, start: number, end: number, ts: number): void {
    this.chunks.push({ data: b.slice(start, end), off: 0, ts });
    this.bytes += end - start;
    this.pool.bytes += end - start;
  }

  /** Feed what is kept to `parser`, oldest first, until it stops short again or everything is fed. */
  drain(parser: HeldFeeder): void {
    const chunks = this.chunks;
    while (chunks.length > 0) {
      const c = chunks[0]!;
      const p = parser.feed(c.data, c.off, c.data.length, c.ts);
      if (p < c.data.length) {
        this.take(p - c.off);
        c.off = p;
        return;
      }
      this.take(c.data.length - c.off);
      chunks.shift();
    }
  }

  /** Forget what is kept (the connection turned out not to be HTTP). */
  clear(): void {
    this.chunks.length = 0;
    this.take(this.bytes);
  }

  private take(n: number): void {
    this.bytes -= n;
    this.pool.bytes -= n;
  }
}
