/**
 * bpfkit trace tcpconnect|tcpaccept|tcpretrans|pipe — BCC's tools on tracepoints: one line per event,
 * written as it happens, until SIGINT or SIGTERM (which detach everything and exit 0); with -c, counts
 * per connection printed at that point instead.
 */
import { parseFlags } from '../args.js';
import { UsageError } from '../../util/errors.js';

const usage = `usage: bpfkit trace tcpconnect [-c] [-t] [-U] [-p PID] [-u UID] [-P PORT[,PORT]] [-4|-6]
       bpfkit trace tcpaccept  [-c] [-t] [-U] [-p PID] [-u UID] [-P PORT[,PORT]] [-4|-6]
       bpfkit trace tcpretrans [-c] [-t] [-P PORT[,PORT]] [-4|-6]
       bpfkit trace pipe

tcpconnect: active TCP connections (connect), columns PID COMM IP SADDR DADDR DPORT.
tcpaccept:  passive TCP connections (accept), columns PID COMM IP RADDR RPORT LADDR LPORT.
tcpretrans: retransmitted segments (raw tracepoint tcp_retransmit_skb), columns PID IP LADDR:LPORT T> RADDR:RPORT STATE.
  -c  count per connection, printed at Ctrl-C, instead of one line per event
  -t  a TIME(s) column (seconds since the first event)   -U  a UID column
  -p  only this process   -u  only this user   -P  only these ports (dport / lport; either end for
  tcpretrans)   -4, -6  one family
pipe: bpf_trace_printk output from trace_pipe.
C is compiled with clang at start (cached in ~/.cache/bpfkit); needs root.
`;

function intValue(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`-${flag} wants a number, got '${v}'`);
  return Number(v);
}

/** Run `bpfkit trace`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, {
    count: { type: 'boolean', short: 'c' },
    timestamp: { type: 'boolean', short: 't' },
    'print-uid': { type: 'boolean', short: 'U' },
    pid: { type: 'string', short: 'p' },
    uid: { type: 'string', short: 'u' },
    port: { type: 'string', short: 'P' },
    ipv4: { type: 'boolean', short: '4' },
    ipv6: { type: 'boolean', short: '6' },
  });
  if (help) {
    process.stdout.write(usage);
    return 0;
  }
  const [tool, ...extra] = positionals;
  if (!tool || extra.length > 0) throw new UsageError(usage);
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (tool === 'pipe') return await pipe(ac.signal);
    const kinds = { tcpconnect: 'connect', tcpaccept: 'accept', tcpretrans: 'retrans' } as const;
    if (!Object.hasOwn(kinds, tool)) throw new UsageError(usage);
    const kind = kinds[tool as keyof typeof kinds];
    if (kind === 'retrans' && (values.pid || values.uid || values['print-uid']))
      throw new UsageError(
        'tcpretrans: -p, -u and -U do not apply (retransmits run in softirq context, not in a process)',
      );
    if (values.ipv4 && values.ipv6) throw new UsageError('-4 and -6 exclude each other');
    const ports = values.port?.split(',').map((p) => {
      const n = intValue('P', p)!;
      if (n < 1 || n > 65535) throw new UsageError(`-P: port ${p} is out of range`);
      return n;
    });
    const pid = intValue('p', values.pid);
    const uid = intValue('u', values.uid);
    const { openTcpTool, tcpHeader, tcpLine, tcpCountKey, tcpCountLines } = await import('../../trace/index.js');
    const t = await openTcpTool(kind, {
      ...(pid !== undefined ? { pid } : {}),
      ...(uid !== undefined ? { uid } : {}),
      ...(ports ? { ports } : {}),
      ...(values.ipv4 ? { family: 4 as const } : values.ipv6 ? { family: 6 as const } : {}),
    });
    const fmt = { timestamp: values.timestamp === true, uid: values['print-uid'] === true };
    try {
      if (values.count) {
        process.stdout.write('Tracing... Hit Ctrl-C to end.\n');
        const counts = new Map<string, number>();
        for await (const ev of t.events(ac.signal)) {
          const key = tcpCountKey(kind, ev);
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        process.stdout.write(`\n${tcpCountLines(kind, counts).join('\n')}\n`);
        return 0;
      }
      process.stdout.write(`${tcpHeader(kind, fmt)}\n`);
      let startNs: bigint | undefined;
      for await (const ev of t.events(ac.signal)) {
        startNs ??= ev.timeNs;
        process.stdout.write(`${tcpLine(kind, ev, { ...fmt, startNs })}\n`);
      }
    } finally {
      t.close();
    }
    return 0;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

async function pipe(signal: AbortSignal): Promise<number> {
  const { readTracePipe } = await import('../../trace/index.js');
  const { tracefsRoot } = await import('../../kernel/attach/index.js');
  process.stdout.write(`${'TASK'.padEnd(16)} ${'PID'.padEnd(7)} CPU ${'TIME(s)'.padEnd(14)} MESSAGE\n`);
  for await (const l of readTracePipe(`${tracefsRoot()}/trace_pipe`, signal)) {
    process.stdout.write(
      `${l.task.padEnd(16)} ${String(l.pid).padEnd(7)} ${String(l.cpu).padEnd(3)} ${l.time.toFixed(6).padEnd(14)} ${l.message}\n`,
    );
  }
  return 0;
}
