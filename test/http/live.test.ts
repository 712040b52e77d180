/**
 * Kernel mode, live: `bpfkit urls -i lo` inside a network namespace, the filter attached to an AF_PACKET
 * socket in the kernel, while the corpus clients talk to the corpus server on the namespace's loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needs } from '../support/env.js';
import { stderrLine, tcpSettled, waitUntil } from '../support/live-wait.js';
import { readTruth } from './corpus/generate.js';
import { score } from './corpus/score.js';
import { loadFilterObject } from '../../src/apps/http/filter-engine.js';
import { runUrls } from './support.js';
import { cliScript } from '../support/cli-script.js';

const build = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
const mainJs = build('../../src/cli/main.js');
const serverJs = build('./corpus/server-main.js');
const clientJs = build('./corpus/client-main.js');

async function liveRun(mode: string): Promise<{ truth: ReturnType<typeof readTruth>; out: string; err: string }> {
  const ns = `bpfkit-urls-live-${process.pid}-${mode}`;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-urls-live-'));
  const truthFile = join(dir, 'truth.jsonl');
  writeFileSync(truthFile, '');
  execFileSync('ip', ['netns', 'add', ns]);
  const kids: ReturnType<typeof spawn>[] = [];
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up', 'mtu', '1500']);
    spawnSync('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'lo', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    const listens = ['127.0.0.1:80', '127.0.0.1:8080', '[::1]:80', '[::1]:8080'];
    const server = spawn('ip', ['netns', 'exec', ns, process.execPath, serverJs, truthFile, ...listens], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    kids.push(server);
    let serverOut = '';
    server.stdout.on('data', (d: Buffer) => (serverOut += d.toString()));
    const script = cliScript(mainJs);
    const urls = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        '--input-type=module',
        '-e',
        script,
        '--',
        'urls',
        '-i',
        'lo',
        '--mode',
        mode,
        '--format',
        'json',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    kids.push(urls);
    let out = '';
    let err = '';
    urls.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    urls.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // The server listens on every address, and the filter is attached. bpfkit's line is watched for from
    // its start: it may come while the server is still starting (stderrLine sees only later output).
    const attached = stderrLine(urls, /bpfkit urls: listening on lo/, 'bpfkit urls');
    attached.catch(() => {}); // (awaited below; this only keeps an early rejection from being unhandled)
    await waitUntil(
      'the corpus server to listen',
      () => (serverOut.match(/listening/g) ?? []).length === listens.length,
    );
    await attached;
    const client = spawnSync('ip', ['netns', 'exec', ns, process.execPath, clientJs, 'basic', '127.0.0.1', '::1'], {
      encoding: 'utf8',
    });
    assert.equal(client.status, 0, client.stderr);
    // Every packet of the traffic has reached the socket once TCP has settled; on SIGINT bpfkit reads what
    // is queued before it stops.
    await waitUntil('TCP in the namespace to settle', () => tcpSettled(ns));
    urls.kill('SIGINT');
    const code = await new Promise<number | null>((r) => urls.on('exit', (c) => r(c)));
    assert.equal(code, 0, err);
    return { truth: readTruth(truthFile), out, err };
  } finally {
    for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

test('full mode live on a namespace loopback (filter in the kernel): every request, IPv4 and IPv6, summary on SIGINT', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'ethtool'] })) return;
  const { truth, out, err } = await liveRun('full');
  const recs = out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const s = score(truth, recs);
  assert.ok(truth.length > 100);
  assert.equal(s.recall, 1, `missed ${s.missed.slice(0, 5).join(' ')}`);
  assert.equal(s.precision, 1, `invented ${s.invented.slice(0, 5).join(' ')}`);
  assert.match(
    err,
    /urls: \d+ packets seen, \d+ kept by filter, \d+ requests, \d+ sessions, \d+ truncated, 0 kernel drops/,
  );
});

test('classic v2 live: the kernel keeps session packets, userspace deletes the keys from the kernel map', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'ethtool'] })) return;
  const { truth, out } = await liveRun('v2');
  const recs = out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { uri: string; src: string });
  assert.ok(recs.length > 30, `${recs.length} requests`);
  assert.ok(
    recs.every((r) => r.src === '127.0.0.1'),
    'IPv4 only',
  );
  assert.ok(
    recs.some((r) => r.uri === '/v4/split/abcdefghij?q=4'),
    'a split line reassembled through the kernel map',
  );
  assert.ok(truth.length > recs.length, 'the classic design misses requests');
});

test('the kernel engine loads all three filters and shares the sessions map with userspace', async (t) => {
  if (!needs(t, { root: true })) return;
  for (const mode of ['v1', 'v2', 'full']) {
    const k = await loadFilterObject(mode, 'kernel');
    try {
      assert.ok(k.program.fd > 0);
      if (mode !== 'v1') {
        const key = new Uint8Array(k.sessions!.keySize);
        key[0] = 4;
        k.sessions!.update(key, new Uint8Array(8));
        assert.ok(k.sessions!.lookup(key));
        assert.equal(k.sessions!.delete(key), true);
      }
    } finally {
      k.close();
    }
  }
});

test('--engine kernel on a capture (BPF_PROG_TEST_RUN per packet) gives exactly the VM engine output', async (t) => {
  if (!needs(t, { root: true })) return;
  const demo = fileURLToPath(new URL('../../../examples/captures/http-demo.pcap', import.meta.url));
  const file = existsSync(demo) ? demo : 'examples/captures/http-demo.pcap';
  for (const mode of ['full', 'v2', 'v1'] as const) {
    const vm = await runUrls(file, mode, 'vm', false);
    const kernel = await runUrls(file, mode, 'kernel', false);
    assert.deepEqual(kernel.lines, vm.lines, mode);
    assert.equal(kernel.summary.kept, vm.summary.kept, `${mode}: same packets kept`);
    assert.ok(vm.summary.kept <= vm.summary.packets);
  }
});
