/**
 * stdout for `bpfkit urls`: many short lines, written in large synchronous writes.
 */
import { writeSync } from 'node:fs';

/**
 * Batches output lines into large writes (one write per line would dominate the run time). Lines are
 * encoded straight into one reused buffer: every string here is latin1 (decoded from the wire as such,
 * or JSON, which is ASCII).
 */
export class OutputBuffer {
  private readonly buf = Buffer.allocUnsafe(1 << 16);
  private used = 0;
  /** The line `s` (latin1). */
  line(s: string): void {
    if (this.used + s.length + 1 > this.buf.length) {
      this.flush();
      if (s.length + 1 > this.buf.length) return writeAllSync(Buffer.from(s + '\n', 'latin1'));
    }
    this.used += this.buf.write(s, this.used, 'latin1');
    this.buf[this.used++] = 10;
  }
  /** The line "a b c". */
  words(a: string, b: string, c: string): void {
    const n = a.length + b.length + c.length + 3;
    if (this.used + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) return this.line(`${a} ${b} ${c}`);
    }
    const buf = this.buf;
    let at = putLatin1(buf, a, this.used);
    buf[at++] = 32;
    at = putLatin1(buf, b, at);
    buf[at++] = 32;
    at = putLatin1(buf, c, at);
    buf[at++] = 10;
    this.used = at;
  }
  /** Write what is buffered. */
  flush(): void {
    if (this.used === 0) return;
    writeAllSync(this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

/**
 * `s` (latin1) into buf at `at`; returns the end. Short strings are copied code by code: the request
 * line's words are a few dozen characters, for which Buffer#write's call into C++ costs more than the copy.
 */
function putLatin1(buf: Buffer, s: string, at: number): number {
  const n = s.length;
  if (n > 64) return at + buf.write(s, at, 'latin1');
  for (let i = 0; i < n; i++) buf[at + i] = s.charCodeAt(i);
  return at + n;
}

/** Write all of `buf` to stdout (a closed pipe ends the output quietly). */
function writeAllSync(buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off, buf.length - off);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EAGAIN') continue;
      if (e.code === 'EPIPE') return; // reader went away (| head): stop quietly
      throw err;
    }
  }
}
