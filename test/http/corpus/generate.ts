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
import { mkdirSync, writeFileSync, existsSync, readFileSync, statSync } from 'node:fs';
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

function waitForOutput(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, count: number, what: string): Promise<void> {
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

async function settled(file: string): Promise<void> {
  let last = -1;
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const size = existsSync(file) ? statSync(file).size : 0;
    if (size === last) return;
    last = size;
  }
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
    const tcpdump = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', 'lo', '-w', pcap, '-s', '0', '-U', '--immediate-mode', '-B', '65536', '-n', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(tcpdump);
    let tcpdumpErr = '';
    tcpdump.stderr!.on('data', (d: Buffer) => (tcpdumpErr += d.toString()));
    await waitForOutput(tcpdump, 'stderr', /listening on/, 1, 'tcpdump');
    const listens = ['127.0.0.1:80', '127.0.0.1:8080', '[::1]:80', '[::1]:8080'];
    const server = spawn('ip', ['netns', 'exec', ns, process.execPath, join(here, 'server-main.js'), truth, ...listens], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(server);
    await waitForOutput(server, 'stdout', /listening/, listens.length, 'HTTP server');
    const client = spawn('ip', ['netns', 'exec', ns, process.execPath, join(here, 'client-main.js'), o.scenarios.join(','), ...o.hosts], { stdio: ['ignore', 'inherit', 'pipe'] });
    children.push(client);
    let clientErr = '';
    client.stderr!.on('data', (d: Buffer) => (clientErr += d.toString()));
    const code = await exited(client);
    if (code !== 0) throw new EnvironmentError(`corpus client failed (${code}): ${clientErr.trim()}`);
    server.kill('SIGTERM');
    await exited(server);
    // tcpdump stops at SIGINT without draining its ring: wait until the capture file stops growing.
    await settled(pcap);
    tcpdump.kill('SIGINT');
    await exited(tcpdump);
    // A capture that lost packets would not match the server's log: say so instead of a wrong corpus.
    const dropped = /(\d+) packets? dropped by kernel/.exec(tcpdumpErr);
    if (dropped && Number(dropped[1]) > 0) throw new EnvironmentError(`tcpdump lost ${dropped[1]} packets: the corpus is incomplete`);
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
