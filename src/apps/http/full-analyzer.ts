/**
 * `bpfkit urls --mode full`: every HTTP/1.x request in a packet stream, exactly once. Frames are decoded
 * (VLAN/QinQ, IPv4 options and fragments, IPv6 extension headers), TCP is reassembled per direction by
 * sequence number (the packet layer's flow table and streams, src/packet/flow), and each direction is
 * parsed as HTTP the way a server would, so bodies, pipelining and keep-alive are all handled. Responses
 * are paired with their requests (status and latency). What is HTTP here: who is the client, the parsers,
 * the pairing.
 *
 * Memory is bounded by one budget (`maxMemory`, split by src/packet/flow/memory-budget.ts) over flows,
 * bytes held out of order, requests waiting for their response and IP fragments, each charged its measured
 * cost; by a cap on bytes held out of order per stream and on line lengths; flows idle longer than the
 * timeout (capture time) are closed and their requests reported. What the budget makes us give up is
 * counted: flows evicted (SYN-only first), streams made to skip a hole, requests reported before their
 * response came, fragmented datagrams dropped.
 */
import { HeldBytes, type HeldFeeder, type HeldPool } from './held-bytes.js';
import { PacketView } from '../../packet/decode/packet-view.js';
import { ETHERTYPE, IPPROTO } from '../../packet/decode/constants.js';
import type { Frame } from '../../packet/frame.js';
import { FragmentReassembler } from '../../packet/flow/ip-fragments.js';
import { TcpFlow, TcpFlowTable, type FlowTableStats } from '../../packet/flow/flow-table.js';
import type { StreamStats } from '../../packet/flow/tcp-stream.js';
import { formatFlowAddr, type FlowEnds } from '../../packet/flow/flow-key.js';
import {
  H2_PREFACE,
  H2_PREFACE_PART,
  NOT_OPAQUE,
  PrefaceWatch,
  TLS_SERVER_HELLO,
  opaqueStart,
} from './opaque-start.js';
import { DEFAULT_MAX_MEMORY, splitBudget } from '../../packet/flow/memory-budget.js';
import {
  DEFAULT_LIMITS,
  RequestParser,
  ResponseParser,
  type ParserLimits,
  type RequestHead,
  type ResponseHead,
} from './http-parser.js';
import type { UrlRecord } from './record.js';
import { SocksHandshake, behindSocks, socksShaped } from './socks.js';

export type { FlowEnds } from '../../packet/flow/flow-key.js';

/** How full mode runs: parser limits, flow-table bounds, output. */
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
  /** the memory budget, in bytes (see memory-budget.ts); it also bounds maxFlows and maxBufferedBytes */
  maxMemory: number;
  /** bytes of responses held while waiting for the request they answer */
  maxResponseHold: number;
  /** report each request as soon as its head is parsed (no status): text output */
  immediate: boolean;
  /**
   * HTTP over UDP (SSDP's M-SEARCH and NOTIFY, one message per datagram): reported when true; counted as
   * skipped when false, so the summary says what was left out.
   */
  udp: boolean;
  /** Called once per request (with its response's status when one came). */
  onRecord(rec: UrlRecord): void;
  /** A flow ended (closed, evicted); its endpoints, for dropping it from a kernel filter's session map. */
  onFlowEnd?(flow: FlowEnds): void;
  /**
   * A flow began (before any of its records). With onFlowEnd, which comes after its last record, it lets
   * a caller tell which flow the records reported at the end of input belong to (sharded runs).
   */
  onFlowStart?(flow: FlowEnds): void;
  /** A flow that opened with a handshake turned out not to be HTTP: the filter may stop sending it. */
  onNotHttp?(flow: FlowEnds): void;
  /**
   * Called every POLL_PACKETS packets: where the caller holds the heap to the budget (heap-valve.ts).
   * Between chunks of input is too seldom: a 4 MiB chunk of a flow flood leaves ~150 MB of garbage.
   */
  onPoll?(): void;
}

/** Packets between two onPoll calls (a power of two). */
const POLL_PACKETS = 1024;

/** Full mode's defaults (everything but where the records go). */
export const DEFAULT_FULL: Omit<FullOptions, 'onRecord'> = {
  limits: DEFAULT_LIMITS,
  idleTimeoutSec: 120,
  maxFlows: 262144,
  maxStreamBuffer: 1 << 20,
  maxBufferedBytes: 256 << 20,
  maxMemory: DEFAULT_MAX_MEMORY,
  maxResponseHold: 1 << 20,
  immediate: false,
  udp: false,
};

/** Full mode's counters: the flow table's, and HTTP's. */
export interface FullStats extends FlowTableStats {
  packets: number;
  notTcp: number;
  malformed: number;
  requests: number;
  responses: number;
  /** responses with no request to pair with (capture started after the request) */
  orphanResponses: number;
  truncated: number;
  anomalies: number;
  fragments: number;
  /** requests reported before their response came, to stay within the memory budget (no status) */
  reportedEarly: number;
  /** fragmented datagrams dropped incomplete (timed out, or to stay within the budget) */
  fragmentsDropped: number;
  /** frames whose link type or encapsulation no decoder knows (see `undecodedReasons`) */
  undecoded: number;
  /** requests reported with an odd request line (`malformed`) */
  malformedRequests: number;
  /** frames that had an IP header (at any depth) */
  ipFrames: number;
  /** requests found in UDP datagrams (`udp` on) */
  udpRequests: number;
  /** UDP datagrams that start like a request, skipped because `udp` is off */
  udpSkipped: number;
  /**
   * connections that speak HTTP/2: the client opened with the connection preface (prior knowledge), or
   * sent it after a 101 answered its upgrade (h2c); what follows is not decoded
   */
  h2Connections: number;
  /** connections that opened with a TLS handshake record: encrypted, not decoded */
  tlsConnections: number;
  /** connections whose first request line was another protocol's in HTTP's syntax (RTSP, SIP): not decoded */
  otherConnections: number;
}

/**
 * What a flow costs before it carries data (a SYN seen: the flow, its two streams, its key, endpoints and
 * table entries), and once it does (its HTTP parsers and one waiting request added), in bytes. Measured
 * with process.memoryUsage() (heapUsed after gc): 1016 and 2410 bytes per flow over 50,000 flows fed to a
 * fresh FullAnalyzer, but 1450 and 3300 in situ (`bpfkit urls` on the SYN-flood and many-flows captures
 * of test/http/hostile after 250,000 flows of churn: the maps' spare room and the eviction lists count
 * too); the in-situ figures, rounded up, are the ones used.
 */
const QUIET_FLOW_COST = 1500;
const FLOW_COST = 3400;
/**
 * A request waiting for its response besides its URI: 172 bytes each measured the same way over 50 flows
 * x 1,000 pipelined requests with ~20-byte URIs (the record, its strings, the array slot).
 */
const REQUEST_COST = 160;

function requestCost(rec: UrlRecord): number {
  return REQUEST_COST + rec.uri.length;
}

/**
 * Bytes of a client's kept after a CONNECT while its answer has not come: the tunnel's first segments a
 * capture reordered ahead of the answer fit many times over.
 */
const MAX_CLIENT_HOLD = 64 * 1024;

/** A connection as HTTP sees it: the flow table's TcpFlow plus roles, parsers and requests in flight. */
class HttpFlow extends TcpFlow {
  /** true: A is the client; false: B is; undefined: not known yet */
  clientIsA: boolean | undefined;
  req: RequestParser | undefined;
  resp: ResponseParser | undefined;
  waiting: UrlRecord[] = [];
  /** the server's bytes kept until the request they answer comes */
  readonly held: HeldBytes;
  /** the client's bytes after a CONNECT, kept until the server answers it (tunnel or not) */
  readonly clientHeld: HeldBytes;
  closing = false;
  notHttp = false;
  /** a response has been paired with a request: the two directions are aligned from here on */
  paired = false;
  srcText: string | undefined;

  constructor(key: string, ends: FlowEnds, stats: StreamStats, maxStreamBuffer: number, pool: HeldPool) {
    super(key, ends, stats, maxStreamBuffer);
    this.held = new HeldBytes(pool);
    this.clientHeld = new HeldBytes(pool);
  }
  dstText: string | undefined;
  /** the connection goes through a SOCKS proxy: its handshake and target (socks.ts) */
  socks: SocksHandshake | undefined;
  /**
   * What the connection turned out to be from its first bytes, when that is not HTTP/1.x: 'tls', 'h2'
   * (prior knowledge) or 'other' (RTSP, SIP: HTTP's syntax, another protocol). Both directions are then
   * tunnel bytes, passed over; '' for the rest.
   */
  opaque: '' | 'tls' | 'h2' | 'other' = '';
  /** the client's first bytes so far are a strict prefix of the HTTP/2 preface: watching for the rest */
  watch: PrefaceWatch | undefined;
}

const HTTP_SLASH = [72, 84, 84, 80, 47];
/** Zero as a double for a capture-time field (a small integer first: V8 reshapes the field at the first packet). */
const NO_TIME = -0;
const UNDECODED_KINDS: PacketView['undecoded'][] = ['', 'linktype', 'ethertype', 'ppp', 'gre', '802.11', 'nlpid'];

/** Every HTTP/1.x request in a stream of frames (see the file comment). */
export class FullAnalyzer {
  readonly stats: FullStats;
  private readonly table: TcpFlowTable<HttpFlow>;
  private readonly view = new PacketView();
  private readonly frags: FragmentReassembler;
  private readonly opts: FullOptions;
  private lastSweep = NO_TIME;
  /** memory of the requests waiting for their response, by requestCost */
  private waitingMemory = 0;
  /** a response is reporting the request line it answers (answeredMidLine) */
  private answering = false;
  private readonly maxWaitingMemory: number;
  /** bytes every flow holds for the other direction (HeldBytes), and the most they may together */
  private readonly heldPool: HeldPool = { bytes: 0 };
  private readonly maxHeld: number;
  /** frames not decoded, by what stopped the decoder (key: kind and type number; a handful of entries) */
  private readonly undecodedBy = new Map<number, { name: string; count: number }>();

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
      evictedQuiet: 0,
      bufferFlushes: 0,
      reportedEarly: 0,
      fragmentsDropped: 0,
      undecoded: 0,
      malformedRequests: 0,
      ipFrames: 0,
      udpRequests: 0,
      udpSkipped: 0,
      h2Connections: 0,
      tlsConnections: 0,
      otherConnections: 0,
      stream: { bufferedBytes: 0, retransmitted: 0, outOfOrder: 0, gaps: 0 },
    };
    const o = this.opts;
    const shares = splitBudget(o.maxMemory);
    this.maxWaitingMemory = shares.requests;
    // (held bytes are stream bytes waiting as out-of-order ones do: a quarter of their share)
    this.maxHeld = Math.floor(shares.segments / 4);
    this.frags = new FragmentReassembler({ protocol: IPPROTO.TCP, maxMemory: shares.fragments });
    this.table = new TcpFlowTable<HttpFlow>(
      {
        idleTimeoutSec: o.idleTimeoutSec,
        maxFlows: o.maxFlows,
        maxStreamBuffer: o.maxStreamBuffer,
        maxBufferedBytes: Math.min(o.maxBufferedBytes, shares.segments),
        maxFlowMemory: shares.flows,
        quietFlowCost: QUIET_FLOW_COST,
        flowCost: FLOW_COST,
      },
      {
        create: (key, ends) => this.newFlow(key, ends),
        syn: (flow, fromA, synAck) => {
          // (roles only: the parsers are made with the first data, so a SYN flood costs no parsers)
          flow.clientIsA ??= synAck ? !fromA : fromA;
        },
        closed: (flow) => this.closed(flow),
      },
      this.stats,
    );
  }

  /** Bytes the flows hold right now for the other direction to say what they are (responses before their request, a client's bytes after a CONNECT). */
  get heldBytes(): number {
    return this.heldPool.bytes;
  }

  /** Flows tracked right now. */
  get activeFlows(): number {
    return this.table.size;
  }

  /** One captured frame. Its bytes are only read during the call. */
  packet(frame: Frame): void {
    const ts = frame.ts;
    this.stats.packets++;
    const v = this.view.decode(frame.bytes, frame.linktype, frame.offset, frame.offset + frame.caplen);
    // Bytes the stream skips as lost: only as many as the record says the capture left out. An IP length
    // past the frame in a record that was not cut is a corrupt header, and skipping on its word would
    // drop the sender's next segment as a retransmission.
    if (v.payloadCut > frame.origLen - frame.caplen) v.payloadCut = Math.max(0, frame.origLen - frame.caplen);
    if (v.ipVersion !== 0) this.stats.ipFrames++;
    else if (v.undecoded !== '') this.countUndecoded(v);
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
    if (tcp) this.table.segment(v, ts);
    else if (bad) this.stats.malformed++;
    else if (!this.udpDatagram(v, ts)) this.stats.notTcp++;
    if (ts - this.lastSweep > Math.min(10, this.opts.idleTimeoutSec / 4) || (this.stats.packets & 0xffff) === 0)
      this.sweep(ts);
    if ((this.stats.packets & (POLL_PACKETS - 1)) === 0) this.opts.onPoll?.();
  }

  /**
   * The capture's clock reached `ts` without a frame for this analyzer (a shard of a sharded run): the
   * idle sweep a frame at `ts` would have started, on the same schedule.
   */
  tick(ts: number): void {
    if (ts - this.lastSweep > Math.min(10, this.opts.idleTimeoutSec / 4)) this.sweep(ts);
  }

  /**
   * Whether the snapshot length, which cut `frame` short, may have hidden a request: the cut fell inside
   * a TCP header or payload (UDP's too, with `udp`), or before the decoder could tell what the frame
   * carries. A frame of
   * another protocol cut short (ICMP, ARP, LLDP, an Ethernet trailer) hides none. Decodes the frame
   * again: call it for cut frames only, between packets.
   */
  cutCouldHide(frame: Frame): boolean {
    const v = this.view.decode(frame.bytes, frame.linktype, frame.offset, frame.offset + frame.caplen);
    if (v.undecoded !== '') return true;
    if (v.ipVersion === 0) return v.truncated && v.etherType !== ETHERTYPE.ARP;
    const p = v.proto;
    // (UDP only when HTTP over UDP is read: without --udp no datagram would give a request anyway)
    const carrier = p === IPPROTO.TCP || (p === IPPROTO.UDP && this.opts.udp === true) || v.isFragment;
    if (carrier) return v.truncated || v.payloadCut > 0;
    if (p === IPPROTO.UDP) return false;
    return v.truncated && p !== IPPROTO.ICMP && p !== IPPROTO.ICMPV6;
  }

  /**
   * A frame a packet filter dropped (it keeps TCP only): looked at for HTTP over UDP, and for nothing
   * else. Not counted as a packet (the pipeline counted it).
   */
  udpOnly(frame: Frame): void {
    const v = this.view.decode(frame.bytes, frame.linktype, frame.offset, frame.offset + frame.caplen);
    this.udpDatagram(v, frame.ts);
  }

  /**
   * HTTP over UDP: a datagram whose payload starts with a method token is one request (SSDP), parsed
   * whole, reported at once (no response pairing: SSDP answers go to another port, often multicast).
   * Returns false when the frame is not such a datagram.
   */
  private udpDatagram(v: PacketView, ts: number): boolean {
    if (v.proto !== IPPROTO.UDP || v.isFragment || v.payloadOffset < 0 || v.payloadLength === 0) return false;
    const b = v.bytes;
    const s = v.payloadOffset;
    const e = s + v.payloadLength;
    // (a method token and a space, then a target: the first bytes of DNS or QUIC rarely are)
    if (!methodShaped(b, s, e) || e - s < 8) return false;
    if (!this.opts.udp) {
      this.stats.udpSkipped++;
      return true;
    }
    const src = v.srcAddr();
    const dst = v.dstAddr();
    const sport = v.srcPort;
    const dport = v.dstPort;
    const parser = new RequestParser(this.opts.limits, {
      request: (head: RequestHead) => {
        const rec = new FullRecord(
          ts,
          src,
          dst,
          sport,
          dport,
          head.method,
          head.host,
          head.uri,
          head.version,
          head.truncated,
        );
        if (head.malformed) {
          rec.malformed = true;
          rec.raw = head.raw;
          this.stats.malformedRequests++;
        }
        this.stats.requests++;
        this.stats.udpRequests++;
        if (head.truncated) this.stats.truncated++;
        this.opts.onRecord(rec);
      },
    });
    parser.feed(b, s, e, ts);
    parser.end();
    return true;
  }

  private countUndecoded(v: PacketView): void {
    this.stats.undecoded++;
    const key = UNDECODED_KINDS.indexOf(v.undecoded) * 0x1000000 + v.undecodedType;
    const known = this.undecodedBy.get(key);
    if (known) known.count++;
    else this.undecodedBy.set(key, { name: v.undecodedName(), count: 1 });
  }

  /** What kept frames from being decoded, most frequent first ("link type IEEE802_11", ...), with counts. */
  undecodedReasons(): { name: string; count: number }[] {
    return [...this.undecodedBy.values()].sort((a, b) => b.count - a.count);
  }

  /** End of input: close every flow (reporting what they hold). */
  finish(): void {
    this.table.closeAll();
    this.frags.expire(Infinity);
    this.stats.fragmentsDropped = this.frags.stats.expired;
  }

  private newFlow(key: string, ends: FlowEnds): HttpFlow {
    const flow = new HttpFlow(key, ends, this.stats.stream, this.opts.maxStreamBuffer, this.heldPool);
    this.opts.onFlowStart?.(ends);
    flow.a.onFirstData = (b, s, e) => this.firstData(flow, true, b, s, e);
    flow.b.onFirstData = (b, s, e) => this.firstData(flow, false, b, s, e);
    return flow;
  }

  /**
   * The first bytes of one direction decide who is the client when no handshake told us, and whether the
   * connection is HTTP/1.x at all: a TLS handshake or the HTTP/2 preface makes it a tunnel (opaqueStart).
   */
  private firstData(flow: HttpFlow, fromA: boolean, b: Uint8Array, s: number, e: number): void {
    if (flow.opaque !== '') return; // the other direction's first bytes decided it
    const kind = opaqueStart(b, s, e);
    if (kind !== NOT_OPAQUE && this.opaqueFirstData(flow, fromA, kind)) return;
    if (flow.clientIsA !== undefined) {
      if (!flow.req) this.setRoles(flow, flow.clientIsA);
      // Roles known from the handshake: a client whose first bytes are not a method token is not HTTP.
      // (A server speaking first would be a hint too, but reordering in a capture can show a response
      // before the request's last segment, so only the client's own bytes decide.)
      if (flow.sawHandshake && !flow.notHttp && flow.clientIsA === fromA && !methodShaped(b, s, e)) {
        if (socksShaped(b, s, e)) return this.throughSocks(flow);
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

  /**
   * A direction's first bytes are a TLS hello or (part of) the HTTP/2 preface: returns true when that
   * decided the connection (or started watching for the rest of the preface), false when the roles
   * contradict it and the bytes go the usual way. A ServerHello decides only while the client has said
   * nothing (its ClientHello lost): after plain HTTP from the client it would be a server's odd answer.
   */
  private opaqueFirstData(flow: HttpFlow, fromA: boolean, kind: number): boolean {
    const senderIsClient = kind !== TLS_SERVER_HELLO;
    const clientIsA = senderIsClient === fromA;
    if (flow.clientIsA !== undefined && flow.clientIsA !== clientIsA) return false;
    if (kind === TLS_SERVER_HELLO && (clientIsA ? flow.a : flow.b).onFirstData === undefined) return false;
    if (kind === H2_PREFACE_PART) {
      // Parsers first: if it is not the preface after all, the bytes watched go to the request parser.
      if (!flow.req) this.setRoles(flow, clientIsA);
      const client = clientIsA ? flow.a : flow.b;
      const watch = new PrefaceWatch(client.consumer, (h2) => {
        flow.watch = undefined;
        if (h2) this.opaqueFlow(flow, 'h2');
        else client.consumer = watch.then;
      });
      flow.watch = watch;
      client.consumer = watch;
      return true;
    }
    flow.clientIsA = clientIsA;
    this.opaqueFlow(flow, kind === H2_PREFACE ? 'h2' : 'tls');
    return true;
  }

  /**
   * The connection is TLS, HTTP/2 or another protocol: both directions become tunnel bytes (no consumer:
   * passed over), the server's bytes held for a request that will not come are dropped (drained at the
   * close they would be parsed), and the filter may stop sending it. The parsers have seen none of its
   * bytes (the client's were a hello or watched (PrefaceWatch), the server's held or, mid-connection,
   * skipped) but for an other protocol's first line, which the request parser refused.
   */
  private opaqueFlow(flow: HttpFlow, kind: 'tls' | 'h2' | 'other'): void {
    flow.opaque = kind;
    flow.a.consumer = undefined;
    flow.b.consumer = undefined;
    flow.held.clear();
    flow.clientHeld.clear();
    if (kind === 'tls') this.stats.tlsConnections++;
    else if (kind === 'h2') this.stats.h2Connections++;
    else this.stats.otherConnections++;
    if (!flow.notHttp) {
      flow.notHttp = true;
      this.opts.onNotHttp?.(flow.ends);
    }
  }

  /**
   * A 101 switched the connection: the client's next bytes are the HTTP/2 preface when it upgraded to
   * h2c (RFC 9113 §3.2 makes the client send it first), to be counted; whatever they are, they are the
   * tunnel's and not parsed (as the request parser in tunnel mode would not).
   */
  private watchUpgrade(flow: HttpFlow): void {
    if (flow.watch || flow.opaque !== '') return;
    const client = flow.clientIsA === false ? flow.b : flow.a;
    const watch = new PrefaceWatch(undefined, (h2) => {
      flow.watch = undefined;
      client.consumer = undefined;
      if (h2) this.stats.h2Connections++;
    });
    flow.watch = watch;
    client.consumer = watch;
  }

  private setRoles(flow: HttpFlow, clientIsA: boolean): void {
    flow.clientIsA = clientIsA;
    const client = clientIsA ? flow.a : flow.b;
    const server = clientIsA ? flow.b : flow.a;
    const stats = this.stats;
    const opts = this.opts;
    const req = new RequestParser(opts.limits, {
      request: (head: RequestHead) => this.request(flow, head),
      otherProtocol: () => this.opaqueFlow(flow, 'other'),
    });
    const resp = new ResponseParser(opts.limits, {
      response: (head: ResponseHead) => this.response(flow, head),
    });
    resp.hold = () => flow.waiting.length === 0 && !flow.closing;
    // The CONNECT is the newest request and its answer has not come: the bytes after it wait for it.
    req.awaitAnswer = () => !flow.closing && flow.waiting.length > 0 && flow.waiting.at(-1)!.method === 'CONNECT';
    if (!flow.sawHandshake) {
      // Joined mid-connection: the first bytes may be the middle of a message.
      req.resync = true;
      resp.resync = true;
    }
    flow.req = req;
    flow.resp = resp;
    client.consumer = {
      data: (b, s, e, ts) => this.requestData(flow, b, s, e, ts),
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

  /** A client that speaks SOCKS first: HTTP may follow the handshake (socks.ts strips it). */
  private throughSocks(flow: HttpFlow): void {
    const socks = (flow.socks = new SocksHandshake());
    const client = flow.clientIsA ? flow.a : flow.b;
    const server = flow.clientIsA ? flow.b : flow.a;
    const failed = () => {
      if (flow.notHttp) return;
      flow.notHttp = true;
      this.opts.onNotHttp?.(flow.ends);
    };
    client.consumer = behindSocks(client.consumer!, socks, true, failed);
    server.consumer = behindSocks(server.consumer!, socks, false, failed);
  }

  private requestData(flow: HttpFlow, b: Uint8Array, s: number, e: number, ts: number): void {
    if (!flow.clientHeld.empty) {
      this.hold(flow, flow.clientHeld, flow.req!, MAX_CLIENT_HOLD, b, s, e, ts);
      return;
    }
    const p = flow.req!.feed(b, s, e, ts);
    if (p < e) this.hold(flow, flow.clientHeld, flow.req!, MAX_CLIENT_HOLD, b, p, e, ts);
  }

  private responseData(flow: HttpFlow, b: Uint8Array, s: number, e: number, ts: number): void {
    const max = this.opts.maxResponseHold;
    if (!flow.held.empty) {
      this.hold(flow, flow.held, flow.resp!, max, b, s, e, ts);
      return;
    }
    const p = flow.resp!.feed(b, s, e, ts);
    if (p < e) this.hold(flow, flow.held, flow.resp!, max, b, p, e, ts);
  }

  /**
   * Keep bytes a parser stopped before: the server's until the request they answer comes, the client's
   * after a CONNECT until its answer. Bounded: past `max` they are parsed without waiting (responses then
   * become orphans; the client's bytes are a request where they begin like one, else the tunnel's).
   */
  private hold(
    flow: HttpFlow,
    kept: HeldBytes,
    parser: HeldFeeder,
    max: number,
    b: Uint8Array,
    s: number,
    e: number,
    ts: number,
  ): void {
    kept.push(b, s, e, ts);
    // Over the flow's bound, or all flows together over theirs (connections that each hold a little
    // would otherwise add up past the memory budget): this flow parses what it holds now.
    if (kept.bytes > max || this.heldPool.bytes > this.maxHeld) {
      flow.closing = true;
      kept.drain(parser);
      flow.closing = false;
    }
  }

  private request(flow: HttpFlow, head: RequestHead): void {
    const clientIsA = flow.clientIsA !== false;
    const ends = flow.ends;
    flow.srcText ??= formatFlowAddr(ends.ipVersion, clientIsA ? ends.addrA : ends.addrB);
    flow.dstText ??= formatFlowAddr(ends.ipVersion, clientIsA ? ends.addrB : ends.addrA);
    const rec = new FullRecord(
      head.ts,
      flow.srcText,
      flow.dstText,
      clientIsA ? ends.portA : ends.portB,
      clientIsA ? ends.portB : ends.portA,
      head.method,
      head.host || (flow.socks?.target ?? ''),
      head.uri,
      head.version,
      head.truncated,
    );
    if (head.malformed) {
      rec.malformed = true;
      rec.raw = head.raw;
      this.stats.malformedRequests++;
    }
    if (flow.socks) {
      rec.via = flow.socks.version;
      rec.socks_target = flow.socks.target;
    }
    this.stats.requests++;
    if (head.truncated) this.stats.truncated++;
    if (this.opts.immediate) this.opts.onRecord(rec);
    flow.waiting.push(rec);
    this.waitingMemory += requestCost(rec);
    if (flow.waiting.length > 1024) this.emit(this.unwait(flow)); // pipelining flood: stop waiting
    // Over the budget: the flow piling requests up reports its oldest now, without a status.
    while (this.waitingMemory > this.maxWaitingMemory && flow.waiting.length > 0) {
      this.stats.reportedEarly++;
      this.emit(this.unwait(flow));
    }
    if (!flow.held.empty && !this.answering) flow.held.drain(flow.resp!);
  }

  private response(flow: HttpFlow, head: ResponseHead): string | undefined {
    let rec: UrlRecord | undefined = flow.waiting[0];
    // Mid-connection: a response captured before the first request we saw answers a request we never saw.
    // Only until the first pairing: after it the directions are aligned, and a response captured before
    // its request is capture reordering (the request's segment came late), not a request we missed.
    if (rec && !flow.sawHandshake && !flow.paired && head.ts < rec.ts) rec = undefined;
    // An error answering a request line that has not ended (414 to a line too long, a client that stopped):
    // on a connection whose directions are aligned, it can only answer that line.
    if (!rec && head.status >= 400 && (flow.sawHandshake || flow.paired) && flow.req) {
      // (the request it reports must not drain held responses: this one is being parsed from them)
      this.answering = true;
      if (flow.req.answeredMidLine()) rec = flow.waiting[0];
      this.answering = false;
    }
    if (!rec) {
      this.stats.orphanResponses++;
      return undefined;
    }
    this.unwait(flow);
    flow.paired = true;
    this.stats.responses++;
    rec.status = head.status;
    rec.latency_ms = Math.round((head.ts - rec.ts) * 1e6) / 1e3;
    this.emit(rec);
    if (head.status === 101) {
      flow.req?.toTunnel();
      this.watchUpgrade(flow);
    } else if (head.status < 300) {
      // A CONNECT the server agreed to: the client's bytes from here on are the tunnel's.
      if (rec.method === 'CONNECT') flow.req?.toTunnel();
      else if (flow.waiting.length === 0) flow.req?.declineBody();
    } else if (flow.waiting.length === 0) {
      // A final answer to the newest request while its body may not have come (Expect: 100-continue).
      flow.req?.declineBody();
    }
    if (rec.method === 'CONNECT' && !flow.clientHeld.empty) {
      // The bytes the client sent after the CONNECT, now that the answer says what they are. (The
      // requests among them must not drain held responses: this one is still being parsed from them.)
      const was = this.answering;
      this.answering = true;
      flow.clientHeld.drain(flow.req!);
      this.answering = was;
    }
    return rec.method;
  }

  /** The flow's oldest waiting request, no longer waiting. */
  private unwait(flow: HttpFlow): UrlRecord {
    const rec = flow.waiting.shift()!;
    this.waitingMemory -= requestCost(rec);
    return rec;
  }

  private emit(rec: UrlRecord): void {
    if (!this.opts.immediate) this.opts.onRecord(rec);
  }

  /** The table closed `flow` (its streams flushed): finish its messages and report what it holds. */
  private closed(flow: HttpFlow): void {
    flow.closing = true;
    // Ended inside what could have been the HTTP/2 preface: it was not; the bytes are the parser's.
    flow.watch?.end();
    if (!flow.clientHeld.empty) flow.clientHeld.drain(flow.req!);
    flow.req?.end();
    if (!flow.held.empty) flow.held.drain(flow.resp!);
    flow.resp?.end();
    for (const rec of flow.waiting) {
      this.waitingMemory -= requestCost(rec);
      this.emit(rec);
    }
    // (emptied, not replaced: a field's first reassignment makes V8 drop code compiled on it)
    flow.waiting.length = 0;
    this.stats.anomalies += (flow.req?.anomalies ?? 0) + (flow.resp?.anomalies ?? 0);
    this.opts.onFlowEnd?.(flow.ends);
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    this.table.sweep(now);
    this.frags.expire(now);
    this.stats.fragmentsDropped = this.frags.stats.expired;
  }
}

/** Capital letters, '-' or '_' (a method token as real clients send them), then a space or the end. */
function methodShaped(b: Uint8Array, s: number, e: number): boolean {
  let k = s;
  while (k < e && k - s < 33 && ((b[k]! >= 65 && b[k]! <= 90) || b[k] === 45 || b[k] === 95)) k++;
  return k > s && (k === e || b[k] === 32);
}

/**
 * A request as full mode reports it. The full URL is built only when asked for: text output never
 * asks, and at a hundred thousand requests a second the string and its pattern test show.
 */
class FullRecord implements UrlRecord {
  status: number | null = null;
  latency_ms: number | null = null;
  malformed = false;
  raw = '';
  via = '';
  socks_target = '';
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
