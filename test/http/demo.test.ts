import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, repoPath } from '../support/env.js';
import { readTruth } from './corpus/generate.js';
import { score } from './corpus/score.js';
import { cli, missingFrom, runUrls, tsharkRequests } from './support.js';

const demo = repoPath('examples', 'captures', 'http-demo.pcap');
const truth = readTruth(repoPath('examples', 'captures', 'http-demo.truth.jsonl'));

test('full mode finds exactly the requests the server logged in the bundled demo capture', async () => {
  for (const engine of ['vm', 'none'] as const) {
    const { records, summary } = await runUrls(demo, 'full', engine);
    const s = score(truth, records);
    assert.equal(s.recall, 1, `${engine}: missed ${s.missed.join(', ')}`);
    assert.equal(s.precision, 1, `${engine}: invented ${s.invented.join(', ')}`);
    assert.equal(summary.requests, truth.length);
    assert.ok(summary.kept <= summary.packets);
  }
});

test('json records pair responses (status, latency) and carry the Host and full URL', async () => {
  const { records } = await runUrls(demo);
  const head = records.find((r) => r.method === 'HEAD')!;
  assert.equal(head.status, 200);
  assert.equal(head.src, '::1');
  const empty = records.find((r) => r.uri.endsWith('/empty'))!;
  assert.equal(empty.status, 204);
  assert.equal(empty.host, 'api.example.test');
  assert.equal(empty.url, 'http://api.example.test/api/v1/orders/1001/empty');
  for (const r of records) {
    assert.equal(typeof r.ts, 'number');
    if (r.status !== null) assert.ok(r.latency_ms! >= 0 && r.latency_ms! < 10_000);
  }
  assert.ok(
    records.filter((r) => r.status !== null).length >= truth.length - 1,
    'nearly every request got its response',
  );
});

test('`bpfkit urls FILE` prints classic request lines (what npm start shows), json with --format json, a summary on stderr', () => {
  const text = cli('urls', 'examples/captures/http-demo.pcap');
  assert.equal(text.status, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  assert.equal(lines.length, truth.length);
  assert.deepEqual([...lines].sort(), truth.map((t) => `${t.method} ${t.url} ${t.version}`).sort());
  assert.match(
    text.stderr,
    /urls: \d+ packets seen, \d+ kept by filter, 36 requests, \d+ sessions, 0 truncated, 0 kernel drops/,
  );

  const json = cli('urls', 'examples/captures/http-demo.pcap', '--format', 'json', '-q');
  assert.equal(json.status, 0);
  assert.equal(json.stderr, '');
  const recs = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const key of [
    'ts',
    'src',
    'dst',
    'sport',
    'dport',
    'method',
    'host',
    'uri',
    'version',
    'status',
    'latency_ms',
    'truncated',
  ])
    assert.ok(key in recs[0]!, `json has ${key}`);
});

test('`bpfkit urls` on one thread and with its flows split over two or three prints the same, run after run', () => {
  const one = cli('urls', 'examples/captures/http-demo.pcap', '--format', 'json', '--threads', '1');
  const two = cli('urls', 'examples/captures/http-demo.pcap', '--format', 'json', '--threads', '2');
  const again = cli('urls', 'examples/captures/http-demo.pcap', '--format', 'json', '--threads', '2');
  assert.equal(one.status, 0, one.stderr);
  assert.equal(two.status, 0, two.stderr);
  assert.equal(two.stdout, one.stdout);
  assert.equal(two.stderr, one.stderr);
  assert.equal(again.stderr, two.stderr);
  const three = cli('urls', 'examples/captures/http-demo.pcap', '--format', 'json', '--threads', '3');
  assert.equal(three.stdout, one.stdout);
  assert.equal(three.stderr, one.stderr);
  assert.equal(cli('urls', 'examples/captures/http-demo.pcap', '--threads', '65').status, 2);
  assert.equal(cli('urls', 'examples/captures/http-demo.pcap', '--threads', '2', '--mode', 'v2').status, 2);
});

test('tshark (out-of-order reassembly on) finds nothing that full mode misses on the demo capture', async (t) => {
  if (!needs(t, { tools: ['tshark'] })) return;
  const { records } = await runUrls(demo);
  const ours = records.map((r) => `${r.method}\t${r.uri}`);
  assert.deepEqual(missingFrom(ours, tsharkRequests(demo)), []);
});

test('a malformed capture: a clear error with the offset, exit 2, and every request before the fault printed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-urls-'));
  try {
    const bytes = readFileSync(demo);
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const r = cli('urls', cut);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cut\.pcap@\d+: .*truncated/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
    const printed = r.stdout.trim().split('\n').filter(Boolean);
    assert.ok(
      printed.length >= 10 && printed.length < truth.length,
      `printed ${printed.length} requests found before the fault`,
    );
    assert.match(r.stderr, /urls: \d+ packets seen/);
    // With the flows split over two threads: the same requests before the fault, the same error.
    const r2 = cli('urls', cut, '--threads', '2');
    assert.equal(r2.status, 2);
    assert.equal(r2.stdout, r.stdout);
    assert.equal(r2.stderr, r.stderr);

    const garbage = join(dir, 'garbage.pcap');
    writeFileSync(garbage, Buffer.from('this is not a capture file at all'));
    for (const threads of ['1', '2']) {
      const g = cli('urls', garbage, '--threads', threads);
      assert.equal(g.status, 2);
      assert.match(g.stderr, /not a pcap, pcapng or snoop file/);
      assert.doesNotMatch(g.stderr, /at .*\.js:\d+/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors are one line and exit 2', () => {
  for (const args of [
    ['urls'],
    ['urls', 'a.pcap', '--mode', 'v3'],
    ['urls', 'a.pcap', '--format', 'xml'],
    ['urls', 'a.pcap', '-i', 'lo'],
  ]) {
    const r = cli(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const help = cli('urls', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--mode full\|v1\|v2/);
});

test("flags a run would ignore are refused: full mode's limits with --mode v1/v2, --count on a capture file", () => {
  // before: each ran and printed exactly what it prints without the flag
  for (const [args, message] of [
    [['--mode', 'v1', '--max-line', '16'], '--max-line is for --mode full (v1/v2 have no such limit)'],
    [['--mode', 'v2', '--max-flows', '1'], '--max-flows is for --mode full'],
    [['--mode', 'v1', '--idle-timeout', '1'], '--idle-timeout is for --mode full'],
    [['--mode', 'v2', '--max-memory', '1'], '--max-memory is for --mode full'],
    [['-c', '1'], '--count is for -i (live capture); a capture file is read to its end'],
  ] as const) {
    const r = cli('urls', 'a.pcap', ...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.ok(r.stderr.startsWith(`bpfkit urls: ${message}`), r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
