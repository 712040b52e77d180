/**
 * Corpus generator: real HTTP traffic on the loopback of a throw-away network namespace, captured by
 * tcpdump, with the server's own log of the requests it parsed as the ground truth.
 *
 *   generateCorpus({ dir, scenarios: ['basic'], hosts: ['127.0.0.1', '::1'] })
 *     -> dir/capture.pcap, dir/truth.jsonl
 *
 * Needs root (ip netns), tcpdump, ethtool, iproute2. The namespace gets loopback MTU 1500 and offloads
 * off so segments split as on a wire (or, with `offload: true`, MTU 65536 and offloads on: the > 4096-byte
 * segments a capture on a host with TSO/GRO shows). Everything stays on the namespace's loopback; the
 * namespace and every child are removed at the end, also on failure.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError } from '../../../src/util/errors.js';

export interface CorpusOptions {
  dir: string;
  scenarios: string[];
  hosts: string[];
  /** loopback MTU 65536 with TSO/GSO/GRO on (large segments) */
  offload?: boolean;
  /** file name of the capture inside dir (default capture.pcap) */
  name?: string;
}

export interface Corpus {
  pcap: string;
  truth: string;
}

const here = dirname(fileURLToPath(import.meta.url));
let counter = 0;

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function waitForOutput(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  pattern: RegExp,
  count: number,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    let text = '';
    const timer = setTimeout(() => reject(new EnvironmentError(`${what} did not start: ${text.trim()}`)), 10000);
    child[stream]!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = text.match(new RegExp(pattern.source, 'g'));
      seen = m ? m.length : 0;
      if (seen >= count) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (seen < count) reject(new EnvironmentError(`${what} exited (${code}): ${text.trim()}`));
    });
  });
}

/** Poll `check` until it holds; the deadline only bounds a hang. */
async function waitUntil(what: string, check: () => boolean | Promise<boolean>, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  for (let pause = 2; !(await check()); pause = Math.min(pause * 2, 50)) {
    if (Date.now() > end) throw new EnvironmentError(`gave up after ${limitMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pause));
  }
}

/** TCP in the namespace waits for nothing: no handshake or close in flight, no byte unacknowledged. */
function tcpSettled(ns: string): boolean {
  const table = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-Htan'], { encoding: 'utf8' });
  const settled = new Set(['LISTEN', 'ESTAB', 'TIME-WAIT', 'FIN-WAIT-2', 'CLOSE-WAIT']);
  return table
    .split('\n')
    .filter((l) => l.trim() !== '')
    .every((l) => {
      const [state = '', , sendQ] = l.trim().split(/\s+/);
      return settled.has(state) && (state === 'LISTEN' || sendQ === '0');
    });
}

const TCPDUMP_INFO = /(\d+) packets? captured, (\d+) packets? received by filter, (\d+) packets? dropped by kernel/g;

/**
 * tcpdump stops at SIGINT without reading what is still queued on its socket: wait until it has written
 * everything its socket received. SIGUSR1 makes it print its counters; on loopback the kernel hands the
 * socket each packet twice (sent and received) and libpcap keeps one.
 */
async function tcpdumpCaughtUp(tcpdump: ChildProcess, stderr: () => string): Promise<void> {
  await waitUntil('tcpdump to write every packet it received', async () => {
    const seen = [...stderr().matchAll(TCPDUMP_INFO)].length;
    tcpdump.kill('SIGUSR1');
    let last: RegExpMatchArray | undefined;
    await waitUntil('tcpdump to print its counters', () => {
      const all = [...stderr().matchAll(TCPDUMP_INFO)];
      last = all[all.length - 1];
      return all.length > seen;
    });
    const [captured, received, dropped] = last!.slice(1, 4).map(Number) as [number, number, number];
    return 2 * (captured + dropped) >= received;
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.on('exit', (code) => r(code)));
}

export async function generateCorpus(o: CorpusOptions): Promise<Corpus> {
  mkdirSync(o.dir, { recursive: true });
  const pcap = join(o.dir, o.name ?? 'capture.pcap');
  const truth = join(o.dir, (o.name ?? 'capture.pcap').replace(/\.pcap$/, '') + '.truth.jsonl');
  writeFileSync(truth, '');
  const ns = `bpfkit-corpus-${process.pid}-${counter++}`;
  const children: ChildProcess[] = [];
  sh('ip', ['netns', 'add', ns]);
  try {
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up', 'mtu', o.offload ? '65536' : '1500']);
    const onOff = o.offload ? 'on' : 'off';
    try {
      sh('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'lo', 'tso', onOff, 'gso', onOff, 'gro', onOff]);
    } catch {
      // Some kernels fix gro on lo; tso/gso are what matter for segment sizes.
      sh('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'lo', 'tso', onOff, 'gso', onOff]);
    }
    const tcpdump = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        'tcpdump',
        '-i',
        'lo',
        '-w',
        pcap,
        '-s',
        '0',
        '-U',
        '--immediate-mode',
        '-B',
        '65536',
        '-n',
        'tcp',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(tcpdump);
    let tcpdumpErr = '';
    tcpdump.stderr.on('data', (d: Buffer) => (tcpdumpErr += d.toString()));
    await waitForOutput(tcpdump, 'stderr', /listening on/, 1, 'tcpdump');
    const listens = ['127.0.0.1:80', '127.0.0.1:8080', '[::1]:80', '[::1]:8080'];
    const server = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, join(here, 'server-main.js'), truth, ...listens],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(server);
    await waitForOutput(server, 'stdout', /listening/, listens.length, 'HTTP server');
    const client = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, join(here, 'client-main.js'), o.scenarios.join(','), ...o.hosts],
      { stdio: ['ignore', 'inherit', 'pipe'] },
    );
    children.push(client);
    let clientErr = '';
    client.stderr.on('data', (d: Buffer) => (clientErr += d.toString()));
    const code = await exited(client);
    if (code !== 0) throw new EnvironmentError(`corpus client failed (${code}): ${clientErr.trim()}`);
    server.kill('SIGTERM');
    await exited(server);
    // Every packet of the traffic has reached tcpdump's socket once TCP has settled; then tcpdump must
    // have written them all before SIGINT (waiting for the file to stop growing for 0.2 s was not enough
    // on a loaded machine).
    await waitUntil('TCP in the namespace to settle', () => tcpSettled(ns));
    await tcpdumpCaughtUp(tcpdump, () => tcpdumpErr);
    tcpdump.kill('SIGINT');
    await exited(tcpdump);
    // A capture that lost packets would not match the server's log: say so instead of a wrong corpus.
    const dropped = /(\d+) packets? dropped by kernel/.exec(tcpdumpErr);
    if (dropped && Number(dropped[1]) > 0)
      throw new EnvironmentError(`tcpdump lost ${dropped[1]} packets: the corpus is incomplete`);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    try {
      sh('ip', ['netns', 'del', ns]);
    } catch {
      /* already gone */
    }
  }
  if (!existsSync(pcap)) throw new EnvironmentError('tcpdump wrote no capture');
  return { pcap, truth };
}

export interface TruthEntry {
  method: string;
  url: string;
  version: string;
  src: string;
  sport: number;
  dst: string;
  dport: number;
}

export function readTruth(path: string): TruthEntry[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as TruthEntry);
}
