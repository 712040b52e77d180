/**
 * `bpfkit urls -i lo --filter 'tcp port 8080'` in a network namespace whose corpus server listens on
 * ports 80 and 8080 (IPv4 and IPv6): the expression runs in the kernel in front of the URL filter, so
 * exactly the requests to port 8080 are reported, none to port 80. Second check: tcpdump captures the
 * same traffic unfiltered, and `urls FILE --filter` on its capture reports the same requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needs } from '../support/env.js';
import { stderrLine, tcpSettled, tcpdumpCaughtUp, waitUntil } from '../support/live-wait.js';
import { readTruth } from './corpus/generate.js';
import { score, type Reported } from './corpus/score.js';
import { cliArgv } from './support.js';

const build = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
const serverJs = build('./corpus/server-main.js');
const clientJs = build('./corpus/client-main.js');

interface Rec extends Reported {
  dport: number;
}

const records = (out: string): Rec[] =>
  out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Rec);
const key = (r: Rec) => `${r.src}|${r.sport}|${r.method}|${r.uri}`;

/** Collect a child's output as text (getters: it grows). */
function collect(child: ChildProcess): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('latin1')));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { out: () => out, err: () => err };
}

const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.on('exit', (code) => r(code))));

test('urls -i lo --filter "tcp port 8080": exactly the requests to port 8080 (expression in the kernel), as urls FILE --filter on tcpdump\'s capture', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'ethtool', 'tcpdump'] })) return;
  const ns = `bpfkit-urls-filter-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-urls-filter-'));
  const truthFile = join(dir, 'truth.jsonl');
  const capture = join(dir, 'all.pcap');
  writeFileSync(truthFile, '');
  execFileSync('ip', ['netns', 'add', ns]);
  const kids: ChildProcess[] = [];
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up', 'mtu', '1500']);
    spawnSync('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'lo', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    const listens = ['127.0.0.1:80', '127.0.0.1:8080', '[::1]:80', '[::1]:8080'];
    const server = spawn('ip', ['netns', 'exec', ns, process.execPath, serverJs, truthFile, ...listens], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    kids.push(server);
    const serverIo = collect(server);
    const urls = spawn(
      'ip',
      [
        ...['netns', 'exec', ns, process.execPath],
        ...cliArgv('urls', '-i', 'lo', '--filter', 'tcp port 8080', '--format', 'json'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    kids.push(urls);
    const urlsIo = collect(urls);
    // Watched for from the start: the line may come while the others are still starting.
    const attached = stderrLine(urls, /bpfkit urls: listening on lo/, 'bpfkit urls');
    attached.catch(() => {}); // (awaited below)
    const tcpdump = spawn(
      'ip',
      ['netns', 'exec', ns, 'tcpdump', '-i', 'lo', '-B', '65536', '-n', '-U', '-w', capture],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    kids.push(tcpdump);
    const tcpdumpIo = collect(tcpdump);
    await waitUntil('tcpdump to listen', () => /listening on lo/.test(tcpdumpIo.err()));
    await waitUntil('the corpus server to listen', () => (serverIo.out().match(/listening/g) ?? []).length === 4);
    await attached;
    const client = spawnSync('ip', ['netns', 'exec', ns, process.execPath, clientJs, 'basic', '127.0.0.1', '::1'], {
      encoding: 'utf8',
    });
    assert.equal(client.status, 0, client.stderr);
    await waitUntil('TCP in the namespace to settle', () => tcpSettled(ns));
    await tcpdumpCaughtUp(tcpdump, tcpdumpIo.err);
    tcpdump.kill('SIGINT');
    urls.kill('SIGINT');
    assert.equal(await exited(urls), 0, urlsIo.err());
    await exited(tcpdump);

    const truth = readTruth(truthFile);
    const wanted = truth.filter((e) => e.dport === 8080);
    assert.ok(wanted.length > 20 && truth.length - wanted.length > 20, 'requests on both ports');
    const live = records(urlsIo.out());
    assert.ok(
      live.every((r) => r.dport === 8080),
      'nothing to port 80',
    );
    const s = score(wanted, live);
    assert.equal(s.recall, 1, `missed ${s.missed.slice(0, 5).join(' ')}`);
    assert.equal(s.precision, 1, `invented ${s.invented.slice(0, 5).join(' ')}`);
    assert.match(urlsIo.err(), / 0 kernel drops/);

    // The same traffic from tcpdump's unfiltered capture, filtered by urls FILE --filter.
    const file = spawnSync(
      process.execPath,
      cliArgv('urls', capture, '--format', 'json', '-q', '--filter', 'tcp port 8080'),
      { encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    assert.equal(file.status, 0, file.stderr);
    assert.deepEqual(records(file.stdout).map(key).sort(), live.map(key).sort());
  } finally {
    for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
});
