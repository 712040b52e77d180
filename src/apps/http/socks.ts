/**
 * SOCKS-wrapped HTTP: a client that reaches a web server through a SOCKS proxy opens a TCP connection to
 * the proxy, says where it wants to go (SOCKS4: RFC-less but de facto, 4a: with a host name; SOCKS5:
 * RFC 1928, with RFC 1929's user/password), and once the proxy says yes the connection carries the
 * application's bytes unchanged. This recognizes the handshake in each direction on its own (a capture
 * interleaves the directions in capture order, which need not be protocol order), remembers the target,
 * and says where in a direction's bytes the application's stream begins.
 *
 * Each direction's handshake is a few hundred bytes at most; what a side sends before the end of its
 * handshake is kept (up to HANDSHAKE_CAP) and parsed again as it grows, so split segments cost nothing
 * to get right. Anything that is not a CONNECT the proxy granted makes `failed` true: the connection is
 * then not HTTP.
 */
import { formatIPv4, formatIPv6 } from '../../packet/decode/format.js';
import type { StreamConsumer } from '../../packet/flow/tcp-stream.js';

/** Longest handshake kept per direction (SOCKS5 with user/password: 3 + 255 + 255, plus the request). */
const HANDSHAKE_CAP = 1024;
const NEED_MORE = 0;
const INVALID = -1;

/**
 * The first bytes of a client could begin a SOCKS4 CONNECT/BIND or a SOCKS5 method offer (a prefix too
 * short to tell is given the benefit of the doubt: the handshake parser decides with more bytes).
 */
export function socksShaped(b: Uint8Array, s: number, e: number): boolean {
  const n = e - s;
  if (n < 1) return false;
  if (b[s] === 4) {
    if (n >= 2 && b[s + 1] !== 1 && b[s + 1] !== 2) return false;
    if (n < 9) return true;
    for (let i = s + 8; i < e && i < s + 8 + 256; i++) if (b[i] === 0) return true;
    return n < 8 + 256;
  }
  if (b[s] !== 5) return false;
  if (n < 2) return true;
  const methods = b[s + 1]!;
  if (methods === 0 || methods > 16) return false;
  // method numbers: 0-9 assigned by IANA, 0x80-0xfe private; 0xff means "none" and is no offer
  for (let i = s + 2; i < e && i < s + 2 + methods; i++) if (b[i]! > 9 && (b[i]! < 0x80 || b[i] === 0xff)) return false;
  return true;
}

/** One SOCKS connection's handshake, fed both directions. */
export class SocksHandshake {
  /** "socks4", "socks4a" or "socks5", known from the client's first byte */
  version = '';
  /** where the client asked to go: a host name or address (IPv6 in brackets), and ":port" unless 80 */
  target = '';
  /** not a granted CONNECT (or not SOCKS after all) */
  failed = false;
  private readonly clientBuf = new Uint8Array(HANDSHAKE_CAP);
  private clientLen = 0;
  private clientDone = false;
  private readonly serverBuf = new Uint8Array(HANDSHAKE_CAP);
  private serverLen = 0;
  private serverDone = false;

  /**
   * Client bytes b[s, e): returns where the application's bytes begin in them, or -1 while the whole
   * chunk is handshake (or the handshake failed).
   */
  client(b: Uint8Array, s: number, e: number): number {
    if (this.clientDone) return s;
    return this.feed(b, s, e, true);
  }

  /** Proxy-to-client bytes, as `client`. */
  server(b: Uint8Array, s: number, e: number): number {
    if (this.serverDone) return s;
    return this.feed(b, s, e, false);
  }

  private feed(b: Uint8Array, s: number, e: number, fromClient: boolean): number {
    if (this.failed) return -1;
    const buf = fromClient ? this.clientBuf : this.serverBuf;
    const had = fromClient ? this.clientLen : this.serverLen;
    const take = Math.min(e - s, HANDSHAKE_CAP - had);
    buf.set(b.subarray(s, s + take), had);
    const len = had + take;
    const end = fromClient ? this.parseClient(buf, len) : this.parseServer(buf, len);
    if (end === INVALID || (end === NEED_MORE && len === HANDSHAKE_CAP)) {
      this.failed = true;
      return -1;
    }
    if (end === NEED_MORE) {
      if (fromClient) this.clientLen = len;
      else this.serverLen = len;
      return -1;
    }
    if (fromClient) this.clientDone = true;
    else this.serverDone = true;
    return s + (end - had);
  }

  /** Length of the client's whole handshake in buf[0, n), NEED_MORE, or INVALID. */
  private parseClient(buf: Uint8Array, n: number): number {
    if (n < 1) return NEED_MORE;
    if (buf[0] === 4) return this.parseClient4(buf, n);
    if (buf[0] !== 5) return INVALID;
    this.version = 'socks5';
    if (n < 2) return NEED_MORE;
    let p = 2 + buf[1]!;
    if (n <= p) return NEED_MORE;
    if (buf[p] === 1) {
      // RFC 1929 user/password: version 1, ulen, user, plen, password
      if (n < p + 2) return NEED_MORE;
      p += 2 + buf[p + 1]!;
      if (n <= p) return NEED_MORE;
      p += 1 + buf[p]!;
      if (n <= p) return NEED_MORE;
    }
    // the request: 5, command, 0, address type, address, port
    if (n < p + 5) return NEED_MORE;
    if (buf[p] !== 5 || buf[p + 1] !== 1) return INVALID;
    const atyp = buf[p + 3]!;
    const addrLen = atyp === 1 ? 4 : atyp === 4 ? 16 : atyp === 3 ? 1 + buf[p + 4]! : -1;
    if (addrLen < 0) return INVALID;
    const end = p + 4 + addrLen + 2;
    if (n < end) return NEED_MORE;
    const a = p + 4;
    const host =
      atyp === 1
        ? formatIPv4(buf, a)
        : atyp === 4
          ? `[${formatIPv6(buf, a)}]`
          : String.fromCharCode(...buf.subarray(a + 1, a + addrLen));
    this.setTarget(host, (buf[end - 2]! << 8) | buf[end - 1]!);
    return end;
  }

  private parseClient4(buf: Uint8Array, n: number): number {
    this.version = 'socks4';
    if (n < 9) return NEED_MORE;
    if (buf[1] !== 1) return INVALID; // BIND carries a stream the other way round: not followed
    let p = 8;
    while (p < n && buf[p] !== 0) p++; // user id
    if (p >= n) return NEED_MORE;
    p++;
    const port = (buf[2]! << 8) | buf[3]!;
    // SOCKS4a: address 0.0.0.x (x not 0) means a host name follows the user id
    if (buf[4] === 0 && buf[5] === 0 && buf[6] === 0 && buf[7] !== 0) {
      this.version = 'socks4a';
      const start = p;
      while (p < n && buf[p] !== 0) p++;
      if (p >= n) return NEED_MORE;
      this.setTarget(String.fromCharCode(...buf.subarray(start, p)), port);
      return p + 1;
    }
    this.setTarget(formatIPv4(buf, 4), port);
    return p;
  }

  /** Length of the proxy's whole handshake in buf[0, n), NEED_MORE, or INVALID (refused included). */
  private parseServer(buf: Uint8Array, n: number): number {
    if (this.version === 'socks4' || this.version === 'socks4a') {
      if (n < 8) return NEED_MORE;
      return buf[0] === 0 && buf[1] === 0x5a ? 8 : INVALID;
    }
    if (n < 2) return NEED_MORE;
    if (buf[0] !== 5 || (buf[1] !== 0 && buf[1] !== 2)) return INVALID;
    let p = 2;
    if (buf[1] === 2) {
      if (n < 4) return NEED_MORE;
      if (buf[2] !== 1 || buf[3] !== 0) return INVALID;
      p = 4;
    }
    if (n < p + 5) return NEED_MORE;
    if (buf[p] !== 5 || buf[p + 1] !== 0) return INVALID;
    const atyp = buf[p + 3]!;
    const addrLen = atyp === 1 ? 4 : atyp === 4 ? 16 : atyp === 3 ? 1 + buf[p + 4]! : -1;
    if (addrLen < 0) return INVALID;
    const end = p + 4 + addrLen + 2;
    return n < end ? NEED_MORE : end;
  }

  private setTarget(host: string, port: number): void {
    this.target = port === 80 ? host : `${host}:${port}`;
  }
}

/**
 * A stream consumer for one direction of a SOCKS connection: the handshake's bytes go to `socks`, what
 * follows to `inner`. `failed` is called once when the handshake fails, or bytes go missing inside it.
 */
export function behindSocks(
  inner: StreamConsumer,
  socks: SocksHandshake,
  fromClient: boolean,
  failed: () => void,
): StreamConsumer {
  let open = false;
  let dead = false;
  const fail = () => {
    if (dead) return;
    dead = true;
    failed();
  };
  return {
    data(b, s, e, ts) {
      if (socks.failed) return fail(); // (a refusal seen in the other direction ends this one too)
      if (open) return inner.data(b, s, e, ts);
      const p = fromClient ? socks.client(b, s, e) : socks.server(b, s, e);
      if (p < 0) {
        if (socks.failed) fail();
        return;
      }
      open = true;
      if (p < e) inner.data(b, p, e, ts);
    },
    gap() {
      if (open) inner.gap();
      else fail();
    },
  };
}
