/**
 * Live capture for `bpfkit urls -i IFACE`: an AF_PACKET raw socket on the interface with the URL filter
 * attached in the kernel (SO_ATTACH_BPF), so only the packets the eBPF program keeps cross into
 * userspace; they go to the pipeline as already-kept frames. Userspace shares the program's `sessions`
 * map with the kernel (deleting entries there, as the classic design does). Returns the kernel's drop
 * count (PACKET_STATISTICS).
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../../util/errors.js';
import type { BuiltPipeline } from './build-pipeline.js';
import { FrameView } from '../../packet/frame.js';
import type { FrontFilter } from './live-front-filter.js';

/** Options of `captureLive`. */
export interface LiveOptions {
  /** stop after this many kept packets (0: no limit) */
  count: number;
  /** polled a few times a second: true ends the capture (SIGINT) */
  shouldStop: () => boolean;
  /** called once the filter is attached: from then on every packet of the interface is seen */
  onListening?: () => void;
  /** a pcap-filter expression run in the kernel in front of the URL filter (live-front-filter.ts) */
  filter?: string;
}

const PACKET_OUTGOING = 4;
const ARPHRD_LOOPBACK = 772;
const LINKTYPE_EN10MB = 1;

const ARPHRD_ETHER = 1;

/** The interface's ARPHRD_* type from sysfs (undefined when it cannot be read, e.g. no such interface). */
function arphrdOf(iface: string): number | undefined {
  try {
    return Number(readFileSync(`/sys/class/net/${iface}/type`, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/**
 * Sniff live on `iface`: the pipeline's filter runs in the kernel on an AF_PACKET socket (needs root).
 * Resolves to the kernel's drop count when the capture ends.
 */
export async function captureLive(iface: string, built: BuiltPipeline, opts: LiveOptions): Promise<number> {
  if (!built.loaded) throw new UsageError('live capture runs the filter in the kernel: use --engine kernel');
  // Frames are decoded (and a --filter expression compiled) as Ethernet: say so rather than misread others.
  const arphrd = arphrdOf(iface);
  if (arphrd !== undefined && arphrd !== ARPHRD_ETHER && arphrd !== ARPHRD_LOOPBACK)
    throw new UsageError(
      `${iface}: link type ARPHRD ${arphrd} is not Ethernet or loopback; live capture reads Ethernet frames only (capture to a file with tcpdump and run urls on it)`,
    );
  const { PacketSocket } = await import('../../kernel/packet-socket.js');
  // (the expression compiler is loaded only when there is an expression)
  const frontFilter = opts.filter !== undefined ? (await import('./live-front-filter.js')).frontFilter : undefined;
  // A large receive queue absorbs bursts while userspace is busy (the kernel caps it at rmem_max).
  const sock = PacketSocket.open({ ifname: iface, bufferSize: 16 << 20 });
  // On a loopback device every packet is seen twice (sent, then received): keep one copy, like tcpdump.
  const skipOutgoing = arphrd === ARPHRD_LOOPBACK;
  const abort = new AbortController();
  const timer = setInterval(() => {
    if (opts.shouldStop()) abort.abort();
  }, 50);
  let kept = 0;
  let front: FrontFilter | undefined;
  try {
    if (frontFilter) front = frontFilter(opts.filter!, built.loaded.program.fd);
    sock.attachBpf(front?.fd ?? built.loaded.program.fd);
    sock.stats(); // reset the kernel's counters: what came before the filter is not ours to count
    const frame = new FrameView();
    opts.onListening?.();
    for await (const p of sock.packets(abort.signal)) {
      if (skipOutgoing && p.pktType === PACKET_OUTGOING) continue;
      built.pipeline.keptPacket(
        frame.set(p.data, 0, p.data.length, LINKTYPE_EN10MB, p.tsSec + p.tsNsec / 1e9, p.origLen),
      );
      // SIGINT (shouldStop) aborts the iteration, which still hands over what the kernel had queued.
      if (opts.count > 0 && ++kept >= opts.count) break;
    }
    return sock.stats().drops;
  } catch (err) {
    if ((err as Error).name === 'AbortError') return sock.stats().drops;
    throw err;
  } finally {
    clearInterval(timer);
    sock.close();
    front?.close();
  }
}
