/**
 * The table of TCP connections seen in a packet stream: finds each segment's connection (both directions
 * share one entry), feeds the segment to that direction's reassembled stream, and decides when a
 * connection is over — FIN both ways, RST, idle past the timeout, or evicted (oldest first) when the table
 * is full. What a connection carries is the owner's business: it makes the flow objects (a subclass of
 * `TcpFlow`), attaches consumers to their streams, and hears when a flow ends.
 *
 * Bounded: at most `maxFlows` flows and `maxFlowMemory` bytes of them (each flow costs what the owner says
 * it costs: `quietFlowCost` until it carries data, `flowCost` after), `maxStreamBuffer` payload bytes held
 * out of order per direction and `maxBufferedBytes` of memory for that over all; connections closed by
 * FIN/RST are remembered (at most 65536, for the idle timeout) so that a late copy of one of their
 * segments does not open them again.
 *
 * Eviction is fair under attack: to make room, flows that never carried data (SYN-only: a SYN flood) go
 * first, oldest first; then the flow idle longest (flows with data are kept in least-recently-used order,
 * a segment moves its flow to the back). Every eviction is counted.
 */
import { TCP_FLAG, IPPROTO } from '../decode/constants.js';
import type { PacketView } from '../decode/packet-view.js';
import { flowEnds, flowKey, isFromA, type FlowEnds } from './flow-key.js';
import { TcpStream, type StreamStats } from './tcp-stream.js';

/**
 * Zero as a double, the first value of fields that hold capture times: a small integer first would make
 * V8 change the field's representation at the first packet and drop the code compiled for it (-0 is 0
 * to every comparison here, but never a small integer).
 */
const NO_TIME = -0;

/** One TCP connection: its two directions, reassembled, and the table's bookkeeping. */
export class TcpFlow {
  /** the direction from endpoint A (see flow-key.ts) */
  readonly a: TcpStream;
  readonly b: TcpStream;
  /** a SYN of this connection was seen (it did not start before the capture) */
  sawHandshake = false;
  /** capture time of the last segment */
  lastTs = NO_TIME;
  rst = false;
  /** closed: the table no longer holds it */
  ended = false;
  /** no payload seen yet (SYN-only): first to be evicted */
  quiet = true;
  /** neighbours in the table's eviction list (quiet flows, or flows with data by last use) */
  prevFlow: TcpFlow | undefined;
  nextFlow: TcpFlow | undefined;

  constructor(
    readonly key: string,
    readonly ends: FlowEnds,
    stats: StreamStats,
    maxStreamBuffer: number,
  ) {
    this.a = new TcpStream(stats, maxStreamBuffer);
    this.b = new TcpStream(stats, maxStreamBuffer);
  }
}

/** What the table's owner does with flows. */
export interface FlowHandlers<F extends TcpFlow> {
  /** A new connection: make its flow (the streams get their consumers now or when roles are known). */
  create(key: string, ends: FlowEnds): F;
  /** A SYN (`synAck`: a SYN-ACK) from endpoint A (`fromA`) or B, before its stream takes it. */
  syn?(flow: F, fromA: boolean, synAck: boolean): void;
  /** The flow is over and out of the table; both streams have delivered everything they could. */
  closed(flow: F): void;
}

/** Bounds of a TcpFlowTable. */
export interface FlowTableOptions {
  /** close flows idle this long (seconds of capture time) */
  idleTimeoutSec: number;
  /** most flows tracked at once; the oldest is closed to make room */
  maxFlows: number;
  /** bytes one direction may hold out of order before a hole is skipped */
  maxStreamBuffer: number;
  /** memory all streams together may hold out of order (bytes, structure included: SegmentStore's costs) */
  maxBufferedBytes: number;
  /** memory the flows themselves may take, by the costs below (default: no limit) */
  maxFlowMemory?: number;
  /** what a flow costs before it carries data, in bytes (the owner measures its own flow type) */
  quietFlowCost?: number;
  /** what a flow costs once it carries data */
  flowCost?: number;
}

/** The table's counters (the owner may hand in a larger stats object that includes these). */
export interface FlowTableStats {
  tcpSegments: number;
  /** flows opened */
  sessions: number;
  /** flows closed for being idle or to make room */
  evicted: number;
  /** of those, flows that never carried data, evicted to make room (a SYN flood) */
  evictedQuiet: number;
  /** streams made to skip their holes because all streams together held too much out of order */
  bufferFlushes: number;
  stream: StreamStats;
}

/** A fresh FlowTableStats, all zero. */
export function newFlowTableStats(): FlowTableStats {
  return {
    tcpSegments: 0,
    sessions: 0,
    evicted: 0,
    evictedQuiet: 0,
    bufferFlushes: 0,
    stream: { bufferedBytes: 0, retransmitted: 0, outOfOrder: 0, gaps: 0 },
  };
}

/** Size of the recent-flow cache (a power of two). */
const RECENT_FLOWS = 4096;
/** Most connections remembered as closed. */
const MAX_CLOSED = 65536;
const TCP_FIN = TCP_FLAG.FIN;
const TCP_SYN = TCP_FLAG.SYN;
const TCP_RST = TCP_FLAG.RST;
const TCP_ACK = TCP_FLAG.ACK;

/** The connections of a packet stream (see the file comment); F is the owner's flow type. */
export class TcpFlowTable<F extends TcpFlow> {
  private readonly flows = new Map<string, F>();
  /**
   * The eviction lists (intrusive, through prevFlow/nextFlow): flows without data in creation order, and
   * flows with data by last use. (Taking the first entry of the Map instead would walk over every
   * deleted slot at its head: quadratic under churn.)
   */
  private readonly quietList = new FlowList();
  private readonly usedList = new FlowList();
  /** memory of the flows, by the owner's costs */
  private flowMemory = 0;
  private readonly quietCost: number;
  private readonly usedCost: number;
  private readonly maxFlowMemory: number;
  /**
   * Connections that ended with FIN/RST: where each direction stopped. A late copy of one of their
   * segments (retransmission, reordering) must not start a new flow and have its data delivered twice.
   */
  private readonly closedFlows = new Map<string, { a: number; b: number; ts: number }>();
  private now = NO_TIME;
  /**
   * Recent IPv4 flows, direct-mapped by a hash of their endpoints in canonical order: a segment of a
   * flow found here skips building the string key and the map lookup (captures interleave many
   * connections, so remembering only the previous packet's flow is not enough).
   */
  private readonly recent: (F | undefined)[] = new Array<F | undefined>(RECENT_FLOWS).fill(undefined);
  private readonly recentA = new Int32Array(RECENT_FLOWS);
  private readonly recentB = new Int32Array(RECENT_FLOWS);
  private readonly recentPorts = new Int32Array(RECENT_FLOWS);

  constructor(
    private readonly opts: FlowTableOptions,
    private readonly handlers: FlowHandlers<F>,
    readonly stats: FlowTableStats = newFlowTableStats(),
  ) {
    this.quietCost = opts.quietFlowCost ?? 0;
    this.usedCost = opts.flowCost ?? this.quietCost;
    this.maxFlowMemory = opts.maxFlowMemory ?? Infinity;
  }

  /** Memory the flows take now, by the owner's costs (bytes). */
  get memory(): number {
    return this.flowMemory;
  }

  /** Flows tracked right now. */
  get size(): number {
    return this.flows.size;
  }

  /** Every flow tracked right now (a snapshot). */
  active(): F[] {
    return [...this.flows.values()];
  }

  /**
   * A decoded TCP segment (`v.proto` is TCP, `v.payloadOffset` >= 0, not a fragment) captured at `ts`
   * (seconds): find or open its flow and feed the segment to the stream of its direction.
   */
  segment(v: PacketView, ts: number): void {
    if (v.proto !== IPPROTO.TCP) return;
    this.now = ts;
    this.stats.tcpSegments++;
    let fromA: boolean;
    let slot = -1;
    if (v.ipVersion === 4) {
      fromA = v.srcIPv4 < v.dstIPv4 || (v.srcIPv4 === v.dstIPv4 && v.srcPort <= v.dstPort);
      const a = (fromA ? v.srcIPv4 : v.dstIPv4) | 0;
      const b = (fromA ? v.dstIPv4 : v.srcIPv4) | 0;
      const ports = fromA ? (v.srcPort << 16) | v.dstPort : (v.dstPort << 16) | v.srcPort;
      const h = Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ ports, 0x85ebca6b);
      slot = (h ^ (h >>> 15)) & (RECENT_FLOWS - 1);
      const known = this.recent[slot];
      // (a SYN may start a new connection on a tracked 4-tuple: the full path below decides)
      if (
        known !== undefined &&
        !known.ended &&
        (v.tcpFlags & TCP_SYN) === 0 &&
        this.recentA[slot] === a &&
        this.recentB[slot] === b &&
        this.recentPorts[slot] === ports
      ) {
        this.onFlowSegment(known, fromA, v, ts);
        return;
      }
      this.recentA[slot] = a;
      this.recentB[slot] = b;
      this.recentPorts[slot] = ports;
      this.recent[slot] = undefined;
    } else {
      fromA = isFromA(v);
    }
    const key = flowKey(v, fromA);
    const flags = v.tcpFlags;
    let flow = this.flows.get(key);
    if (flow && (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      // A new connection on a 4-tuple we still track: the old one is over (port reuse).
      const st = fromA ? flow.a : flow.b;
      if (!st.synced || st.next !== ((v.tcpSeq + 1) | 0)) {
        this.close(flow);
        flow = undefined;
      }
    }
    if (!flow) {
      // Only a SYN or data starts tracking (a stray ACK, FIN or RST of a finished flow does not).
      if ((flags & TCP_SYN) === 0 && v.payloadLength === 0) return;
      const ended = this.closedFlows.get(key);
      if (ended && (flags & TCP_SYN) === 0) {
        const next = fromA ? ended.a : ended.b;
        if (next >= 0 && ((v.tcpSeq + v.payloadLength - next) | 0) <= 0) {
          this.stats.stream.retransmitted++;
          return;
        }
      }
      if (ended) this.closedFlows.delete(key);
      while (
        this.flows.size > 0 &&
        (this.flows.size >= this.opts.maxFlows || this.flowMemory + this.quietCost > this.maxFlowMemory)
      )
        this.evictOne(undefined);
      flow = this.handlers.create(key, flowEnds(v, fromA));
      this.flows.set(key, flow);
      this.quietList.push(flow);
      this.flowMemory += this.quietCost;
      this.stats.sessions++;
    }
    if (slot >= 0) this.recent[slot] = flow;
    this.onFlowSegment(flow, fromA, v, ts);
  }

  private onFlowSegment(flow: F, fromA: boolean, v: PacketView, ts: number): void {
    const flags = v.tcpFlags;
    flow.lastTs = ts;
    if (v.payloadLength > 0) this.touch(flow);
    const stream = fromA ? flow.a : flow.b;
    if (flags & TCP_SYN) {
      flow.sawHandshake = true;
      this.handlers.syn?.(flow, fromA, (flags & TCP_ACK) !== 0);
      stream.syn(v.tcpSeq | 0);
    }
    // Data carried by a SYN (TCP Fast Open) starts after the SYN's own sequence number.
    // (as int32: see TcpStream.next)
    const seq = (flags & TCP_SYN ? v.tcpSeq + 1 : v.tcpSeq) | 0;
    const end = v.payloadOffset + v.payloadLength;
    stream.segment(seq, v.bytes, v.payloadOffset, end, (flags & TCP_FIN) !== 0, ts, v.payloadCut);
    if (flags & TCP_RST) flow.rst = true;
    if (flow.rst || (flow.a.finished && flow.b.finished)) this.close(flow);
    else if (this.stats.stream.bufferedBytes > this.opts.maxBufferedBytes) {
      this.stats.bufferFlushes++;
      stream.flush();
    }
  }

  /** `flow` carried data: it leaves the quiet list (costing more now) or moves to the back of the used one. */
  private touch(flow: F): void {
    if (flow.quiet) {
      flow.quiet = false;
      this.quietList.remove(flow);
      this.usedList.push(flow);
      this.flowMemory += this.usedCost - this.quietCost;
      while (this.flowMemory > this.maxFlowMemory && this.flows.size > 1) if (!this.evictOne(flow)) break;
    } else if (this.usedList.last !== flow) {
      this.usedList.remove(flow);
      this.usedList.push(flow);
    }
  }

  /** Close `flow` now: flush both streams, then tell the owner. Closing twice does nothing. */
  close(flow: F): void {
    if (flow.ended) return;
    flow.ended = true;
    if (this.flows.get(flow.key) === flow) this.flows.delete(flow.key);
    (flow.quiet ? this.quietList : this.usedList).remove(flow);
    this.flowMemory -= flow.quiet ? this.quietCost : this.usedCost;
    if (flow.rst || flow.a.finished || flow.b.finished) {
      // (where each direction stopped, as uint32: -1 is "not known")
      this.closedFlows.set(flow.key, {
        a: flow.a.synced ? flow.a.next >>> 0 : -1,
        b: flow.b.synced ? flow.b.next >>> 0 : -1,
        ts: this.now,
      });
      if (this.closedFlows.size > MAX_CLOSED) this.closedFlows.delete(this.closedFlows.keys().next().value as string);
    }
    // (nothing delivered yet: flushing may deliver the first bytes, and the owner pick roles from them)
    flow.a.flush();
    flow.b.flush();
    this.handlers.closed(flow);
  }

  /** End of input: close every flow. */
  closeAll(): void {
    for (const flow of [...this.flows.values()]) this.close(flow);
  }

  /** Close flows idle past the timeout at capture time `now`; forget closed connections as old. */
  sweep(now: number): void {
    this.now = now;
    const limit = now - this.opts.idleTimeoutSec;
    for (const flow of this.flows.values()) {
      if (flow.lastTs < limit) {
        this.stats.evicted++;
        this.close(flow);
      }
    }
    for (const [key, c] of this.closedFlows) {
      if (c.ts >= limit) break; // insertion order is time order
      this.closedFlows.delete(key);
    }
  }

  /** Close one flow to make room (never `keep`): the oldest quiet one, else the one idle longest. */
  private evictOne(keep: F | undefined): boolean {
    let victim = this.quietList.first as F | undefined;
    if (victim === keep) victim = victim?.nextFlow as F | undefined;
    if (victim) this.stats.evictedQuiet++;
    else {
      victim = this.usedList.first as F | undefined;
      if (victim === keep) victim = victim?.nextFlow as F | undefined;
    }
    if (!victim) return false;
    this.stats.evicted++;
    this.close(victim);
    return true;
  }
}

/** A doubly linked list of flows through their prevFlow/nextFlow fields: O(1) push, remove, first. */
class FlowList {
  first: TcpFlow | undefined;
  last: TcpFlow | undefined;

  push(f: TcpFlow): void {
    f.prevFlow = this.last;
    f.nextFlow = undefined;
    if (this.last) this.last.nextFlow = f;
    else this.first = f;
    this.last = f;
  }

  remove(f: TcpFlow): void {
    if (f.prevFlow) f.prevFlow.nextFlow = f.nextFlow;
    else if (this.first === f) this.first = f.nextFlow;
    else return; // not in this list
    if (f.nextFlow) f.nextFlow.prevFlow = f.prevFlow;
    else this.last = f.prevFlow;
    f.prevFlow = f.nextFlow = undefined;
  }
}
