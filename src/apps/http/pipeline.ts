/**
 * What the `urls` command drives, whatever the mode: frames in (with their capture time), records out,
 * counters for the summary. Packet sources (capture files, a live socket) call `packet` for every frame
 * (the pipeline runs the filter), or `keptPacket` for frames a filter elsewhere already kept.
 */
import type { Frame } from '../../packet/frame.js';

/** What a URL pipeline counted over a run: packets, requests, losses and why — printed as the summary. */
export interface UrlSummary {
  /** frames read from the source */
  packets: number;
  /** frames the eBPF filter let through (equal to packets when no filter runs) */
  kept: number;
  requests: number;
  sessions: number;
  truncated: number;
  /** the kernel's PACKET_STATISTICS drops (live capture only) */
  kernelDrops: number;
  /** free-form extras shown in the summary (mode specific) */
  extra: Record<string, number>;
  /**
   * Set when the run's result cannot be trusted as complete (most frames were not decoded): printed on
   * its own line, and `bpfkit urls` exits 1.
   */
  warning?: string;
}

/** What the `urls` command drives, whatever the mode: frames in, records out, counters for the summary. */
export interface UrlPipeline {
  /** A frame from the source (before the filter); read only during the call. */
  packet(frame: Frame): void;
  /** A frame that a kernel filter already kept (live capture): counted as seen and kept, not filtered again. */
  keptPacket(frame: Frame): void;
  /** End of input: report what is still in progress. */
  finish(): void;
  /** Counters so far. */
  summary(): UrlSummary;
}

/** The summary line `bpfkit urls` prints at the end. */
export function formatSummary(s: UrlSummary): string {
  const extras = Object.entries(s.extra)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `, ${v} ${k}`)
    .join('');
  return (
    `urls: ${s.packets} packets seen, ${s.kept} kept by filter, ${s.requests} requests, ${s.sessions} sessions, ` +
    `${s.truncated} truncated, ${s.kernelDrops} kernel drops${extras}\n`
  );
}
