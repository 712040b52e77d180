/**
 * What `bpfkit urls` reports per request, and its two output forms. The JSON form is one object per line
 * with stable field names (documented in docs/urls.md); `uri` is exactly the request line's target.
 */

export interface UrlRecord {
  /** capture time of the request's first byte, seconds since 1970 (fractional) */
  ts: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  method: string;
  /** the Host header ('' when absent or not known) */
  host: string;
  /** the request-target exactly as on the request line (cut at the cap when `truncated`) */
  uri: string;
  /** "HTTP/1.1"; '' when the line was cut before its version */
  version: string;
  /** http://host + uri for origin-form targets */
  url: string;
  status: number | null;
  latency_ms: number | null;
  truncated: boolean;
  /**
   * The request line is odd (no target, a broken or missing version, extra words, a bare method): it is
   * reported all the same, with `raw` holding the line as it was (cut at the line cap).
   */
  malformed?: boolean;
  raw?: string;
  /** the connection went through a proxy: "socks4", "socks4a" or "socks5" ('' or absent when direct) */
  via?: string;
  /** with `via`: the target the client asked the proxy for ("host" or "host:port"; the host when no Host header came) */
  socks_target?: string;
}

/** The classic line: `GET /path HTTP/1.1` (a truncated request line ends in "..."). */
export function textLine(r: UrlRecord): string {
  if (r.truncated) return `${r.method} ${visible(r.uri)}... (truncated)`;
  if (r.malformed) return `${visible(r.raw ?? '')} (malformed)`;
  return `${r.method} ${r.uri} ${r.version}`;
}

// A malformed line may hold control bytes (a NUL in the target): the terminal sees them as \xNN, never
// raw (an escape sequence in a hostile capture must not reach it). Tabs stay.
const isControl = (c: number) => (c < 0x20 && c !== 9) || c === 0x7f;
function visible(s: string): string {
  let i = 0;
  while (i < s.length && !isControl(s.charCodeAt(i))) i++;
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += isControl(c) ? `\\x${c.toString(16).padStart(2, '0')}` : s[i];
  }
  return out;
}

/**
 * Capture times from here on (2^32 s: February 2106) are not exact to the microsecond in the double a
 * record's `ts` is (its step is 2^-20 s there, and it doubles every 2^k): JSON `ts` is then the nearest
 * that double holds, and `bpfkit urls` says so once. (`pcap info` reads such times exactly.)
 */
export const TS_EXACT_BELOW = 2 ** 32;

/** A record as one line of JSON, with the field names docs/urls.md documents. */
export function jsonLine(r: UrlRecord): string {
  return JSON.stringify({
    ts: Math.round(r.ts * 1e6) / 1e6,
    src: r.src,
    dst: r.dst,
    sport: r.sport,
    dport: r.dport,
    method: r.method,
    host: r.host,
    uri: r.uri,
    version: r.version,
    url: r.url,
    status: r.status,
    latency_ms: r.latency_ms,
    truncated: r.truncated,
    ...(r.malformed ? { malformed: true, raw: r.raw } : {}),
    ...(r.via ? { via: r.via, socks_target: r.socks_target } : {}),
  });
}
