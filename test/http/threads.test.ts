import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { needs, repoPath } from '../support/env.js';
import { readPcapFrames, writePcapFrames, type Frame } from './corpus/pcap-out.js';
import { fragment, parse, vlanTag } from './corpus/rewrite.js';
import { encapsulate } from './corpus/encap.js';
import { cli } from './support.js';
import { cliScript } from '../support/cli-script.js';

/** The compiled CLI beside this compiled test. */
const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const demo = repoPath('examples/captures/http-demo.pcap');
const dir = mkdtempSync(join(tmpdir(), 'bpfkit-threads-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** `f` with the IPv4 client address (the side not on port 80/8080) set to 10.c.c.2; others as they are. */
function moveClient(f: Frame, copy: number): Frame {
  const d = f.data.slice();
  const p = parse(d);
  if (p && p.v === 4) {
    const sport = (d[p.tcp]! << 8) | d[p.tcp + 1]!;
    const fromClient = sport !== 80 && sport !== 8080;
    d.set([10, (copy >> 8) & 255, copy & 255, 2], p.ip + (fromClient ? 12 : 16));
  }
  return { ...f, data: d };
}

/**
 * Requests in `copies` interleaved copies: the demo's 36 are 34 over IPv4 (moved to a new client each
 * copy) and 2 over IPv6 (left as they are: the copies repeat the same connection, found once).
 */
function requestsIn(copies: number): number {
  return 34 * copies + 2;
}

/**
 * `copies` copies of the demo capture's traffic, each from its own client address, interleaved frame by
 * frame (so every shard is busy at once and the merge has work to do), with the same timestamps.
 */
function interleaved(frames: Frame[], copies: number): Frame[] {
  const out: Frame[] = [];
  for (let i = 0; i < frames.length; i++) for (let c = 0; c < copies; c++) out.push(moveClient(frames[i]!, c));
  return out;
}

/** stdout and stderr of `bpfkit urls FILE ...args` with --threads 1 and each of `threads`: all equal. */
function assertSameOnThreads(file: string, args: string[], threads: string[]): string {
  const one = cli('urls', file, ...args, '--threads', '1');
  assert.equal(one.status, 0, one.stderr);
  for (const t of threads) {
    const many = cli('urls', file, ...args, '--threads', t);
    assert.equal(many.status, 0, `--threads ${t}: ${many.stderr}`);
    assert.equal(many.stdout, one.stdout, `--threads ${t} ${args.join(' ')}: same output`);
    assert.equal(many.stderr, one.stderr, `--threads ${t} ${args.join(' ')}: same summary`);
  }
  return one.stdout;
}

test('--threads N prints what one thread prints, byte for byte: many clients at once, text and json', () => {
  const { linktype, frames } = readPcapFrames(demo);
  const file = join(dir, 'clients.pcap');
  writePcapFrames(file, linktype, interleaved(frames, 12));
  for (const [args, threads] of [
    [[], ['2', '4']],
    [['--format', 'json'], ['3']],
    [['--engine', 'none'], ['2']],
  ] as [string[], string[]][]) {
    const out = assertSameOnThreads(file, args, threads);
    if (args.length === 0) assert.equal(out.trim().split('\n').length, requestsIn(12));
  }
});

test('--threads N: fragments, VLAN tags and a tunnel stay with their flow (same output as one thread)', () => {
  const { linktype, frames } = readPcapFrames(demo);
  const many = interleaved(frames, 6);
  const cases: [string, number, Frame[]][] = [
    ['fragments', linktype, fragment(many)],
    ['qinq', linktype, vlanTag(many, true)],
  ];
  const gre = encapsulate('gre', many);
  cases.push(['gre', gre.linktype, gre.frames]);
  for (const [name, lt, fs] of cases) {
    const file = join(dir, `${name}.pcap`);
    writePcapFrames(file, lt, fs);
    const out = assertSameOnThreads(file, ['--format', 'json'], ['2']);
    assert.equal(out.trim().split('\n').length, requestsIn(6), name);
  }
});

test('--threads N on a capture of many chunks, and on one cut short: what one thread prints, error and status too', () => {
  const { linktype, frames } = readPcapFrames(demo);
  // 80 interleaved clients: ~6 MB, so records straddle the 4 MiB chunk boundary and chunks are read into
  // the shared buffers again after the threads give them back
  const file = join(dir, 'chunks.pcap');
  writePcapFrames(file, linktype, interleaved(frames, 80));
  const out = assertSameOnThreads(file, [], ['2', '3']);
  assert.equal(out.trim().split('\n').length, requestsIn(80));
  // Cut inside a record past the first chunk: every request before the fault, then the reader's one-line
  // error and exit 2, whichever the thread count.
  const bytes = readFileSync(file);
  const cut = join(dir, 'cut.pcap');
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.8) + 7));
  const one = cli('urls', cut, '--threads', '1');
  assert.equal(one.status, 2, one.stderr);
  assert.match(one.stderr, /cut\.pcap@\d+/);
  assert.ok(one.stdout.trim().split('\n').length > requestsIn(50), 'requests before the fault are printed');
  const two = cli('urls', cut, '--threads', '2');
  assert.equal(two.status, one.status, two.stderr);
  assert.equal(two.stdout, one.stdout);
  assert.equal(two.stderr, one.stderr);
  assert.doesNotMatch(two.stderr, /\n {4}at /, 'no stack trace');
});

test('--threads 2 runs in bounded memory: a capture four times larger costs no more than on one thread', (t) => {
  if (!needs(t, { long: true })) return;
  if (spawnSync('sh', ['-c', 'test -x /usr/bin/time']).status !== 0) return t.skip('/usr/bin/time is missing');
  const { linktype, frames } = readPcapFrames(demo);
  const span = frames[frames.length - 1]!.tsSec - frames[0]!.tsSec + 1;
  const script = cliScript(mainJs);
  const peakMb = (file: string, threads: string, copies: number) => {
    const args = ['--input-type=module', '-e', script, '--', 'urls', file, '--threads', threads, '-q'];
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, ...args], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    assert.equal(r.status, 0, r.stderr);
    // (one after another, the IPv6 connections' copies are new connections too: every request counts)
    assert.equal(r.stdout.trim().split('\n').length, 36 * copies);
    return Number(r.stderr.trim().split('\n').pop()) / 1024;
  };
  // The copies one after another in time (each from its own client): a long capture of ordinary traffic,
  // not ever more connections at once. 150 vs 600 copies: 20 MB (five chunks: the pipeline at its
  // steady state) vs 80 MB.
  const growth: Record<string, number> = {};
  const files = [150, 600].map((copies) => {
    const file = join(dir, `long-${copies}.pcap`);
    const out: Frame[] = [];
    for (let c = 0; c < copies; c++)
      for (const f of frames) out.push({ ...moveClient(f, c), tsSec: f.tsSec + c * span });
    writePcapFrames(file, linktype, out);
    return { file, copies };
  });
  for (const threads of ['1', '2']) {
    const [small, big] = files.map(({ file, copies }) => peakMb(file, threads, copies));
    growth[threads] = big! - small!;
  }
  for (const { file } of files) rmSync(file);
  // (one thread's own growth is its bounded tables filling up; the shards must not add to it per byte read)
  assert.ok(
    growth['2']! < growth['1']! + 30,
    `peak RSS growth: ${growth['1']!.toFixed(0)} MB on one thread, ${growth['2']!.toFixed(0)} MB on two`,
  );
});
