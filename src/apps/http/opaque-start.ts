/**
 * Connections that are not HTTP/1.x, told from a direction's first bytes: a TLS hello (any port) or the
 * HTTP/2 connection preface. The analyzer (full-analyzer.ts) counts them and passes their bytes over.
 */
import type { StreamConsumer } from '../../packet/flow/tcp-stream.js';

/** The HTTP/2 connection preface (RFC 9113 §3.4): a client that opens with these 24 bytes speaks HTTP/2. */
const PREFACE = Uint8Array.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', (c) => c.charCodeAt(0));

/** What a direction's first bytes are (opaqueStart): none of the below. */
export const NOT_OPAQUE = 0;
/** a TLS ClientHello (record or SSL 2.0 format) */
export const TLS_CLIENT_HELLO = 1;
/** a TLS ServerHello */
export const TLS_SERVER_HELLO = 2;
/** the whole HTTP/2 preface */
export const H2_PREFACE = 3;
/** a strict prefix of the preface: the rest decides (PrefaceWatch) */
export const H2_PREFACE_PART = 4;
/** A TLS record's longest body: 2^14 bytes plus the 2048 a cipher may add (RFC 5246 §6.2.3). */
const TLS_MAX_RECORD = 16384 + 2048;

/**
 * A stream's first bytes that say it is not HTTP/1.x: a TLS handshake record (type 22, version 3.0 to
 * 3.4, a plausible length) holding a ClientHello or ServerHello, an SSL 2.0-format ClientHello, or the
 * HTTP/2 preface (whole, or a strict prefix of it that ends with the segment). Only the first bytes are
 * looked at: 0x16 0x03 later in a stream is body.
 */
export function opaqueStart(b: Uint8Array, s: number, e: number): number {
  if (b[s] === 0x16) {
    if (e - s < 6 || b[s + 1] !== 3 || b[s + 2]! > 4) return NOT_OPAQUE;
    const len = (b[s + 3]! << 8) | b[s + 4]!;
    if (len < 4 || len > TLS_MAX_RECORD) return NOT_OPAQUE;
    return b[s + 5] === 1 ? TLS_CLIENT_HELLO : b[s + 5] === 2 ? TLS_SERVER_HELLO : NOT_OPAQUE;
  }
  if (b[s]! >= 0x80) {
    // A ClientHello in SSL 2.0's record format, as old clients send (RFC 5246 appendix E.2): a 2-byte
    // length with its top bit set, message type 1, then the version (2.0, or 3.0 to 3.4).
    if (e - s < 5 || b[s + 2] !== 1) return NOT_OPAQUE;
    const v = (b[s + 3]! << 8) | b[s + 4]!;
    return v === 2 || (v >= 0x300 && v <= 0x304) ? TLS_CLIENT_HELLO : NOT_OPAQUE;
  }
  if (b[s] !== PREFACE[0]) return NOT_OPAQUE;
  const n = Math.min(e - s, PREFACE.length);
  for (let i = 1; i < n; i++) if (b[s + i] !== PREFACE[i]) return NOT_OPAQUE;
  return n === PREFACE.length ? H2_PREFACE : H2_PREFACE_PART;
}

/**
 * Watches a client stream that began with a strict prefix of the HTTP/2 preface for the rest of it. The
 * pieces seen (all of them bytes of the preface) are kept as lengths and capture times, so that when it
 * turns out not to be the preface they are handed on exactly as they came: a parser resyncing looks at
 * where segments begin. `decided` is called once, before any bytes are handed on.
 */
export class PrefaceWatch implements StreamConsumer {
  /** preface bytes matched so far */
  private got = 0;
  /** the pieces seen: length, capture time, ... */
  private readonly pieces: number[] = [];

  constructor(
    /** where the bytes go if they are not the preface (none: a tunnel's) */
    readonly then: StreamConsumer | undefined,
    private readonly decided: (h2: boolean) => void,
  ) {}

  data(b: Uint8Array, s: number, e: number, ts: number): void {
    let i = s;
    let got = this.got;
    while (i < e && got < PREFACE.length && b[i] === PREFACE[got]) {
      i++;
      got++;
    }
    if (got === PREFACE.length) return this.decided(true); // the rest of b is HTTP/2's
    if (i === e) {
      this.got = got;
      this.pieces.push(e - s, ts);
      return;
    }
    this.notPreface();
    this.then?.data(b, s, e, ts);
  }

  gap(): void {
    this.notPreface();
    this.then?.gap();
  }

  /** The stream ended inside the preface: it was not one. */
  end(): void {
    this.notPreface();
  }

  private notPreface(): void {
    this.decided(false);
    const p = this.pieces;
    let off = 0;
    for (let k = 0; k < p.length; k += 2) {
      this.then?.data(PREFACE, off, off + p[k]!, p[k + 1]!);
      off += p[k]!;
    }
    p.length = 0;
  }
}
