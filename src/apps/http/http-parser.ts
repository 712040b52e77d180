/**
 * Incremental HTTP/1.x parsers for one direction of a TCP stream: bytes go in as they are reassembled,
 * requests (client side) and response heads (server side) come out. They find message boundaries the way
 * a server does — request line, header block, then a body framed by Content-Length or chunked encoding —
 * so body bytes are never mistaken for requests. Lines may end in CRLF or a bare LF. Memory is bounded:
 * a request line longer than `maxLine` is reported truncated, header lines are cut at `maxHeaderLine`.
 *
 * Scanning uses Uint8Array.indexOf (native) to find line ends and skips bodies arithmetically, so the
 * per-byte JS work is only on request lines and headers.
 */

export interface ParserLimits {
  /** Longest request line kept whole; longer ones are reported truncated. */
  maxLine: number;
  /** Longest header line kept (the rest of the line is skipped). */
  maxHeaderLine: number;
}

/** Default line limits of the HTTP parsers. */
export const DEFAULT_LIMITS: ParserLimits = { maxLine: 65536, maxHeaderLine: 16384 };

/** A parsed request line and the headers that matter here. */
export interface RequestHead {
  method: string;
  uri: string;
  version: string;
  host: string;
  truncated: boolean;
  /** capture time (seconds, fractional) of the segment holding the first byte of the request line */
  ts: number;
  /** the request asked to switch protocols (Upgrade header) */
  upgrade: boolean;
  /** an odd request line reported anyway (see parseOddRequestLine); `raw` is the line */
  malformed: boolean;
  raw: string;
}

/** A parsed status line. */
export interface ResponseHead {
  status: number;
  version: string;
  ts: number;
}

const LF = 10;
const CR = 13;
const SP = 32;
const HT = 9;

/** RFC 9110 tchar, the characters of a method token. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

const MAX_METHOD = 32;

/**
 * Zero as a double, the first value of fields that hold capture times. V8 stores a field as a small
 * integer until a fraction arrives; then it changes the field's representation, and every object shape and
 * optimised function built on the old one is thrown away: at the first packet, while the hot functions
 * are being compiled. (-0 is 0 to every comparison and sum here, but never a small integer.)
 */
const NO_TIME = -0;

/** Grows up to a cap; holds the line being assembled across segment boundaries. */
const NO_BYTES = new Uint8Array(0);

class LineBuffer {
  // Allocated on first use: most lines arrive whole in one segment and never need the buffer.
  buf = NO_BYTES;
  len = 0;
  append(src: Uint8Array, start: number, end: number, cap: number): void {
    const n = Math.min(end - start, cap - this.len);
    if (n <= 0) return;
    if (this.len + n > this.buf.length) {
      let size = Math.max(256, this.buf.length * 2);
      while (size < this.len + n) size *= 2;
      const next = new Uint8Array(Math.max(256, Math.min(size, cap)));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(src.subarray(start, start + n), this.len);
    this.len += n;
  }
  reset(): void {
    this.len = 0;
    if (this.buf.length > 65536) this.buf = NO_BYTES; // give back memory a huge line took
  }
}

/** Node's native latin1 decoder; it accepts any Uint8Array as `this`. */
const latin1Slice = (
  Buffer.prototype as unknown as { latin1Slice?: (this: Uint8Array, start: number, end: number) => string }
).latin1Slice;

function latin1(b: Uint8Array, start: number, end: number): string {
  if (end - start <= 6) {
    // Methods and versions: building them directly beats any call.
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
  if (latin1Slice) return latin1Slice.call(b, start, end);
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}

/** Shape check of a request-line prefix: 'ok' so far, 'bad' (cannot become a request line). */
function requestPrefixOk(b: Uint8Array, start: number, end: number): boolean {
  // (whitespace before the method and tabs between the words: an odd line, still a request)
  while (start < end && (b[start] === SP || b[start] === HT)) start++;
  let i = start;
  while (i < end && TCHAR[b[i]!]) i++;
  if (i - start > MAX_METHOD) return false;
  if (i === end) return true;
  if (i === start || (b[i] !== SP && b[i] !== HT)) return false;
  // The target: no control characters until the next SP. (A NUL in a target is reported when its line
  // comes whole in one segment, parseOddRequestLine; buffering lines with NULs would hold binary streams.)
  for (i++; i < end; i++) {
    const c = b[i]!;
    if (c === SP || c === HT) break;
    if (c < 0x21 || c === 0x7f) return false;
  }
  return true;
}

/** Parse a complete request line (without its LF, CR already stripped) into `head`; false when it is not one. */
function parseRequestLine(b: Uint8Array, start: number, end: number, head: RequestHead): boolean {
  let i = start;
  while (i < end && TCHAR[b[i]!]) i++;
  if (i === start || i - start > MAX_METHOD || i >= end || b[i] !== SP) return false;
  const methodEnd = i;
  const uriStart = i + 1;
  let j = uriStart;
  while (j < end && b[j] !== SP) {
    const c = b[j]!;
    if (c < 0x21 || c === 0x7f) return false;
    j++;
  }
  if (j === uriStart || j >= end) return false;
  // "HTTP/" DIGIT "." DIGIT and nothing after.
  if (end - (j + 1) !== 8) return false;
  const v = j + 1;
  if (b[v] !== 72 || b[v + 1] !== 84 || b[v + 2] !== 84 || b[v + 3] !== 80 || b[v + 4] !== 47) return false;
  if (!isDigit(b[v + 5]!) || b[v + 6] !== 46 || !isDigit(b[v + 7]!)) return false;
  head.method = internMethod(b, start, methodEnd);
  head.uri = latin1(b, uriStart, j);
  head.version = httpVersion(b, v);
  return true;
}

/**
 * A request line that is not `METHOD SP target SP HTTP/x.y` but still a request a careful analyst wants
 * to see, as servers and other sniffers take it: HTTP/0.9's `GET /` (returns 'HTTP/0.9', not malformed),
 * and, flagged `malformed` with the raw line, a known method alone or with a target only
 * (`POST /HTTP/1.1`), a version in the target's place (`OPTIONS HTTP/1.1`), a broken version
 * (`GET / HTTP/1.`, `GET / JUNK/1.0`), extra words (`CONNECT host:25 / HTTP/1.0`), whitespace before the
 * method, tabs between the words, or control bytes in a target followed by an HTTP version
 * (`GET /a%00<NUL>b HTTP/1.1`). Returns undefined for anything else
 * (binary, prose): that stays a skipped line. So does a line of another protocol that borrowed HTTP's
 * methods (RTSP's `OPTIONS rtsp://cam/ RTSP/1.0`, SIP's `OPTIONS sip:x SIP/2.0`: a version that is not
 * HTTP's), and one whose second word is no request target at all (NATS's `CONNECT {"verbose":false}`,
 * Redis's inline `GET key`).
 */
function parseOddRequestLine(b: Uint8Array, start: number, end: number, head: RequestHead): string | undefined {
  const lineStart = start;
  // Whitespace before the method (servers such as nginx skip it), tabs between the words.
  while (start < end && (b[start] === SP || b[start] === HT)) start++;
  let i = start;
  while (i < end && TCHAR[b[i]!]) i++;
  if (i === start || (i < end && b[i] !== SP && b[i] !== HT)) return undefined;
  const method = internMethod(b, start, i);
  if (!COMMON_METHODS.includes(method)) return undefined;
  let control = false;
  let tab = false;
  for (let k = i; k < end; k++) {
    if (b[k] === HT) tab = true;
    else if (b[k]! < 0x20 || b[k] === 0x7f) control = true;
  }
  let words = latin1(b, i, end)
    .split(/[ \t]+/)
    .filter((w) => w !== '');
  const last = words[words.length - 1] ?? '';
  if (control) {
    // Control bytes (a NUL in the target: an attack's probe) only in a line that ends in an HTTP
    // version: the target is everything between the method and the version. Binary data stays skipped.
    if (words.length < 2 || !HTTP_VERSION.test(last)) return undefined;
    words = [words.slice(0, -1).join(' '), last];
  }
  // HTTP's name in any case (`http/1.1`, which servers refuse and tshark reports as it is): HTTP's version
  const httpWord = last.length >= 5 && last.slice(0, 5).toUpperCase() === 'HTTP/';
  // Another protocol's version (RTSP/1.0, SIP/2.0) after a method those protocols share with HTTP
  // (OPTIONS): their line. After one only HTTP has (GET, POST, ...), an HTTP request with a bad version.
  if (OTHER_VERSION.test(last) && !httpWord && (method === 'OPTIONS' || words.length !== 2)) {
    return undefined;
  }
  const hasVersion = words.length >= 1 && (httpWord || (words.length === 2 && OTHER_VERSION.test(last)));
  const target = hasVersion ? (words.length >= 2 ? words[0]! : '') : (words[0] ?? '');
  if (target !== '' && !TARGET_SHAPE.test(target)) return undefined;
  head.method = method;
  head.raw = latin1(b, lineStart, end);
  if (words.length === 1 && method === 'GET' && !httpWord && lineStart === start && !tab && !control) {
    head.uri = words[0]!;
    head.version = 'HTTP/0.9';
    return head.version;
  }
  head.malformed = true;
  head.version = hasVersion ? last : '';
  head.uri = target;
  return 'malformed';
}

/** A protocol version as the last word of a request line: `NAME/digit...` (HTTP/1.1, RTSP/1.0, SIP/2.0). */
const OTHER_VERSION = /^[A-Z][A-Z0-9-]*\/\d/;

/** A whole HTTP version word. */
const HTTP_VERSION = /^HTTP\/\d\.\d$/i;

/**
 * `METHOD SP target SP NAME/x.y` with a NAME that is not HTTP: a line of RTSP, SIP or another protocol
 * built on HTTP's syntax.
 */
function otherProtocolLine(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && b[i]! >= 65 && b[i]! <= 90) i++;
  if (i === start || b[i] !== SP) return false;
  const words = latin1(b, i + 1, end).split(' ');
  const last = words[words.length - 1]!;
  return words.length === 2 && words[0] !== '' && OTHER_VERSION.test(last) && !last.startsWith('HTTP/');
}

/**
 * What a request target can look like (RFC 9112 3.2): a path (origin-form), `*`, a URI with a scheme
 * (absolute-form), or host:port (authority-form, CONNECT's).
 */
const TARGET_SHAPE = /^(?:\/|\*$|[A-Za-z][A-Za-z0-9+.-]*:|[A-Za-z0-9.-]+:\d+$|\[[0-9A-Fa-f:.]+\]:\d+$)/;

/**
 * How far a line is scanned in JavaScript before a native search takes over: HTTP's lines are mostly a
 * few dozen bytes, for which the loop costs less than the call into indexOf.
 */
const JS_SCAN = 96;

/** Index of the first LF in b[p, end), or -1 (b may hold more data past `end`: never look there). */
function findLF(b: Uint8Array, p: number, end: number): number {
  const lim = end - p > JS_SCAN ? p + JS_SCAN : end;
  for (let i = p; i < lim; i++) if (b[i] === LF) return i;
  // (also when lim is end: a branch first taken after optimisation would throw the code away)
  return findByte(b, LF, lim, end);
}

function findByte(b: Uint8Array, c: number, p: number, end: number): number {
  // Native memchr-speed search. It may look past `end` (the rest of the capture chunk) before giving up,
  // which costs far less than bounding it with a new view per call; the result is checked against `end`.
  const i = b.indexOf(c, p);
  return i !== -1 && i < end ? i : -1;
}

/** A line that is one word and nothing else, as a probe or another protocol's command is (`HELLO`, `QUIT`). */
function bareWord(b: Uint8Array, start: number, end: number): boolean {
  if (end - start < 2 || end - start > MAX_METHOD) return false;
  for (let i = start; i < end; i++) {
    const c = b[i]! | 32;
    if (c >= 97 && c <= 122) continue;
    if (i === start || !(isDigit(b[i]!) || b[i] === 45 || b[i] === 95)) return false;
  }
  return true;
}

/** Whether b[start, end) is a request line, odd or not (parsed into a head of its own: nothing changes). */
function endsRequestLine(b: Uint8Array, start: number, end: number): boolean {
  return parseRequestLine(b, start, end, SCRATCH) || parseOddRequestLine(b, start, end, SCRATCH) !== undefined;
}
/**
 * An empty request head. Every head is made here — the same fields in the same order, and a double ts —
 * so V8 sees one object shape wherever heads go.
 */
function emptyRequestHead(): RequestHead {
  return {
    method: '',
    uri: '',
    version: '',
    host: '',
    truncated: false,
    ts: NO_TIME,
    upgrade: false,
    malformed: false,
    raw: '',
  };
}
const SCRATCH: RequestHead = emptyRequestHead();

const LF_ONLY = new Uint8Array([LF]);
/** RequestParser's copy of bytes with bare CRs made LFs, shared (feedCr), and whether a feed is using it. */
let crCopy = NO_BYTES;
let crCopyBusy = false;
const CR_ONLY = new Uint8Array([CR]);

const COMMON_METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'];

/** The method token as a string; the common ones without building a new string each time. */
function internMethod(b: Uint8Array, start: number, end: number): string {
  const n = end - start;
  outer: for (const m of COMMON_METHODS) {
    if (m.length !== n) continue;
    for (let i = 0; i < n; i++) if (b[start + i] !== m.charCodeAt(i)) continue outer;
    return m;
  }
  return latin1(b, start, end);
}

/** "HTTP/x.y" at b[v] (already validated): HTTP/1.1 and HTTP/1.0 as shared strings. */
function httpVersion(b: Uint8Array, v: number): string {
  if (b[v + 5] === 49 && b[v + 7] === 49) return 'HTTP/1.1';
  if (b[v + 5] === 49 && b[v + 7] === 48) return 'HTTP/1.0';
  return latin1(b, v, v + 8);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Lower-case ASCII compare of a header name at b[start, start+name.length). */
function nameIs(b: Uint8Array, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let k = 0; k < name.length; k++) {
    let c = b[start + k]!;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== name.charCodeAt(k)) return false;
  }
  return true;
}

/** Where a header value starts and ends without its surrounding spaces and tabs (two calls: no tuple). */
function valueStart(b: Uint8Array, start: number, end: number): number {
  while (start < end && (b[start] === SP || b[start] === HT)) start++;
  return start;
}
function valueEnd(b: Uint8Array, start: number, end: number): number {
  while (end > start && (b[end - 1] === SP || b[end - 1] === HT)) end--;
  return end;
}

/** A decimal number, or -1 when not one (or absurdly large). */
function decimal(b: Uint8Array, start: number, end: number): number {
  // Leading zeros are digits like any other to a server ("0000000000000000005" is 5): a length refused
  // for its width alone would make the body look like the next request and hide the one after it.
  while (end - start > 1 && b[start] === 48) start++;
  if (start >= end || end - start > 15) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** Hex chunk size at the start of a chunk-size line (extensions after ';' ignored); -1 when invalid. */
function chunkSize(b: Uint8Array, start: number, end: number): number {
  let n = 0;
  let digits = 0;
  let i = start;
  while (i < end && (b[i] === SP || b[i] === HT)) i++;
  for (; i < end; i++) {
    const c = b[i]!;
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else break;
    if (++digits > 13) return -1;
    n = n * 16 + d;
  }
  if (digits === 0) return -1;
  return n;
}

/** Whether the last transfer-coding of a Transfer-Encoding value is "chunked". */
function endsWithChunked(b: Uint8Array, start: number, end: number): boolean {
  const v = latin1(b, start, end).toLowerCase();
  const parts = v.split(',');
  return parts[parts.length - 1]!.trim() === 'chunked';
}

const enum St {
  /** At a message start: skipping empty lines, then the start line. */
  Start,
  /** Inside a start line that is being buffered. */
  Line,
  /** Skipping to the end of a line that cannot be used (garbage, or the rest of an over-long line). */
  SkipLine,
  Headers,
  Body,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  /** Body delimited by the end of the connection (responses without a length). */
  UntilClose,
  /** After CONNECT / a protocol switch: not HTTP any more. */
  Tunnel,
}

/**
 * What the bytes at the next message start may be instead of a message (only looked at while `resync` is
 * set, so the usual path pays nothing for it).
 */
const enum StartMode {
  None,
  /** after a CONNECT: bytes that do not begin like a request are the tunnel's (sent before the answer) */
  TunnelUnlessHttp,
  /** after a body the server declined (Expect: 100-continue answered with a final status): the body after all */
  BodyUnlessHttp,
}

/** MessageParser.resyncAt's answers besides a place to return: start the message as usual / read a body. */
const START_MESSAGE = -1;
const RESYNCED = -2;

/** Fields common to both directions: line assembly, header block, body framing. */
abstract class MessageParser {
  protected st = St.Start;
  protected line = new LineBuffer();
  protected headerLine = new LineBuffer();
  protected remaining = 0;
  /** ts of the segment holding the current message's first byte */
  protected msgTs = NO_TIME;
  protected contentLength = -1;
  protected chunked = false;
  protected badLength = false;
  /** anomalies: garbage lines skipped, bad framing */
  anomalies = 0;
  /** set when the stream's start or a stretch of it is missing: wait for a segment that starts a message */
  resync = false;
  /** bytes skipped as non-HTTP (resync) */
  skipped = 0;
  /** see StartMode; `resync` is set with it */
  protected startMode = StartMode.None;

  constructor(protected readonly limits: ParserLimits) {}

  /**
   * Feed bytes b[start, end) that arrived in a segment captured at `ts` (seconds). Returns how far it
   * consumed: `end`, or less when `holdAtStart()` asked to stop before the next message (the caller keeps
   * the rest and feeds it again later).
   */
  feed(b: Uint8Array, start: number, end: number, ts: number): number {
    let p = start;
    while (p < end) {
      switch (this.st) {
        case St.Start: {
          const entered = p;
          while (p < end && (b[p] === CR || b[p] === LF)) p++;
          if (p === end) return end;
          if (this.resync) {
            const r = this.resyncAt(b, p, end, start, entered);
            if (r === RESYNCED) {
              // (the bytes from `entered` on are the declined body's after all)
              p = entered;
              break;
            }
            if (r !== START_MESSAGE) return r;
          }
          if (this.holdAtStart()) return p;
          this.msgTs = ts;
          this.line.reset();
          this.st = St.Line;
          break;
        }
        case St.Line: {
          const nl = findLF(b, p, end);
          const stop = nl < 0 ? end : nl;
          if (this.line.len === 0 && nl >= 0 && stop - p <= this.limits.maxLine) {
            // Whole line in this chunk: no copy.
            this.lineEndAt = nl;
            // (true: the line ends in a bare CR, and the stream is read again from here with CR line ends)
            if (this.startLine(b, p, stop > p && b[stop - 1] === CR ? stop - 1 : stop)) return p;
            p = nl + 1;
            break;
          }
          const r = this.lineAcross(b, p, nl, end);
          if (r < 0) return ~r;
          p = r;
          break;
        }
        case St.SkipLine: {
          const nl = findLF(b, p, end);
          if (nl < 0) {
            this.skipped += end - p;
            return end;
          }
          p = nl + 1;
          this.st = this.afterSkip;
          this.afterSkip = St.Start;
          break;
        }
        case St.Headers:
        case St.Trailers: {
          if (this.headerLine.len === 0) {
            // A line that starts here: its LF and first colon in one pass (a short line is looked at
            // once, with no call into native code), else a native search for each.
            const lim = end - p > JS_SCAN ? p + JS_SCAN : end;
            // The name up to its colon, then the value to the LF four bytes a step: V8 checks the
            // array's shape and the stack once per step, which costs more than the byte compared.
            let i = p;
            while (i < lim && b[i] !== 58 && b[i] !== LF) i++;
            let colon = -1;
            if (i < lim && b[i] === 58) {
              colon = i++;
              // First the bytes that make what is left before lim a whole number of steps, one at a time
              // (the loop that ran after the steps, for the last few bytes, ran on few lines: V8 found it
              // with no feedback once feed was optimised, and threw that code away to compile feed again).
              for (let k = (lim - i) & 3; k > 0 && b[i] !== LF; k--) i++;
              for (; i < lim; i += 4) {
                if (b[i] === LF) break;
                if (b[i + 1] === LF) {
                  i += 1;
                  break;
                }
                if (b[i + 2] === LF) {
                  i += 2;
                  break;
                }
                if (b[i + 3] === LF) {
                  i += 3;
                  break;
                }
              }
            }
            const nl = i < lim ? i : lim < end ? findByte(b, LF, lim, end) : -1;
            if (nl >= 0) {
              const lineStart = p;
              const cut = lineStart + this.limits.maxHeaderLine;
              let lineEnd = nl > p && b[nl - 1] === CR ? nl - 1 : nl;
              if (lineEnd > cut) lineEnd = cut;
              if (colon < 0 && i === lim && lim < lineEnd) colon = findByte(b, 58, lim, lineEnd);
              if (colon >= lineEnd) colon = -1;
              p = nl + 1;
              this.headerLineDone(b, lineStart, lineEnd, colon);
              break;
            }
          }
          p = this.headerAcross(b, p, end);
          break;
        }
        case St.Body: {
          const n = Math.min(this.remaining, end - p);
          p += n;
          this.remaining -= n;
          if (this.remaining === 0) this.messageDone();
          break;
        }
        case St.ChunkSize:
          p = this.chunkSizeLine(b, p, end);
          break;
        case St.ChunkData: {
          const n = Math.min(this.remaining, end - p);
          p += n;
          this.remaining -= n;
          if (this.remaining === 0) this.st = St.ChunkDataEnd;
          break;
        }
        case St.ChunkDataEnd: {
          // The CRLF (or LF) after a chunk's data.
          if (b[p] === CR) {
            p++;
            break;
          }
          if (b[p] === LF) p++;
          else this.anomalies++;
          this.st = St.ChunkSize;
          break;
        }
        case St.UntilClose:
        case St.Tunnel:
          return end;
      }
    }
    return end;
  }

  // The paths below are feed's, taken out of it (feed's bytecode: 2,608 bytes before, 1,290 after). feed
  // runs for every segment and is the largest function V8 optimises on a capture's path (~25 ms of a
  // compiler thread's CPU per compile, usually twice); these run on few streams (a lost place, lines cut by
  // a segment's end, chunked bodies), and V8 inlines only calls it has seen often, so out here they are no
  // part of feed's compile. (The first of them to run after feed is optimised still throws its code away
  // when that call never ran before: V8 has no feedback for it. The compile after that is smaller too.)

  /**
   * St.Start with `resync` set, at p (the message's first byte, line ends before it skipped from
   * `entered`): START_MESSAGE to start the message at p as usual, RESYNCED when the bytes from `entered`
   * on are a declined body after all (resumeBody has set the state), or where feed returns.
   */
  private resyncAt(b: Uint8Array, p: number, end: number, start: number, entered: number): number {
    const mode = this.startMode;
    if (mode !== StartMode.None) {
      // (after a CONNECT the flow may keep the client's bytes until the server's answer tells a
      // tunnel from a refusal: a capture can hold the tunnel's first bytes before that answer)
      if (mode === StartMode.TunnelUnlessHttp && this.holdAtStart()) return p;
      this.resync = false;
      // (TunnelUnlessHttp stays until the line is read: a line that is no request is the tunnel's)
      if (mode === StartMode.BodyUnlessHttp) this.startMode = StartMode.None;
      // (a request does not begin with a line end there: a body may)
      if ((mode === StartMode.BodyUnlessHttp && p !== entered) || !this.startsMessage(b, p, end)) {
        if (mode === StartMode.TunnelUnlessHttp) {
          this.startMode = StartMode.None;
          this.st = St.Tunnel;
          return end;
        }
        // The declined body was sent after all: its bytes (line ends included) are body.
        this.resumeBody();
        return RESYNCED;
      }
    } else {
      // Lost our place (capture started mid-connection, or a hole): only a segment that begins
      // with a message start is trusted; the rest of any other segment could be body bytes.
      if (entered !== start || !this.startsMessage(b, p, end)) {
        this.skipped += end - p;
        return end;
      }
      this.resync = false;
    }
    return START_MESSAGE;
  }

  /**
   * St.Line for a start line that is not whole at p (cut by the segment's end, begun in an earlier
   * segment, or longer than the cap); `nl`: the LF after p, or -1. Returns where feed goes on (end: it
   * is done), or ~q when it stops before q.
   */
  private lineAcross(b: Uint8Array, p: number, nl: number, end: number): number {
    const stop = nl < 0 ? end : nl;
    if (this.bareCrIn(b, p, stop)) return ~p;
    this.line.append(b, p, stop, this.limits.maxLine + 1);
    if (!this.linePrefixOk(this.line.buf, 0, this.line.len)) {
      if (this.startMode === StartMode.TunnelUnlessHttp) {
        // the first bytes after a CONNECT, and not a request: the tunnel's
        this.startMode = StartMode.None;
        this.line.reset();
        this.st = St.Tunnel;
        return end;
      }
      // Cannot become a start line (garbage, binary, a body seen mid-connection): skip the line.
      this.anomalies++;
      this.skipped += this.line.len;
      this.line.reset();
      this.st = nl < 0 ? St.SkipLine : St.Start;
      return nl < 0 ? end : nl + 1;
    }
    if (this.line.len > this.limits.maxLine) {
      this.overlongLine(); // sets SkipLine and what follows it
      if (nl < 0) return end;
      this.st = this.afterSkip;
      this.afterSkip = St.Start;
      return nl + 1;
    }
    if (nl < 0) return end;
    let lineEnd = this.line.len;
    if (lineEnd > 0 && this.line.buf[lineEnd - 1] === CR) lineEnd--;
    this.lineEndAt = nl;
    this.startLine(this.line.buf, 0, lineEnd);
    return nl + 1;
  }

  /** St.Headers / St.Trailers for a line not whole at p (or begun in an earlier segment): where feed goes on. */
  private headerAcross(b: Uint8Array, p: number, end: number): number {
    const nl = findLF(b, p, end);
    const stop = nl < 0 ? end : nl;
    // Header lines longer than the cap keep only their start (all we need is a name and a short value).
    this.headerLine.append(b, p, stop, this.limits.maxHeaderLine);
    if (nl < 0) return end;
    let lineEnd = this.headerLine.len;
    if (lineEnd > 0 && this.headerLine.buf[lineEnd - 1] === CR) lineEnd--;
    this.headerLine.len = 0;
    this.headerLineDone(this.headerLine.buf, 0, lineEnd, findByte(this.headerLine.buf, 58, 0, lineEnd));
    return nl + 1;
  }

  /** St.ChunkSize at p: the chunk size line (maybe in pieces); where feed goes on. */
  private chunkSizeLine(b: Uint8Array, p: number, end: number): number {
    const nl = findLF(b, p, end);
    const stop = nl < 0 ? end : nl;
    this.headerLine.append(b, p, stop, 256);
    if (nl < 0) return end;
    const size = chunkSize(this.headerLine.buf, 0, this.headerLine.len);
    this.headerLine.len = 0;
    this.expectPending = false;
    if (size < 0) {
      this.anomalies++;
      this.lostFraming();
    } else if (size === 0) this.st = St.Trailers;
    else {
      this.remaining = size;
      this.st = St.ChunkData;
    }
    return nl + 1;
  }

  protected afterSkip = St.Start;
  /** where, in the bytes being fed, the LF that ends the line given to startLine is */
  protected lineEndAt = 0;
  /**
   * The message sent `Expect: 100-continue` and none of its body has come yet (Body: `remaining` is still
   * the whole length; ChunkSize: no chunk size line yet).
   */
  protected expectPending = false;
  /** the declined body's length (-1: chunked), for resumeBody */
  private declined = 0;

  /**
   * The other side answered the message with a final status before its body came: a client that sent
   * `Expect: 100-continue` then skips the body (RFC 9110 10.1.1), so what it sends next is the next
   * request. If it sends the body anyway, the bytes do not begin like a request and are read as the body
   * (resumeBody). Without this the next request would be swallowed as the body.
   */
  declineBody(): void {
    if (!this.expectPending) return;
    this.expectPending = false;
    if (this.st === St.Body && this.remaining === this.contentLength) this.declined = this.remaining;
    else if (this.st === St.ChunkSize && this.headerLine.len === 0) this.declined = -1;
    else return;
    this.messageDone();
    this.startMode = StartMode.BodyUnlessHttp;
    this.resync = true;
  }

  private resumeBody(): void {
    if (this.declined < 0) {
      this.st = St.ChunkSize;
      this.headerLine.len = 0;
    } else {
      this.remaining = this.declined;
      this.contentLength = this.declined;
      this.st = St.Body;
    }
  }

  /** Whether to stop before starting a new message (the response side waits for its request). */
  protected holdAtStart(): boolean {
    return false;
  }

  /** A whole header (or trailer) line b[start, end); `colon`: where its first ':' is, or -1. */
  private headerLineDone(b: Uint8Array, start: number, end: number, colon: number): void {
    if (start === end) {
      if (this.st === St.Trailers) {
        this.messageDone();
        return;
      }
      this.headEnd();
      return;
    }
    if (this.st === St.Trailers) return;
    if (colon < 0) {
      this.anomalies++;
      return;
    }
    this.header(b, start, colon, colon + 1, end);
  }

  /** Common framing headers; subclasses add their own by overriding and calling super. */
  protected header(b: Uint8Array, ns: number, ne: number, vs: number, ve: number): void {
    const len = ne - ns;
    if (len !== 14 && len !== 17) return; // neither content-length nor transfer-encoding: nothing to do
    const s = valueStart(b, vs, ve);
    const e = valueEnd(b, s, ve);
    if (nameIs(b, ns, ne, 'content-length')) {
      const n = decimal(b, s, e);
      if (n < 0 || (this.contentLength >= 0 && this.contentLength !== n)) this.badLength = true;
      else this.contentLength = n;
    } else if (nameIs(b, ns, ne, 'transfer-encoding')) {
      this.chunked = endsWithChunked(b, s, e);
    }
  }

  /** Start the body (or the next message) after the header block. */
  protected beginBody(hasBody: boolean): void {
    if (!hasBody) return this.messageDone();
    if (this.chunked) {
      this.st = St.ChunkSize;
      this.headerLine.len = 0;
    } else if (this.contentLength > 0) {
      this.remaining = this.contentLength;
      this.st = St.Body;
    } else this.messageDone();
  }

  protected messageDone(): void {
    this.st = St.Start;
    this.contentLength = -1;
    this.chunked = false;
    this.badLength = false;
  }

  protected beginHeaders(): void {
    this.st = St.Headers;
    this.headerLine.len = 0;
    this.contentLength = -1;
    this.chunked = false;
    this.badLength = false;
  }

  /** Framing cannot be trusted any more: look for the next start line. */
  protected lostFraming(): void {
    this.messageDone();
  }

  /** A hole in the stream: whatever was in progress is finished as well as it can be. */
  gap(): void {
    if (this.st === St.Tunnel) return;
    this.resync = true;
    // (after a CONNECT, what follows the hole is still a request or the tunnel's; a declined body's
    // place is lost with the bytes)
    if (this.startMode === StartMode.BodyUnlessHttp) this.startMode = StartMode.None;
    this.expectPending = false;
    this.flushPartial(true);
    this.line.reset();
    this.headerLine.len = 0;
    this.messageDone();
  }

  /** The stream ended (FIN/RST/end of capture). */
  end(): void {
    this.flushPartial(false);
  }

  get tunnel(): boolean {
    return this.st === St.Tunnel;
  }

  protected abstract linePrefixOk(b: Uint8Array, start: number, end: number): boolean;
  /** Whether b[p, end) (the start of a segment) begins like a message of this direction. */
  protected abstract startsMessage(b: Uint8Array, p: number, end: number): boolean;
  /**
   * A whole start line (its line end stripped). True asks feed to stop before it (feed returns the line's
   * start): the request side does when the line turns out to end in a bare CR (RequestParser.feed).
   */
  protected abstract startLine(b: Uint8Array, start: number, end: number): boolean;
  /**
   * Before the piece b[p, stop) of a start line is buffered: true when it shows the line ended in a bare
   * CR (feed then stops before the piece, as startLine's true makes it).
   */
  protected bareCrIn(_b: Uint8Array, _p: number, _stop: number): boolean {
    return false;
  }
  protected abstract overlongLine(): void;
  protected abstract headEnd(): void;
  /** Finish what was in progress; `lost`: bytes of the stream are missing here (a gap), not just over. */
  protected abstract flushPartial(lost: boolean): void;
}

/** Where a RequestParser reports requests. */
export interface RequestSink {
  /** A request head, valid during the call only: the parser reuses the object for the next request. */
  request(head: RequestHead): void;
  /**
   * The stream's first line is another protocol's that borrowed HTTP's syntax (RTSP, SIP: a method, a
   * target, and a version that is not HTTP's). The parser passes over the rest of the stream (tunnel).
   */
  otherProtocol?(): void;
}

/** Client-to-server direction: finds request lines, Host, and skips request bodies. */
export class RequestParser extends MessageParser {
  /** The head being read (one object per parser, reused), and whether one is open. */
  private readonly head: RequestHead = emptyRequestHead();
  private open = false;
  /** the open request has an Expect header */
  private expectContinue = false;
  /** a request line was read on this stream (another protocol's line after it is garbage, not a switch) */
  private seenRequest = false;

  constructor(
    limits: ParserLimits,
    private readonly sink: RequestSink,
  ) {
    super(limits);
  }

  protected linePrefixOk(b: Uint8Array, start: number, end: number): boolean {
    return requestPrefixOk(b, start, end);
  }

  protected startsMessage(b: Uint8Array, p: number, end: number): boolean {
    // A method token as clients send them (capital letters, '-', '_'), then a space or the segment's end.
    let k = p;
    while (k < end && k - p <= MAX_METHOD && ((b[k]! >= 65 && b[k]! <= 90) || b[k] === 45 || b[k] === 95)) k++;
    return k > p && k - p <= MAX_METHOD && (k === end || b[k] === SP);
  }

  protected startLine(b: Uint8Array, start: number, end: number): boolean {
    const head = this.head;
    head.malformed = false;
    let ok = parseRequestLine(b, start, end, head);
    let simple = false;
    if (!ok) {
      // A CR before the LF that ended the line is a bare CR (the line's own CR was stripped): a client
      // that ends lines with CR alone when what comes before it is a request line. (Only where the line
      // did not parse: a CR can be in no line that does.)
      if (!this.crMode && b !== this.line.buf) {
        const cr = findByte(b, CR, start, end);
        if (cr >= 0 && endsRequestLine(b, start, cr)) {
          this.switchToCr(undefined);
          return true;
        }
      }
      const odd = parseOddRequestLine(b, start, end, head);
      ok = odd !== undefined;
      simple = odd === 'HTTP/0.9';
    }
    if (this.crMode && ok && this.crOrig[this.crOff + this.lineEndAt] === CR) {
      // this line ended in a bare CR: an odd line
      head.malformed = true;
      head.raw = latin1(b, start, end);
    }
    this.line.reset();
    if (this.startMode === StartMode.TunnelUnlessHttp) {
      // the first line after a CONNECT: a request, or the start of the tunnel's payload
      this.startMode = StartMode.None;
      if (!ok) {
        this.st = St.Tunnel;
        return false;
      }
    }
    if (!ok && !this.seenRequest && this.sink.otherProtocol && otherProtocolLine(b, start, end)) {
      this.st = St.Tunnel;
      this.sink.otherProtocol();
      return false;
    }
    if (!ok) {
      this.anomalies++;
      this.skipped += end - start;
      this.st = St.Start;
      // A bare word (`HELLO`): a request to libhtp, nothing to tshark. Kept until the connection shows it
      // is HTTP — a request follows it, or the server answers it with an HTTP error (answeredMidLine) —
      // and reported then, malformed: alone it is as likely another protocol's command (SMTP's QUIT).
      // (not after a body whose framing was lost: its lines are read as start lines, and a word there is
      // body text)
      this.word = !this.framingLost && bareWord(b, start, end) ? latin1(b, start, end) : '';
      this.wordTs = this.msgTs;
      return false;
    }
    if (this.word !== '') this.reportWord();
    this.framingLost = false;
    this.seenRequest = true;
    this.expectContinue = false;
    head.host = '';
    if (simple) {
      // HTTP/0.9: the line is the whole request (no headers, no body)
      head.truncated = false;
      head.ts = this.msgTs;
      head.upgrade = false;
      this.sink.request(head);
      this.messageDone();
      return false;
    }
    head.truncated = false;
    head.ts = this.msgTs;
    head.upgrade = false;
    this.open = true;
    this.beginHeaders();
    return false;
  }

  /** The bare word kept (startLine), now that the connection showed it is HTTP: a malformed request. */
  private reportWord(): void {
    const w = this.word;
    this.word = '';
    const head = (this.wordHead ??= emptyRequestHead());
    head.malformed = true;
    head.method = w;
    head.raw = w;
    head.ts = this.wordTs;
    this.seenRequest = true;
    this.sink.request(head);
  }
  /** a bare word line (see startLine), '' when the last line was none */
  private word = '';
  /** a body's framing was lost since the last request line: the lines read now may be body text */
  private framingLost = false;

  protected override lostFraming(): void {
    this.framingLost = true;
    super.lostFraming();
  }
  private wordTs = NO_TIME;
  private wordHead: RequestHead | undefined;

  // Bare CR line ends (`GET / HTTP/1.1<CR>Host: x<CR><CR>`): tshark and libhtp end a line at a CR that no
  // LF follows, and so does this parser once a request line showed one: from there on the stream is fed
  // as a copy with each bare CR made an LF (byte for byte, so body lengths still frame), and requests
  // whose line ended so are reported malformed. Streams that never show one pay nothing per byte.
  /** the stream ends lines in bare CRs */
  private crMode = false;
  /** startLine or bareCrIn found the first bare CR: feed stopped before the line to read it again */
  private crSwitched = false;
  /** the line's bytes buffered from earlier segments, to be read again in crMode */
  private crPrior: Uint8Array | undefined;
  /** the last byte fed in crMode was a CR: whether an LF follows is known only with the next bytes */
  private crPending = false;
  /** the original bytes of what crMode feeds, and where they start (line ends are looked up there) */
  private crOrig: Uint8Array = NO_BYTES;
  private crOff = 0;

  private switchToCr(prior: Uint8Array | undefined): void {
    this.crSwitched = true;
    this.crPrior = prior;
    this.line.reset();
    this.st = St.Start;
  }

  protected override bareCrIn(b: Uint8Array, p: number, stop: number): boolean {
    if (this.crMode) return false;
    const len = this.line.len;
    let line: Uint8Array | undefined;
    if (len > 0 && this.line.buf[len - 1] === CR && p < stop) {
      // what is buffered ends in a CR, and this piece does not begin with its LF
      line = this.line.buf.subarray(0, len - 1);
    } else {
      // a CR inside the piece (one at its end waits for the next bytes: its LF may come there)
      const i = findByte(b, CR, p, stop);
      if (i < 0 || i + 1 >= stop) return false;
      line = new Uint8Array(len + i - p);
      line.set(this.line.buf.subarray(0, len));
      line.set(b.subarray(p, i), len);
    }
    // (binary bytes with a CR in them are no client using CR line ends)
    if (!endsRequestLine(line, 0, line.length)) return false;
    this.switchToCr(this.line.buf.slice(0, len));
    return true;
  }

  override feed(b: Uint8Array, start: number, end: number, ts: number): number {
    if (this.crMode) return this.feedCr(b, start, end, ts);
    const p = super.feed(b, start, end, ts);
    if (!this.crSwitched) return p;
    this.crSwitched = false;
    this.crMode = true;
    const prior = this.crPrior;
    this.crPrior = undefined;
    if (prior !== undefined && prior.length > 0) {
      const r = this.feedCr(prior, 0, prior.length, this.msgTs);
      // (only a CONNECT's wait stops a feed early: what it held of a line cut by that is lost, and counted)
      if (r < prior.length) {
        this.skipped += prior.length - r;
        this.anomalies++;
      }
    }
    return this.feedCr(b, p, end, ts);
  }

  /** Feed b[start, end) with each bare CR made an LF (offsets are kept: the return maps back to b). */
  private feedCr(b: Uint8Array, start: number, end: number, ts: number): number {
    if (start >= end) return end;
    if (this.crPending) {
      this.crPending = false;
      const st = this.st;
      // the CR that ended the last bytes was a bare one: end the line it was in
      if (b[start] !== LF && st !== St.Body && st !== St.ChunkData && st !== St.UntilClose && st !== St.Tunnel) {
        this.crOrig = CR_ONLY;
        this.crOff = 0;
        super.feed(LF_ONLY, 0, 1, ts);
      }
    }
    const n = end - start;
    // One copy buffer for all parsers (a copy per connection could add up to a segment's size times the
    // connections); a feed re-entered from a sink, the flow draining held bytes, must not write over the
    // outer's copy: it gets its own.
    const busy = crCopyBusy;
    let c = crCopy;
    if (busy) c = new Uint8Array(n);
    else if (c.length < n) c = crCopy = new Uint8Array(Math.max(n, 2048));
    for (let i = 0; i < n; i++) {
      const x = b[start + i]!;
      c[i] = x === CR && i + 1 < n && b[start + i + 1] !== LF ? LF : x;
    }
    this.crPending = b[end - 1] === CR;
    const origWas = this.crOrig;
    const offWas = this.crOff;
    this.crOrig = b;
    this.crOff = start;
    crCopyBusy = true;
    let r: number;
    try {
      r = super.feed(c, 0, n, ts);
    } finally {
      crCopyBusy = busy;
    }
    this.crOrig = origWas;
    this.crOff = offWas;
    if (r < n) this.crPending = false; // the rest is fed again later
    return start + r;
  }

  override gap(): void {
    this.crPending = false;
    this.word = '';
    super.gap();
  }

  protected overlongLine(): void {
    // The line passed the cap: report what we have (method and the first part of the URI) as truncated.
    const b = this.line.buf;
    const n = Math.min(this.line.len, this.limits.maxLine);
    let i = 0;
    while (i < n && TCHAR[b[i]!]) i++;
    const head = this.head;
    head.method = latin1(b, 0, i);
    head.uri = latin1(b, i + 1, n);
    head.version = '';
    head.host = '';
    head.truncated = true;
    head.malformed = false;
    head.ts = this.msgTs;
    head.upgrade = false;
    this.open = true;
    this.line.reset();
    // The rest of the line is skipped, then headers are read as usual.
    this.beginHeaders();
    this.st = St.SkipLine;
    this.afterSkip = St.Headers;
  }

  protected override header(b: Uint8Array, ns: number, ne: number, vs: number, ve: number): void {
    const len = ne - ns;
    if (len !== 4 && len !== 6 && len !== 7 && len !== 14 && len !== 17) return; // not host/expect/upgrade/framing
    if (len === 6) {
      // (100-continue is the only expectation defined)
      if (this.open && nameIs(b, ns, ne, 'expect')) this.expectContinue = true;
      return;
    }
    if (this.open && this.head.host === '' && nameIs(b, ns, ne, 'host')) {
      const s = valueStart(b, vs, ve);
      this.head.host = this.hostText(b, s, valueEnd(b, s, ve));
      return;
    }
    if (this.open && nameIs(b, ns, ne, 'upgrade')) this.head.upgrade = true;
    super.header(b, ns, ne, vs, ve);
  }

  protected headEnd(): void {
    const req = this.head;
    // (not open: the request was reported when the server answered before its line ended)
    const report = this.open;
    this.open = false;
    if (report) this.sink.request(req);
    // The answer was captured first and held: reporting the request let it through, and a 2xx to a
    // CONNECT or a 101 made this stream the tunnel's already (toTunnel). It stays so.
    if (this.st === St.Tunnel) return;
    if (req.method === 'CONNECT') {
      // The tunnel opens when the server agrees (a 2xx: the flow calls toTunnel). Until then bytes that
      // begin like a request are one: a refused CONNECT leaves an HTTP connection (a 407's retry with
      // credentials, a GET after a 405); anything else is the tunnel's payload sent early.
      this.messageDone();
      this.startMode = StartMode.TunnelUnlessHttp;
      this.resync = true;
      return;
    }
    this.expectPending = this.expectContinue;
    if (this.badLength) {
      this.anomalies++;
      this.lostFraming();
      return;
    }
    this.beginBody(true);
  }

  protected flushPartial(lost: boolean): void {
    // (only where bytes were lost: a datagram or a stream that simply ends without a line end holds no
    // request line that was cut, and such bytes are more often another protocol's)
    if (lost && this.st === St.Line && this.line.len > 0) this.lineCutShort();
    // A request whose line was read but whose headers never finished still happened.
    if (this.open && (this.st === St.Headers || this.st === St.SkipLine)) {
      this.open = false;
      this.sink.request(this.head);
    }
    this.open = false;
  }

  /**
   * Bytes were lost inside a request line (the capture's snapshot length cut its segment, or a hole):
   * the request still happened. A line that lacks only its end is reported as
   * read; one cut inside its target, truncated with the method and what came of the target, as a line
   * too long to keep is. Only a line shaped like a client's (a method in capitals, a space, the start
   * of a target) counts: a few bytes of anything else stay unreported.
   */
  private lineCutShort(): boolean {
    const b = this.line.buf;
    let n = this.line.len;
    if (b[n - 1] === CR) n--;
    const head = this.head;
    head.malformed = false;
    head.raw = '';
    head.host = '';
    head.ts = this.msgTs;
    head.upgrade = false;
    if (parseRequestLine(b, 0, n, head)) {
      head.truncated = false;
    } else {
      let i = 0;
      while (i < n && ((b[i]! >= 65 && b[i]! <= 90) || b[i] === 45 || b[i] === 95)) i++;
      if (i < 3 || i > MAX_METHOD || i + 1 >= n || b[i] !== SP) return false;
      let j = i + 1;
      while (j < n && b[j]! > SP && b[j]! < 0x7f) j++;
      // What came of the target: printable, and a path, *, or (after a method a client commonly sends)
      // the start of a URI or host.
      if (j < n && b[j] !== SP) return false;
      const method = internMethod(b, 0, i);
      const t = b[i + 1]!;
      const letter = (t | 32) >= 97 && (t | 32) <= 122;
      if (t !== 47 && t !== 42 && !(letter && COMMON_METHODS.includes(method))) return false;
      head.method = method;
      head.uri = latin1(b, i + 1, j);
      head.version = '';
      head.truncated = true;
    }
    this.line.reset();
    this.seenRequest = true;
    this.sink.request(head);
    return true;
  }

  /**
   * The server answered (an error status) while the client's request line has no line end yet: a line
   * longer than the server takes, answered 414 before it ended, or a client that stopped sending. A line
   * shaped like a request is reported now, as a cut one is (lineCutShort), so the answer pairs with it;
   * the rest of the line, if it comes, is skipped and the headers after it frame the request as usual
   * (it is not reported again: `open` stays false).
   */
  answeredMidLine(): boolean {
    if (this.word !== '' && this.st === St.Start) {
      // a bare word the server answered with an HTTP error: the connection is HTTP, the word its request
      this.reportWord();
      return true;
    }
    if (this.st !== St.Line || this.line.len === 0 || !this.lineCutShort()) return false;
    this.beginHeaders();
    this.st = St.SkipLine;
    this.afterSkip = St.Headers;
    return true;
  }

  /** The Host value as a string: a connection's requests nearly always repeat it, so the last one is reused. */
  private hostText(b: Uint8Array, s: number, e: number): string {
    const last = this.lastHost;
    let same = last.length === e - s;
    for (let i = 0; same && i < last.length; i++) same = last[i] === b[s + i];
    if (same) return this.lastHostText;
    this.lastHost = b.slice(s, e);
    this.lastHostText = latin1(b, s, e);
    return this.lastHostText;
  }
  private lastHost = new Uint8Array(0);
  private lastHostText = '';

  /**
   * Set by the flow: while true, the bytes after a CONNECT wait (the parser stops before them and the
   * flow keeps them) for the server's answer to it: a 2xx makes them the tunnel's, anything else leaves
   * an HTTP connection. Only looked at after a CONNECT.
   */
  awaitAnswer: () => boolean = () => false;

  protected override holdAtStart(): boolean {
    return this.startMode === StartMode.TunnelUnlessHttp && this.awaitAnswer();
  }

  /** Switch to tunnel mode (the server agreed to a protocol switch). */
  toTunnel(): void {
    this.st = St.Tunnel;
    this.startMode = StartMode.None;
  }
}

/** Where a ResponseParser reports responses. */
export interface ResponseSink {
  /** Called at a response head (valid during the call only); returns the method of the request it answers, if known. */
  response(head: ResponseHead): string | undefined;
}

/** Server-to-client direction: finds status lines and skips bodies, using the request method for framing. */
export class ResponseParser extends MessageParser {
  private status = 0;
  private version = '';
  /** Reused for every response of this direction. */
  private readonly head: ResponseHead = { status: 0, version: '', ts: NO_TIME };

  constructor(
    limits: ParserLimits,
    private readonly sink: ResponseSink,
  ) {
    super(limits);
  }

  protected linePrefixOk(b: Uint8Array, start: number, end: number): boolean {
    const want = 'HTTP/';
    for (let i = 0; i < Math.min(5, end - start); i++) if (b[start + i] !== want.charCodeAt(i)) return false;
    return true;
  }

  protected startsMessage(b: Uint8Array, p: number, end: number): boolean {
    return this.linePrefixOk(b, p, end);
  }

  protected startLine(b: Uint8Array, start: number, end: number): boolean {
    this.line.reset();
    // "HTTP/" DIGIT "." DIGIT SP 3DIGIT [SP reason]
    const ok =
      end - start >= 12 &&
      this.linePrefixOk(b, start, end) &&
      isDigit(b[start + 5]!) &&
      b[start + 6] === 46 &&
      isDigit(b[start + 7]!) &&
      b[start + 8] === SP &&
      isDigit(b[start + 9]!) &&
      isDigit(b[start + 10]!) &&
      isDigit(b[start + 11]!) &&
      (end - start === 12 || b[start + 12] === SP);
    if (!ok) {
      this.anomalies++;
      this.st = St.Start;
      return false;
    }
    this.version = httpVersion(b, start);
    this.status = (b[start + 9]! - 48) * 100 + (b[start + 10]! - 48) * 10 + (b[start + 11]! - 48);
    this.beginHeaders();
    return false;
  }

  protected overlongLine(): void {
    this.anomalies++;
    this.line.reset();
    this.st = St.SkipLine;
    this.afterSkip = St.Start;
  }

  protected headEnd(): void {
    const status = this.status;
    if (status >= 100 && status < 200 && status !== 101) {
      // Interim response (100 Continue, 103 Early Hints): the final one follows.
      this.messageDone();
      return;
    }
    const head = this.head;
    head.status = status;
    head.version = this.version;
    head.ts = this.msgTs;
    const method = this.sink.response(head);
    if (status === 101 || (method === 'CONNECT' && status >= 200 && status < 300)) {
      this.st = St.Tunnel;
      return;
    }
    if (method === 'HEAD' || status === 204 || status === 304) return this.beginBody(false);
    if (this.badLength) {
      this.anomalies++;
      this.st = St.UntilClose;
      return;
    }
    if (!this.chunked && this.contentLength < 0) {
      this.st = St.UntilClose; // HTTP/1.0 style: the body runs to the end of the connection
      return;
    }
    this.beginBody(true);
  }

  protected flushPartial(): void {
    // A final status line whose headers the stream lost (a cut segment, a hole, the end of the capture):
    // the request still got that answer.
    const status = this.status;
    if (this.st !== St.Headers || (status < 200 && status !== 101)) return;
    const head = this.head;
    head.status = status;
    head.version = this.version;
    head.ts = this.msgTs;
    this.st = St.Start;
    this.sink.response(head);
  }

  /** Set by the flow: while true, the parser stops before a new response (its request is not known yet). */
  hold: () => boolean = () => false;

  protected override holdAtStart(): boolean {
    return this.hold();
  }
}
