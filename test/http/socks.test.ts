/**
 * SOCKS-wrapped HTTP, end to end: curl reaches a local HTTP server through a small SOCKS 4/4a/5 proxy
 * (socks/proxy-main.ts) in a network namespace, tcpdump captures the loopback, and `urls` must report
 * every request the server logged, marked `via` with the proxy's protocol, with the SOCKS target as the
 * host where the request had no Host header, and with the filter in the VM in front as well as without.
 * tshark, which decodes SOCKS on port 1080 and hands what follows to HTTP, is the second oracle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needs } from '../support/env.js';
import { stderrLine, tcpSettled, tcpdumpCaughtUp, waitUntil } from '../support/live-wait.js';
import { missingFrom, runUrls, tsharkRequests } from './support.js';

const here = dirname(fileURLToPath(import.meta.url));

/** One curl run: its arguments, and how `urls` must mark what it sends. */
interface Case {
  args: string[];
  via: string;
  uris: string[];
  /** the host `urls` reports (the Host header, or the SOCKS target when there is none) */
  host: string;
}

const P4 = '127.0.0.1:1080';
const CASES: Case[] = [
  { args: ['--socks5', P4, 'http://127.0.0.1:8080/s5/ip'], via: 'socks5', uris: ['/s5/ip'], host: '127.0.0.1:8080' },
  {
    args: ['--socks5-hostname', P4, '-H', 'Host:', 'http://localhost:8080/s5/name?no-host'],
    via: 'socks5',
    uris: ['/s5/name?no-host'],
    host: 'localhost:8080',
  },
  {
    args: [
      '-x',
      'socks5h://user:secret@[::1]:1080',
      '-H',
      'Host:',
      'http://localhost/s5/auth-v6',
      'http://localhost/s5/keepalive',
    ],
    via: 'socks5',
    uris: ['/s5/auth-v6', '/s5/keepalive'],
    host: 'localhost',
  },
  { args: ['--socks4', P4, 'http://127.0.0.1:8080/s4'], via: 'socks4', uris: ['/s4'], host: '127.0.0.1:8080' },
  {
    args: ['--socks4a', P4, '-H', 'Host:', 'http://localhost:8080/s4a?no-host'],
    via: 'socks4a',
    uris: ['/s4a?no-host'],
    host: 'localhost:8080',
  },
  { args: ['http://127.0.0.1:8080/direct'], via: '', uris: ['/direct'], host: '127.0.0.1:8080' },
];

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

test('SOCKS 4, 4a and 5 (with user/password, over IPv6, keep-alive): every request, marked via socks, target as host', async (t) => {
  if (!needs(t, { root: true, tools: ['tcpdump', 'ip', 'curl'] })) return;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-socks-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'socks.pcap');
  const log = join(dir, 'server.jsonl');
  writeFileSync(log, '');
  const ns = `bpfkit-socks-${process.pid}`;
  const children: ChildProcess[] = [];
  sh('ip', ['netns', 'add', ns]);
  try {
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const tcpdump = spawn(
      'ip',
      ['netns', 'exec', ns, 'tcpdump', '-i', 'lo', '-B', '65536', '-w', pcap, '-U', '-n', 'tcp'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.push(tcpdump);
    let tcpdumpErr = '';
    tcpdump.stderr.on('data', (d: Buffer) => (tcpdumpErr += d.toString()));
    await stderrLine(tcpdump, /listening on/, 'tcpdump');
    const proxy = spawn('ip', ['netns', 'exec', ns, process.execPath, join(here, 'socks', 'proxy-main.js'), log], {
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    children.push(proxy);
    await stderrLine(proxy, /listening/, 'SOCKS proxy');
    for (const c of CASES) {
      const r = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-sS', '--max-time', '20', ...c.args], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `curl ${c.args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /seen \//, `curl ${c.args.join(' ')}`);
    }
    await waitUntil('TCP in the namespace to settle', () => tcpSettled(ns));
    await tcpdumpCaughtUp(tcpdump, () => tcpdumpErr);
    tcpdump.kill('SIGINT');
    await exited(tcpdump);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    sh('ip', ['netns', 'del', ns]);
  }

  const logged = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { uri: string });
  const want = CASES.flatMap((c) => c.uris);
  assert.deepEqual(logged.map((l) => l.uri).sort(), [...want].sort(), 'the server answered every request');
  // Each proxied request crosses the loopback twice: client to proxy inside SOCKS, proxy to server direct.
  const proxied = CASES.filter((c) => c.via).flatMap((c) => c.uris);
  for (const engine of ['vm', 'none'] as const) {
    const { records } = await runUrls(pcap, 'full', engine);
    const viaSocks = records.filter((r) => r.via);
    assert.deepEqual(
      viaSocks.map((r) => r.uri).sort(),
      [...proxied].sort(),
      `${engine}: every request inside SOCKS, once`,
    );
    assert.deepEqual(
      records
        .filter((r) => !r.via)
        .map((r) => r.uri)
        .sort(),
      [...want].sort(),
      `${engine}: every request the server got, once, direct`,
    );
    for (const c of CASES.filter((x) => x.via))
      for (const uri of c.uris) {
        const r = viaSocks.find((x) => x.uri === uri)!;
        assert.equal(r.via, c.via, `${engine} ${uri}: via`);
        assert.equal(r.dport, 1080, `${engine} ${uri}: to the proxy`);
        assert.equal(r.host, c.host, `${engine} ${uri}: host`);
        assert.equal(r.socks_target, c.host, `${engine} ${uri}: target`);
        assert.equal(r.status, 200, `${engine} ${uri}: the response is paired`);
        assert.equal(r.url, `http://${c.host}${uri}`);
      }
  }

  // tshark: SOCKS on port 1080, HTTP after it
  if (!needs(t, { tools: ['tshark'] })) return;
  const theirs = tsharkRequests(pcap).map((l) => l.split('\t')[1]!);
  const ours = [...want, ...proxied];
  assert.deepEqual(missingFrom(theirs, ours), [], 'tshark found more');
  assert.deepEqual(missingFrom(ours, theirs), [], 'tshark missed');
});
