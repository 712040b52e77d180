/**
 * Waiting in live tests for events, never for a fixed time: a condition is polled (a statistic, a
 * socket table) until it holds, and the deadline only bounds a hang. On a loaded machine a fixed sleep is
 * either too short (a capture misses its last packets) or wastes time on an idle one.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';

/** Poll `check` until it returns true; fails after `limitMs` naming what it waited for. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  limitMs = 30_000,
): Promise<void> {
  const end = Date.now() + limitMs;
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`gave up after ${limitMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pause));
  }
}

/** States in which a TCP socket waits for nothing from its peer. */
const SETTLED = new Set(['LISTEN', 'ESTAB', 'TIME-WAIT', 'FIN-WAIT-2', 'CLOSE-WAIT', 'UNCONN']);

/** ss -o timers after which a socket still sends a packet by itself: retransmit, delayed ACK, zero-window probes. */
const PENDING_TIMER = /timer:\((on|delack|persist|probe),/;

/**
 * True when TCP in network namespace `ns` has settled: no handshake or close in flight, no byte
 * unacknowledged (Send-Q 0), and no timer that will still send a packet (a delayed ACK, a retransmit, a
 * window probe: `ss -o`). Then no packet is still on its way through the loopback, and none will be
 * sent until a program sends one: every packet of the traffic has reached the packet sockets.
 */
export function tcpSettled(ns: string): boolean {
  const table = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-Htano'], { encoding: 'utf8' });
  return table
    .split('\n')
    .filter((l) => l.trim() !== '')
    .every((line) => {
      const [state = '', , sendQ] = line.trim().split(/\s+/);
      return SETTLED.has(state) && (state === 'LISTEN' || sendQ === '0') && !PENDING_TIMER.test(line);
    });
}

/** Resolves when a child's stderr has printed a line matching `pattern` (rejects if it exits first). */
export function stderrLine(child: ChildProcess, pattern: RegExp, what: string, limitMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`${what} did not print ${pattern} within ${limitMs / 1000} s: ${text}`)),
      limitMs,
    );
    const onData = (d: Buffer) => {
      text += d.toString();
      if (pattern.test(text)) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before printing ${pattern}: ${text}`));
    });
  });
}

export interface TcpdumpCounts {
  captured: number;
  received: number;
  dropped: number;
}

const INFO_LINE = /(\d+) packets? captured, (\d+) packets? received by filter, (\d+) packets? dropped by kernel/g;

/**
 * tcpdump's counters while it runs: SIGUSR1 makes it print them on stderr (one line), which we wait for.
 * `stderr` must be the text collected from its stderr so far (a getter: it grows).
 */
export async function tcpdumpCounts(child: ChildProcess, stderr: () => string): Promise<TcpdumpCounts> {
  const seen = [...stderr().matchAll(INFO_LINE)].length;
  child.kill('SIGUSR1');
  let last: RegExpMatchArray | undefined;
  await waitUntil('tcpdump to print its counters after SIGUSR1', () => {
    const all = [...stderr().matchAll(INFO_LINE)];
    last = all[all.length - 1];
    return all.length > seen;
  });
  return { captured: Number(last![1]), received: Number(last![2]), dropped: Number(last![3]) };
}

/**
 * Wait until tcpdump on a loopback device has written everything its socket received: the kernel hands
 * the socket each loopback packet twice (sent and received) and libpcap keeps one, so it has caught up when
 * twice what it captured, plus what the kernel dropped, covers what the kernel received. SIGINT stops
 * tcpdump at once, losing whatever it had not read yet: call this first.
 */
export async function tcpdumpCaughtUp(
  child: ChildProcess,
  stderr: () => string,
  what = 'tcpdump',
): Promise<TcpdumpCounts> {
  let c: TcpdumpCounts | undefined;
  await waitUntil(`${what} to write every packet its socket received`, async () => {
    c = await tcpdumpCounts(child, stderr);
    return c.received > 0 && 2 * (c.captured + c.dropped) >= c.received;
  });
  return c!;
}
