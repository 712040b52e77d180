/**
 * Full mode as a pipeline: an optional packet filter (the eBPF program, in the VM or the kernel) in front
 * of the FullAnalyzer. When the flow ends, the analyzer tells the filter so it can forget the session.
 */
import { FullAnalyzer, type FlowEnds, type FullOptions, type FullStats } from './full-analyzer.js';
import type { Frame } from '../../packet/frame.js';
import type { UrlPipeline, UrlSummary } from './pipeline.js';
import type { UrlRecord } from './record.js';

/** A per-packet filter (the eBPF program) and the session bookkeeping it shares with userspace. */
export interface FullFilter {
  /** true: keep the frame */
  keep(frame: Frame): boolean;
  /** the flow is over: drop its entry from the session map */
  forget(flow: FlowEnds): void;
  /** entries in the session map right now */
  readonly sessions: number;
  /**
   * The frames from now until endChunk() lie in buffers that nobody writes until then (a capture
   * reader's chunk during one read): keep() may read ahead of the frame it is given.
   */
  beginChunk?(): void;
  /** The buffers of the frames since beginChunk() may be refilled: keep() reads no more than its frame. */
  endChunk?(): void;
}

export class FullPipeline implements UrlPipeline {
  readonly analyzer: FullAnalyzer;
  private seen = 0;
  private kept = 0;
  /** frames the capture's snapshot length cut short (caplen < origLen) */
  private cut = 0;
  /** of them, those where the cut may have hidden a request */
  private cutHiding = 0;

  constructor(
    opts: Partial<FullOptions> & { onRecord(rec: UrlRecord): void },
    private readonly filter?: FullFilter,
  ) {
    const ended = opts.onFlowEnd;
    this.analyzer = new FullAnalyzer({
      ...opts,
      onFlowEnd:
        filter && ended
          ? (f) => {
              filter.forget(f);
              ended(f);
            }
          : filter
            ? (f) => filter.forget(f)
            : ended,
      onNotHttp: filter ? (f) => filter.forget(f) : undefined,
    });
  }

  packet(frame: Frame): void {
    this.seen++;
    if (frame.caplen < frame.origLen) this.countCut(frame);
    if (this.filter && !this.filter.keep(frame)) {
      // The filter keeps TCP: UDP frames it dropped are looked at for HTTP over UDP (read or counted).
      if (maybeUdp(frame)) this.analyzer.udpOnly(frame);
      return;
    }
    this.kept++;
    this.analyzer.packet(frame);
  }

  /**
   * The frames from now until endChunk() lie in buffers nobody writes until then, past the frame too (a
   * capture file's chunk during one read): the filter may copy several frames at once (FullFilter).
   */
  beginChunk(): void {
    this.filter?.beginChunk?.();
  }

  /** The chunk's frames are over: their buffers may be refilled. */
  endChunk(): void {
    this.filter?.endChunk?.();
  }

  /** A frame that a kernel filter already kept (live capture): skip the userspace filter. */
  keptPacket(frame: Frame): void {
    this.seen++;
    if (frame.caplen < frame.origLen) this.countCut(frame);
    this.kept++;
    this.analyzer.packet(frame);
  }

  /** The capture's clock reached `ts` (no frame here): sweep idle flows as a frame at `ts` would. */
  tick(ts: number): void {
    this.analyzer.tick(ts);
  }

  finish(): void {
    this.analyzer.finish();
  }

  summary(): UrlSummary {
    return fullSummary(this.counts(), this.analyzer.stats, this.analyzer.undecodedReasons());
  }

  /** A frame the snapshot length cut short: counted, and whether the cut may have hidden a request. */
  private countCut(frame: Frame): void {
    this.cut++;
    if (this.analyzer.cutCouldHide(frame)) this.cutHiding++;
  }

  /** Frames seen, kept by the filter, and cut short by the snapshot length so far. */
  counts(): FrameCounts {
    return { seen: this.seen, kept: this.kept, cut: this.cut, cutHiding: this.cutHiding };
  }
}

/** Frames a full-mode pipeline counted itself (the analyzer counts the rest). */
export interface FrameCounts {
  seen: number;
  kept: number;
  cut: number;
  /** of `cut`, those where the cut may have hidden a request (see FullAnalyzer.cutCouldHide) */
  cutHiding: number;
}

/**
 * The summary of a full-mode run from its counters: one pipeline's, or the sums of several (a sharded
 * run adds its shards' up) — the same words either way.
 */
export function fullSummary(
  c: FrameCounts,
  s: FullStats,
  reasons: readonly { name: string; count: number }[],
): UrlSummary {
  return {
    packets: c.seen,
    kept: c.kept,
    requests: s.requests,
    sessions: s.sessions,
    truncated: s.truncated,
    kernelDrops: 0,
    extra: {
      responses: s.responses,
      'orphan responses': s.orphanResponses,
      'out-of-order segments': s.stream.outOfOrder,
      retransmissions: s.stream.retransmitted,
      'stream gaps': s.stream.gaps,
      'IP fragments': s.fragments,
      'malformed frames': s.malformed,
      'parse anomalies': s.anomalies,
      'evicted flows': s.evicted,
      'of them SYN-only': s.evictedQuiet,
      'streams flushed over the memory budget': s.bufferFlushes,
      'requests reported before their response (memory budget)': s.reportedEarly,
      'fragmented datagrams dropped': s.fragmentsDropped,
      'undecoded frames': s.undecoded,
      'malformed request lines': s.malformedRequests,
      'frames cut short by the snapshot length': c.cut,
      'requests over UDP': s.udpRequests,
      'HTTP-over-UDP datagrams skipped (--udp reads them)': s.udpSkipped,
      'HTTP/2 connections (requests inside not decoded)': s.h2Connections,
      'TLS connections (encrypted, not decoded)': s.tlsConnections,
      'connections of other protocols in HTTP syntax (RTSP, SIP: not decoded)': s.otherConnections,
    },
    ...undecodedWarning(c, s, reasons),
  };
}

/**
 * No silent zero: when most frames (or all that were not plain IP) could not be decoded, the summary
 * carries a warning naming what stopped the decoder, and `bpfkit urls` exits 1.
 */
function undecodedWarning(
  c: FrameCounts,
  s: FullStats,
  reasons: readonly { name: string; count: number }[],
): { warning?: string } {
  // A snapshot length too short for the TCP payload: nothing found, and the frames say why. Any such
  // frame may have held the request that is missing; frames of other protocols cut short (ICMP, ARP)
  // hid nothing and do not count.
  if (s.requests === 0 && c.cutHiding > 0)
    return {
      warning:
        `${c.cutHiding} of ${c.seen} frames were cut short by the capture's snapshot length: ` +
        `requests in them cannot be found`,
    };
  if (s.undecoded === 0 || (s.undecoded * 2 <= c.seen && s.ipFrames > 0)) return {};
  const named = reasons
    .slice(0, 3)
    .map((r) => `${r.name}: ${r.count}`)
    .join(', ');
  return {
    warning:
      `${s.undecoded} of ${c.seen} frames not decoded (${named}${reasons.length > 3 ? ', ...' : ''}): ` +
      `requests in them cannot be found`,
  };
}

/**
 * Could this frame the filter dropped be UDP? Ethernet frames are told by their EtherType and protocol
 * (IPv4 UDP, IPv6 with UDP next, or tagged/tunnelled: decode to see); other link types pass the filter.
 */
function maybeUdp(f: Frame): boolean {
  const b = f.bytes;
  const o = f.offset;
  if (f.caplen < 34) return false;
  const et = (b[o + 12]! << 8) | b[o + 13]!;
  if (et === 0x0800) return b[o + 23] === 17;
  if (et === 0x86dd) return b[o + 20] === 17 || b[o + 20] === 0 || b[o + 20] === 60 || b[o + 20] === 43;
  return et === 0x8100 || et === 0x88a8 || et === 0x9100;
}
