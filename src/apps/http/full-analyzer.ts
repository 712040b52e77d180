/**
 * `bpfkit urls --mode full`: every HTTP/1.x request in a packet stream, exactly once. Frames are decoded
 * (VLAN/QinQ, IPv4 options and fragments, IPv6 extension headers), TCP is reassembled per direction by
 * sequence number, and each direction is parsed as HTTP the way a server would, so bodies, pipelining
 * and keep-alive are all handled. Responses are paired with their requests (status and latency).
 *
 * Memory is bounded by caps on flows, on bytes held out of order per stream and overall, and on line
 * lengths; flows idle longer than the timeout (capture time) are closed and their requests reported.
 */
import { PacketView } from '../../packet/decode/packet-view.js';
import { IPPROTO, TCP_FLAG } from '../../packet/decode/constants.js';
import { formatIP } from '../../packet/decode/format.js';
import { FragmentReassembler } from './ip-fragments.js';
import { DEFAULT_LIMITS, RequestParser, ResponseParser, type ParserLimits, type RequestHead, type ResponseHead } from './http-parser.js';
import { TcpStream, type StreamStats } from './tcp-stream.js';
import type { UrlRecord } from './record.js';

/** Limits and callbacks of the full-mode analyzer. */
export interface FullOptions {
  limits: ParserLimits;
  /** close flows idle this long (seconds of capture time) */
  idleTimeoutSec: number;
  /** most flows tracked at once; the oldest is closed to make room */
  maxFlows: number;
  /** bytes one direction may hold out of order before a hole is skipped */
  maxStreamBuffer: number;
  /** bytes all streams together may hold out of order */
  maxBufferedBytes: number;
  /** bytes of responses held while waiting for the request they answer */
  maxResponseHold: number;
  /** report each request as soon as its head is parsed (no status): text output */
  immediate: boolean;
  /** Called once per request (with its response's status when one came). */
  onRecord(rec: UrlRecord): void;
  /** A flow ended (closed, evicted); its endpoints, for dropping it from a kernel filter's session map. */
  onFlowEnd?(flow: FlowEnds): void;
  /** A flow that opened with a handshake turned out not to be HTTP: the filter may stop sending it. */
  onNotHttp?(flow: FlowEnds): void;
}

/** The two endpoints of a TCP flow. */
export interface FlowEnds {
  ipVersion: number;
  /** the address as 32-bit words in network order: one for IPv4, four for IPv6 (plain numbers: cheap) */
  addrA: number[];
  portA: number;
  addrB: number[];
  portB: number;
}

/** The defaults of every full-mode limit. */
export const DEFAULT_FULL: Omit<FullOptions, 'onRecord'> = {
  limits: DEFAULT_LIMITS,
  idleTimeoutSec: 120,
  maxFlows: 262144,
  maxStreamBuffer: 1 << 20,
  maxBufferedBytes: 256 << 20,
  maxResponseHold: 1 << 20,
  immediate: false,
};

/** Counters of the full-mode analyzer, for the summary. */
export interface FullStats {
  packets: number;
  tcpSegments: number;
  notTcp: number;
  malformed: number;
  requests: number;
  responses: number;
  /** responses with no request to pair with (capture started after the request) */
  orphanResponses: number;
  sessions: number;
  truncated: number;
  evicted: number;
  anomalies: number;
  fragments: number;
  stream: StreamStats;
}

interface HeldChunk {
  data: Uint8Array;
  off: number;
  ts: number;
}

class Flow {
  /** endpoint A is the one whose (address, port) sorts first in the key */
  readonly a: TcpStream;
  readonly b: TcpStream;
  /** true: A is the client; false: B is; undefined: not known yet */
  clientIsA: boolean | undefined;
  sawHandshake = false;
  lastTs = 0;
  req: RequestParser | undefined;
  resp: ResponseParser | undefined;
  waiting: UrlRecord[] = [];
  held: HeldChunk[] = [];
  heldBytes = 0;
  closing = false;
  rst = false;
  notHttp = false;
  ended = false;
  srcText: string | undefined;
  dstText: string | undefined;

  constructor(
    readonly key: string,
    readonly ends: FlowEnds,
    readonly ipVersion: number,
    stats: StreamStats,
    maxStream: number,
    onFirst: (flow: Flow, fromA: boolean, b: Uint8Array, s: number, e: number) => void,
  ) {
    this.a = new TcpStream(stats, maxStream, (b, s, e) => onFirst(this, true, b, s, e));
    this.b = new TcpStream(stats, maxStream, (b, s, e) => onFirst(this, false, b, s, e));
  }
}

const HTTP_SLASH = [72, 84, 84, 80, 47];
/** Size of the recent-flow table (a power of two). */
const RECENT_FLOWS = 4096;
const TCP_FIN = TCP_FLAG.FIN;
const TCP_SYN = TCP_FLAG.SYN;
const TCP_RST = TCP_FLAG.RST;
const TCP_ACK = TCP_FLAG.ACK;

/**
 * Full mode's userspace half: decodes frames, reassembles IP fragments and TCP streams per direction, parses
 * HTTP/1.x both ways and pairs requests with responses. Incremental and capped everywhere.
 */
export class FullAnalyzer {
  readonly stats: FullStats;
  private readonly flows = new Map<string, Flow>();
  /**
   * Flows in creation order, for evicting the oldest when the table is full. (Taking the first entry of
   * the Map instead would walk over every deleted slot at its head: quadratic under churn.)
   */
  private age: Flow[] = [];
  private ageHead = 0;
  /**
   * Connections that ended with FIN/RST: where each direction stopped. A late copy of one of their
   * segments (retransmission, reordering) must not start a new flow and report a request twice.
   */
  private readonly closed = new Map<string, { a: number; b: number; ts: number }>();
  private readonly view = new PacketView();
  private readonly frags = new FragmentReassembler();
  private readonly opts: FullOptions;
  private lastSweep = 0;
  private now = 0;
  /**
   * Recent IPv4 flows, direct-mapped by a hash of their endpoints in canonical order: a segment of a
   * flow found here skips building the string key and the map lookup (captures interleave many
   * connections, so remembering only the previous packet's flow is not enough).
   */
  private readonly recent: (Flow | undefined)[] = new Array<Flow | undefined>(RECENT_FLOWS).fill(undefined);
  private readonly recentA = new Int32Array(RECENT_FLOWS);
  private readonly recentB = new Int32Array(RECENT_FLOWS);
  private readonly recentPorts = new Int32Array(RECENT_FLOWS);

  constructor(opts: Partial<FullOptions> & Pick<FullOptions, 'onRecord'>) {
    this.opts = { ...DEFAULT_FULL, ...opts };
    this.stats = {
      packets: 0,
      tcpSegments: 0,
      notTcp: 0,
      malformed: 0,
      requests: 0,
      responses: 0,
      orphanResponses: 0,
      sessions: 0,
      truncated: 0,
      evicted: 0,
      anomalies: 0,
      fragments: 0,
      stream: { bufferedBytes: 0, retransmitted: 0, outOfOrder: 0, gaps: 0 },
    };
  }

  get activeFlows(): number {
    return this.flows.size;
  }

  /** One captured frame. `ts` in seconds (fractional). The bytes are only read during the call. */
  packet(bytes: Uint8Array, off: number, len: number, linktype: number, ts: number): void {
    this.stats.packets++;
    this.now = ts;
    const v = this.view.decode(bytes, linktype, off, off + len);
    let tcp = v.proto === IPPROTO.TCP && v.payloadOffset >= 0 && !v.isFragment;
    let bad = !tcp && (v.truncated || v.malformed);
    if (v.isFragment && v.fragmentDataOffset >= 0) {
      this.stats.fragments++;
      // The fragment's own transport header may be cut short: only the reassembled datagram counts.
      if (this.frags.add(v, ts)) {
        tcp = v.proto === IPPROTO.TCP && v.payloadOffset >= 0;
        bad = !tcp && (v.truncated || v.malformed);
      } else {
        tcp = false;
        bad = this.frags.malformed;
      }
    }
    if (tcp) this.segment(v, ts);
    else if (bad) this.stats.malformed++;
    else this.stats.notTcp++;
    if (ts - this.lastSweep > Math.min(10, this.opts.idleTimeoutSec / 4) || (this.stats.packets & 0xffff) === 0) this.sweep(ts);
  }

  /** End of input: close every flow (reporting what they hold). */
  finish(): void {
    for (const flow of [...this.flows.values()]) this.close(flow);
    this.frags.expire(Infinity);
  }

  private segment(f: PacketView, ts: number): void {
    this.stats.tcpSegments++;
    // Canonical key: the endpoint that sorts first is A, so both directions find the same flow.
    let fromA: boolean;
    let key: string;
    let slot = -1;
    if (f.ipVersion === 4) {
      fromA = f.srcIPv4 < f.dstIPv4 || (f.srcIPv4 === f.dstIPv4 && f.srcPort <= f.dstPort);
      const a = (fromA ? f.srcIPv4 : f.dstIPv4) | 0;
      const b = (fromA ? f.dstIPv4 : f.srcIPv4) | 0;
      const ports = fromA ? (f.srcPort << 16) | f.dstPort : (f.dstPort << 16) | f.srcPort;
      const h = Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ ports, 0x85ebca6b);
      slot = (h ^ (h >>> 15)) & (RECENT_FLOWS - 1);
      const known = this.recent[slot];
      // (a SYN may start a new connection on a tracked 4-tuple: the full path below decides)
      if (known !== undefined && !known.ended && (f.tcpFlags & TCP_SYN) === 0 && this.recentA[slot] === a && this.recentB[slot] === b && this.recentPorts[slot] === ports) {
        this.onFlowSegment(known, fromA, f, ts);
        return;
      }
      this.recentA[slot] = a;
      this.recentB[slot] = b;
      this.recentPorts[slot] = ports;
      this.recent[slot] = undefined;
      key = fromA ? `${f.srcIPv4}:${f.srcPort}>${f.dstIPv4}:${f.dstPort}` : `${f.dstIPv4}:${f.dstPort}>${f.srcIPv4}:${f.srcPort}`;
    } else {
      const c = compare16(f.bytes, f.srcAddrOffset, f.dstAddrOffset);
      fromA = c < 0 || (c === 0 && f.srcPort <= f.dstPort);
      const s = hex16(f.bytes, f.srcAddrOffset);
      const d = hex16(f.bytes, f.dstAddrOffset);
      key = fromA ? `${s}:${f.srcPort}>${d}:${f.dstPort}` : `${d}:${f.dstPort}>${s}:${f.srcPort}`;
    }
    const flags = f.tcpFlags;
    let flow = this.flows.get(key);
    if (flow && (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      // A new connection on a 4-tuple we still track: the old one is over (port reuse).
      const st = fromA ? flow.a : flow.b;
      if (!st.synced || st.next !== ((f.tcpSeq + 1) | 0)) {
        this.close(flow);
        flow = undefined;
      }
    }
    if (!flow) {
      // Only a SYN or data starts tracking (a stray ACK, FIN or RST of a finished flow does not).
      if ((flags & TCP_SYN) === 0 && f.payloadLength === 0) return;
      const ended = this.closed.get(key);
      if (ended && (flags & TCP_SYN) === 0) {
        const next = fromA ? ended.a : ended.b;
        if (next >= 0 && ((f.tcpSeq + f.payloadLength - next) | 0) <= 0) {
          this.stats.stream.retransmitted++;
          return;
        }
      }
      if (ended) this.closed.delete(key);
      if (this.flows.size >= this.opts.maxFlows) this.evictOldest();
      flow = new Flow(key, endsOf(f, fromA), f.ipVersion, this.stats.stream, this.opts.maxStreamBuffer, (fl, a, b, s, e) =>
        this.firstData(fl, a, b, s, e),
      );
      this.flows.set(key, flow);
      this.age.push(flow);
      this.stats.sessions++;
    }
    if (slot >= 0) this.recent[slot] = flow;
    this.onFlowSegment(flow, fromA, f, ts);
  }

  private onFlowSegment(flow: Flow, fromA: boolean, f: PacketView, ts: number): void {
    const flags = f.tcpFlags;
    flow.lastTs = ts;
    const stream = fromA ? flow.a : flow.b;
    if (flags & TCP_SYN) {
      flow.sawHandshake = true;
      if (flow.clientIsA === undefined) this.setRoles(flow, (flags & TCP_ACK) === 0 ? fromA : !fromA);
      stream.syn(f.tcpSeq | 0);
    }
    // Data carried by a SYN (TCP Fast Open) starts after the SYN's own sequence number.
    // (as int32: see TcpStream.next)
    const seq = (flags & TCP_SYN ? f.tcpSeq + 1 : f.tcpSeq) | 0;
    stream.segment(seq, f.bytes, f.payloadOffset, f.payloadOffset + f.payloadLength, (flags & TCP_FIN) !== 0, ts);
    if (flags & TCP_RST) flow.rst = true;
    if (flow.rst || (flow.a.finished && flow.b.finished)) this.close(flow);
    else if (this.stats.stream.bufferedBytes > this.opts.maxBufferedBytes) stream.flush();
  }

  /** The first bytes of one direction decide who is the client when no handshake told us. */
  private firstData(flow: Flow, fromA: boolean, b: Uint8Array, s: number, e: number): void {
    if (flow.clientIsA !== undefined) {
      // Roles known from the handshake: a client whose first bytes are not a method token is not HTTP.
      // (A server speaking first would be a hint too, but reordering in a capture can show a response
      // before the request's last segment, so only the client's own bytes decide.)
      if (flow.sawHandshake && !flow.notHttp && flow.clientIsA === fromA && !methodShaped(b, s, e)) {
        flow.notHttp = true;
        this.opts.onNotHttp?.(flow.ends);
      }
      return;
    }
    let isServer = e - s >= 5;
    for (let i = 0; i < 5 && isServer; i++) if (b[s + i] !== HTTP_SLASH[i]) isServer = false;
    if (isServer) return this.setRoles(flow, !fromA);
    if (methodShaped(b, s, e)) return this.setRoles(flow, fromA);
    // Neither: the side with the lower (well-known) port is the server.
    const myPort = fromA ? flow.ends.portA : flow.ends.portB;
    const peerPort = fromA ? flow.ends.portB : flow.ends.portA;
    this.setRoles(flow, myPort > peerPort ? fromA : !fromA);
  }

  private setRoles(flow: Flow, clientIsA: boolean): void {
    flow.clientIsA = clientIsA;
    const client = clientIsA ? flow.a : flow.b;
    const server = clientIsA ? flow.b : flow.a;
    const stats = this.stats;
    const opts = this.opts;
    const req = new RequestParser(opts.limits, {
      request: (head: RequestHead) => this.request(flow, head),
    });
    const resp = new ResponseParser(opts.limits, {
      response: (head: ResponseHead) => this.response(flow, head),
    });
    resp.hold = () => flow.waiting.length === 0 && !flow.closing;
    if (!flow.sawHandshake) {
      // Joined mid-connection: the first bytes may be the middle of a message.
      req.resync = true;
      resp.resync = true;
    }
    flow.req = req;
    flow.resp = resp;
    client.consumer = {
      data: (b, s, e, ts) => {
        req.feed(b, s, e, ts);
      },
      gap: () => req.gap(),
    };
    server.consumer = {
      data: (b, s, e, ts) => this.responseData(flow, b, s, e, ts),
      gap: () => {
        resp.gap();
        stats.anomalies++;
      },
    };
  }

  private responseData(flow: Flow, b: Uint8Array, s: number, e: number, ts: number): void {
    if (flow.held.length > 0) {
      this.hold(flow, b, s, e, ts);
      return;
    }
    const p = flow.resp!.feed(b, s, e, ts);
    if (p < e) this.hold(flow, b, p, e, ts);
  }

  private hold(flow: Flow, b: Uint8Array, s: number, e: number, ts: number): void {
    flow.held.push({ data: b.slice(s, e), off: 0, ts });
    flow.heldBytes += e - s;
    if (flow.heldBytes > this.opts.maxResponseHold) {
      // Too much waiting for a request that may never come: parse it anyway (responses become orphans).
      flow.closing = true;
      this.drainHeld(flow);
      flow.closing = false;
    }
  }

  private drainHeld(flow: Flow): void {
    const resp = flow.resp!;
    while (flow.held.length > 0) {
      const c = flow.held[0]!;
      const p = resp.feed(c.data, c.off, c.data.length, c.ts);
      if (p < c.data.length) {
        flow.heldBytes -= p - c.off;
        c.off = p;
        return;
      }
      flow.heldBytes -= c.data.length - c.off;
      flow.held.shift();
    }
  }

  private request(flow: Flow, head: RequestHead): void {
    const clientIsA = flow.clientIsA !== false;
    const ends = flow.ends;
    flow.srcText ??= addrText(flow.ipVersion, clientIsA ? ends.addrA : ends.addrB);
    flow.dstText ??= addrText(flow.ipVersion, clientIsA ? ends.addrB : ends.addrA);
    const rec = new FullRecord(
      head.ts,
      flow.srcText,
      flow.dstText,
      clientIsA ? ends.portA : ends.portB,
      clientIsA ? ends.portB : ends.portA,
      head.method,
      head.host,
      head.uri,
      head.version,
      head.truncated,
    );
    this.stats.requests++;
    if (head.truncated) this.stats.truncated++;
    if (this.opts.immediate) this.opts.onRecord(rec);
    flow.waiting.push(rec);
    if (flow.waiting.length > 1024) this.emit(flow.waiting.shift()!); // pipelining flood: stop waiting
    if (flow.held.length > 0) this.drainHeld(flow);
  }

  private response(flow: Flow, head: ResponseHead): string | undefined {
    let rec: UrlRecord | undefined = flow.waiting[0];
    // Mid-connection: a response captured before the first request we saw answers a request we never saw.
    if (rec && !flow.sawHandshake && head.ts < rec.ts) rec = undefined;
    if (!rec) {
      this.stats.orphanResponses++;
      return undefined;
    }
    flow.waiting.shift();
    this.stats.responses++;
    rec.status = head.status;
    rec.latency_ms = Math.round((head.ts - rec.ts) * 1e6) / 1e3;
    this.emit(rec);
    if (head.status === 101) flow.req?.toTunnel();
    return rec.method;
  }

  private emit(rec: UrlRecord): void {
    if (!this.opts.immediate) this.opts.onRecord(rec);
  }

  private evictOldest(): void {
    while (this.ageHead < this.age.length) {
      const flow = this.age[this.ageHead]!;
      this.age[this.ageHead++] = undefined as unknown as Flow;
      if (!flow.ended) {
        this.stats.evicted++;
        this.close(flow);
        break;
      }
    }
    if (this.ageHead > 4096 && this.ageHead * 2 > this.age.length) {
      this.age = this.age.slice(this.ageHead).filter((f) => !f.ended);
      this.ageHead = 0;
    }
  }

  private close(flow: Flow): void {
    if (flow.ended) return;
    flow.ended = true;
    if (this.flows.get(flow.key) === flow) this.flows.delete(flow.key);
    if (flow.rst || flow.a.finished || flow.b.finished) {
      // (where each direction stopped, as uint32: -1 is "not known")
      this.closed.set(flow.key, { a: flow.a.synced ? flow.a.next >>> 0 : -1, b: flow.b.synced ? flow.b.next >>> 0 : -1, ts: this.now });
      if (this.closed.size > 65536) this.closed.delete(this.closed.keys().next().value as string);
    }
    if (flow.clientIsA === undefined) {
      // Nothing was ever delivered in order yet: flushing may deliver the first bytes and pick roles.
    }
    flow.a.flush();
    flow.b.flush();
    flow.closing = true;
    flow.req?.end();
    if (flow.held.length > 0) this.drainHeld(flow);
    flow.resp?.end();
    for (const rec of flow.waiting) this.emit(rec);
    flow.waiting = [];
    this.stats.anomalies += (flow.req?.anomalies ?? 0) + (flow.resp?.anomalies ?? 0);
    this.opts.onFlowEnd?.(flow.ends);
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    const limit = now - this.opts.idleTimeoutSec;
    for (const flow of this.flows.values()) {
      if (flow.lastTs < limit) {
        this.stats.evicted++;
        this.close(flow);
      }
    }
    this.frags.expire(now);
    for (const [key, c] of this.closed) {
      if (c.ts >= limit) break; // insertion order is time order
      this.closed.delete(key);
    }
  }
}

/** Capital letters, '-' or '_' (a method token as real clients send them), then a space or the end. */
function methodShaped(b: Uint8Array, s: number, e: number): boolean {
  let k = s;
  while (k < e && k - s < 33 && ((b[k]! >= 65 && b[k]! <= 90) || b[k] === 45 || b[k] === 95)) k++;
  return k > s && (k === e || b[k] === 32);
}

function endsOf(f: PacketView, fromA: boolean): FlowEnds {
  let src: number[];
  let dst: number[];
  if (f.ipVersion === 4) {
    src = [f.srcIPv4];
    dst = [f.dstIPv4];
  } else {
    src = words16(f.bytes, f.srcAddrOffset);
    dst = words16(f.bytes, f.dstAddrOffset);
  }
  return fromA
    ? { ipVersion: f.ipVersion, addrA: src, portA: f.srcPort, addrB: dst, portB: f.dstPort }
    : { ipVersion: f.ipVersion, addrA: dst, portA: f.dstPort, addrB: src, portB: f.srcPort };
}

function words16(b: Uint8Array, off: number): number[] {
  const w: number[] = [];
  for (let i = 0; i < 16; i += 4) w.push(((b[off + i]! << 24) | (b[off + i + 1]! << 16) | (b[off + i + 2]! << 8) | b[off + i + 3]!) >>> 0);
  return w;
}

function addrText(ipVersion: number, w: number[]): string {
  const b = new Uint8Array(4 * w.length);
  for (let i = 0; i < w.length; i++) {
    b[4 * i] = w[i]! >>> 24;
    b[4 * i + 1] = (w[i]! >>> 16) & 255;
    b[4 * i + 2] = (w[i]! >>> 8) & 255;
    b[4 * i + 3] = w[i]! & 255;
  }
  return formatIP(b, 0, ipVersion === 4 ? 4 : 16);
}

function compare16(b: Uint8Array, x: number, y: number): number {
  for (let i = 0; i < 16; i++) {
    const d = b[x + i]! - b[y + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
function hex16(b: Uint8Array, off: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += HEX[b[off + i]!];
  return s;
}

/**
 * A request as full mode reports it. The full URL is built only when asked for: text output never
 * asks, and at a hundred thousand requests a second the string and its pattern test show.
 */
class FullRecord implements UrlRecord {
  status: number | null = null;
  latency_ms: number | null = null;
  private built: string | undefined;
  constructor(
    readonly ts: number,
    readonly src: string,
    readonly dst: string,
    readonly sport: number,
    readonly dport: number,
    readonly method: string,
    readonly host: string,
    readonly uri: string,
    readonly version: string,
    readonly truncated: boolean,
  ) {}
  get url(): string {
    return (this.built ??= fullUrl(this.host, this.uri, this.method));
  }
}

/** http://host/path for origin-form targets; absolute-form and CONNECT authority as they are. */
export function fullUrl(host: string, uri: string, method: string): string {
  if (method === 'CONNECT') return uri;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return uri;
  if (uri === '*') return host ? `http://${host}` : '*';
  return host ? `http://${host}${uri}` : uri;
}
