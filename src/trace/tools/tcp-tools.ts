/**
 * tcpconnect, tcpaccept and tcpretrans: BCC's tools on the attach points this kernel has (tracepoints
 * and raw tracepoints, no kprobes), with BCC's columns and options (and -c, counts per connection printed at the end). openTcpTool compiles the program for this kernel (tracepoint formats from
 * tracefs, struct offsets from the kernel's BTF through the loader's shared cache), loads and attaches it; events() yields one
 * decoded connection per event.
 */
import { targetBtf } from '../../loader/core.js';
import { compileC } from '../../compile/compile-c.js';
import { tracepointFormat } from '../../kernel/attach/tracefs.js';
import { BPF } from '../bpf.js';
import { memberOffset, rawTracepointArgs } from '../btf-offsets.js';
import { tcpProgramSource } from './tcp-program.js';
import { tcpRetransFlags, tcpRetransSource, type RetransOffsets } from './tcpretrans-program.js';

/** Which tool: connections made, accepted, or segments retransmitted. */
export type TcpToolKind = 'connect' | 'accept' | 'retrans';

/** Filters, as BCC's -p, -U/-u, -P, -4/-6 give them. */
export interface TcpToolOptions {
  pid?: number;
  uid?: number;
  ports?: number[];
  family?: 4 | 6;
}

/** One connection made (connect) or accepted (accept). */
export interface TcpEvent {
  /** bpf_ktime_get_ns() at the event. */
  timeNs: bigint;
  pid: number;
  uid: number;
  comm: string;
  family: 4 | 6;
  /** The local address and port. */
  localAddress: string;
  localPort: number;
  /** The remote address and port. */
  remoteAddress: string;
  remotePort: number;
  /** tcpretrans: the socket's TCP state at the retransmit (ESTABLISHED, SYN_SENT...). */
  state?: string;
}

/** TCP states by number (include/net/tcp_states.h). */
const TCP_STATES = [
  'UNKNOWN',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
];

/** A running tool: events until closed. */
export interface TcpTool {
  readonly bpf: BPF;
  /** Connections as they happen, until `signal` aborts or the tool closes. */
  events(signal?: AbortSignal): AsyncGenerator<TcpEvent>;
  /** Detach and close everything. */
  close(): void;
}

function acceptOffsets(): string[] {
  const btf = targetBtf();
  const defs: [string, string, string][] = [
    ['OFF_TASK_FILES', 'task_struct', 'files'],
    ['OFF_FILES_FDT', 'files_struct', 'fdt'],
    ['OFF_FDT_FD', 'fdtable', 'fd'],
    ['OFF_FILE_PRIVATE', 'file', 'private_data'],
    ['OFF_SOCKET_SK', 'socket', 'sk'],
  ];
  return defs.map(([macro, s, m]) => `-D${macro}=${memberOffset(btf, s, m)}`);
}

/** Where tcpretrans finds a socket's fields in `struct sock` (its `__sk_common` first), from the kernel's BTF. */
function retransFlags(): string[] {
  const btf = targetBtf();
  const base = memberOffset(btf, 'sock', '__sk_common');
  const at = (m: string) => base + memberOffset(btf, 'sock_common', m);
  let v6: RetransOffsets['v6'];
  try {
    v6 = { saddr: at('skc_v6_rcv_saddr'), daddr: at('skc_v6_daddr') };
  } catch {
    v6 = undefined; // a kernel without IPv6: no AF_INET6 socket to report
  }
  const offsets: RetransOffsets = {
    family: at('skc_family'),
    state: at('skc_state'),
    num: at('skc_num'),
    dport: at('skc_dport'),
    saddr: at('skc_rcv_saddr'),
    daddr: at('skc_daddr'),
    ...(v6 ? { v6 } : {}),
  };
  // (sk, skb) before 6.17; (sk, skb, err) since
  return tcpRetransFlags(offsets, rawTracepointArgs(btf, 'tcp_retransmit_skb') >= 3);
}

function toolSource(kind: TcpToolKind): string {
  if (kind === 'retrans') return tcpRetransSource();
  return tcpProgramSource(kind, {
    setState: tracepointFormat('sock', 'inet_sock_set_state'),
    acceptExit: tracepointFormat('syscalls', 'sys_exit_accept4'),
  });
}

/** Compile, load and attach tcpconnect, tcpaccept or tcpretrans. */
export async function openTcpTool(kind: TcpToolKind, opts: TcpToolOptions = {}): Promise<TcpTool> {
  const cflags: string[] = [];
  if (opts.pid !== undefined) cflags.push(`-DFILTER_PID=${opts.pid}`);
  if (opts.uid !== undefined) cflags.push(`-DFILTER_UID=${opts.uid}`);
  if (opts.family) cflags.push(`-DFILTER_FAMILY=${opts.family === 4 ? 2 : 10}`);
  if (opts.ports?.length) cflags.push('-DFILTER_PORTS=1');
  if (kind === 'accept') cflags.push(...acceptOffsets());
  if (kind === 'retrans') cflags.push(...retransFlags());
  const compiled = await compileC(toolSource(kind), { cflags, filename: `tcp${kind}.bpf.c` });
  const bpf = BPF.fromSpec(compiled.spec, compiled.cached);
  try {
    const ports = bpf.collection.map('ports');
    for (const p of opts.ports ?? []) {
      const key = new Uint8Array(2);
      new DataView(key.buffer).setUint16(0, p, true);
      ports.update(key, new Uint8Array([1]));
    }
    bpf.attachAll();
  } catch (err) {
    bpf.close();
    throw err;
  }
  return {
    bpf,
    async *events(signal?: AbortSignal) {
      for await (const ev of bpf.ringbuf('events', { struct: 'event', ...(signal ? { signal } : {}) })) {
        yield toTcpEvent(ev as Record<string, unknown>);
      }
    },
    close: () => bpf.close(),
  };
}

function toTcpEvent(e: Record<string, unknown>): TcpEvent {
  const family = e.family === 4 ? 4 : 6;
  const addr = (bytes: unknown) => formatAddress(Uint8Array.from(bytes as number[]), family);
  return {
    timeNs: e.ts_ns as bigint,
    pid: e.pid as number,
    uid: e.uid as number,
    comm: e.comm as string,
    family,
    localAddress: addr(e.saddr),
    localPort: e.lport as number,
    remoteAddress: addr(e.daddr),
    remotePort: e.dport as number,
    ...(typeof e.state === 'number' ? { state: TCP_STATES[e.state] ?? String(e.state) } : {}),
  };
}

/** An address as text: dotted quad, or RFC 5952 IPv6 (longest zero run as ::, v4-mapped as ::ffff:a.b.c.d). */
export function formatAddress(bytes: Uint8Array, family: 4 | 6): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const words = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff)
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** BCC's header line. */
export function tcpHeader(kind: TcpToolKind, opts: { timestamp?: boolean; uid?: boolean }): string {
  const cols: string[] = [];
  if (kind === 'retrans') {
    if (opts.timestamp) cols.push('TIME(s)'.padEnd(9));
    cols.push('PID'.padEnd(7), 'IP', 'LADDR:LPORT'.padEnd(45), 'T>', 'RADDR:RPORT'.padEnd(45), 'STATE');
    return cols.join(' ');
  }
  if (opts.timestamp) cols.push('TIME(s)'.padEnd(9));
  if (opts.uid) cols.push('UID'.padEnd(6));
  cols.push('PID'.padEnd(7), 'COMM'.padEnd(16), 'IP');
  if (kind === 'connect') cols.push('SADDR'.padEnd(39), 'DADDR'.padEnd(39), 'DPORT');
  else cols.push('RADDR'.padEnd(39), 'RPORT', 'LADDR'.padEnd(39), 'LPORT');
  return cols.join(' ');
}

/** One event as a line under tcpHeader. `startNs`: the first event's time, for -t. */
export function tcpLine(
  kind: TcpToolKind,
  ev: TcpEvent,
  opts: { timestamp?: boolean; uid?: boolean; startNs?: bigint },
): string {
  const cols: string[] = [];
  if (opts.timestamp) cols.push((Number(ev.timeNs - (opts.startNs ?? ev.timeNs)) / 1e9).toFixed(3).padEnd(9));
  if (kind === 'retrans') {
    cols.push(String(ev.pid).padEnd(7), String(ev.family).padEnd(2));
    cols.push(endpoint(ev.localAddress, ev.localPort).padEnd(45), 'R>');
    cols.push(endpoint(ev.remoteAddress, ev.remotePort).padEnd(45), ev.state ?? '');
    return cols.join(' ');
  }
  if (opts.uid) cols.push(String(ev.uid).padEnd(6));
  cols.push(String(ev.pid).padEnd(7), ev.comm.padEnd(16), String(ev.family).padEnd(2));
  if (kind === 'connect') cols.push(ev.localAddress.padEnd(39), ev.remoteAddress.padEnd(39), String(ev.remotePort));
  else
    cols.push(
      ev.remoteAddress.padEnd(39),
      String(ev.remotePort).padEnd(5),
      ev.localAddress.padEnd(39),
      String(ev.localPort),
    );
  return cols.join(' ');
}

/** `addr:port`, IPv6 in brackets. */
function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The key -c counts by: connect by (local address, remote address, remote port), the others by both ends. */
export function tcpCountKey(kind: TcpToolKind, ev: TcpEvent): string {
  if (kind === 'connect') return `${ev.localAddress}\t${ev.remoteAddress}\t${ev.remotePort}`;
  return `${endpoint(ev.localAddress, ev.localPort)}\t${endpoint(ev.remoteAddress, ev.remotePort)}`;
}

/** The -c summary, BCC-style: a header and one line per key, most frequent first. */
export function tcpCountLines(kind: TcpToolKind, counts: Map<string, number>): string[] {
  const header =
    kind === 'connect'
      ? `${'LADDR'.padEnd(39)} ${'RADDR'.padEnd(39)} ${'RPORT'.padEnd(6)} CONNECTS`
      : `${'LADDR:LPORT'.padEnd(45)} ${'RADDR:RPORT'.padEnd(45)} ${kind === 'accept' ? 'ACCEPTS' : 'RETRANSMITS'}`;
  const rows = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return [
    header,
    ...rows.map(([key, n]) => {
      const parts = key.split('\t');
      if (kind === 'connect') return `${parts[0]!.padEnd(39)} ${parts[1]!.padEnd(39)} ${parts[2]!.padEnd(6)} ${n}`;
      return `${parts[0]!.padEnd(45)} ${parts[1]!.padEnd(45)} ${n}`;
    }),
  ];
}
