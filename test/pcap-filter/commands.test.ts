/**
 * Expressions where bpfkit takes a filter, on the bundled captures (Ethernet, Linux cooked v1 and v2),
 * against tcpdump with the same expression: `run --pcap --filter` runs exactly the packets
 * `tcpdump -r FILE EXPR` prints, and `urls FILE --filter` sees as many packets and prints the same
 * requests as `urls` on the capture tcpdump writes with that expression. Bad expressions: one line
 * with the column, exit 2, before anything runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, repoPath } from '../support/env.js';
import { cliScript } from '../support/cli-script.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function bpfkit(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['-e', cliScript(MAIN), '--', ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const CAPTURES = ['lo-http.pcap', 'any-sll2.pcap', 'any-sll.pcap'].map((f) =>
  repoPath('test', 'fixtures', 'packet', f),
);

const EXPRESSIONS = [
  'tcp port 8080',
  'udp',
  'ip6 and tcp',
  'icmp or icmp6',
  'tcp[tcpflags] & (tcp-syn|tcp-fin) != 0',
  'ip[6:2] & 0x1fff != 0 or ip[6] & 0x20 != 0',
  'greater 1000',
  'not port 8080 and not port 8081',
];

/** How many packets `tcpdump -r FILE EXPR` prints. */
function tcpdumpCount(file: string, expr: string): number {
  const r = spawnSync('tcpdump', ['-r', file, '-n', '--', expr], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.length > 0).length;
}

test('run --pcap --filter EXPR runs exactly the packets tcpdump -r FILE EXPR keeps', (t) => {
  if (!needs(t, { tools: ['tcpdump'] })) return;
  for (const file of CAPTURES) {
    for (const expr of EXPRESSIONS) {
      const r = bpfkit('run', 'examples/proto-count/proto-count.o', '--pcap', file, '--filter', expr, '--json');
      assert.equal(r.code, 0, r.err);
      const got = (JSON.parse(r.out) as { results: unknown[] }).results.length;
      assert.equal(got, tcpdumpCount(file, expr), `${file}: ${expr}`);
    }
  }
  // the labels keep each packet's number in the file
  const r = bpfkit('run', 'examples/proto-count/proto-count.o', '--pcap', CAPTURES[0]!, '--filter', 'udp');
  const labels = r.out.split('\n').filter((l) => l.startsWith('#'));
  assert.ok(labels.length > 0 && !labels.every((l, i) => l.startsWith(`#${i + 1}:`)), 'original numbers');
});

test('urls FILE --filter EXPR: the packets tcpdump keeps, the requests urls finds in tcpdump -w output', (t) => {
  if (!needs(t, { tools: ['tcpdump'] })) return;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-urls-filter-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const file of CAPTURES) {
    for (const expr of ['tcp port 8080', 'ip6', 'tcp[tcpflags] & tcp-push != 0', 'udp']) {
      const mine = bpfkit('urls', file, '--filter', expr, '--format', 'json');
      assert.equal(mine.code, 0, mine.err);
      const seen = /urls: (\d+) packets seen/.exec(mine.err);
      assert.ok(seen, mine.err);
      assert.equal(Number(seen[1]), tcpdumpCount(file, expr), `${file}: ${expr}`);
      const written = join(dir, 'theirs.pcap');
      const w = spawnSync('tcpdump', ['-r', file, '-w', written, '--', expr], { encoding: 'utf8' });
      assert.equal(w.status, 0, w.stderr);
      const theirs = bpfkit('urls', written, '--format', 'json');
      assert.equal(theirs.code, 0, theirs.err);
      assert.equal(mine.out, theirs.out, `${file}: ${expr}: same requests`);
    }
  }
  const all = bpfkit('urls', CAPTURES[0]!, '-q');
  const some = bpfkit('urls', CAPTURES[0]!, '-q', '--filter', 'ip6');
  const lines = (s: string) => s.split('\n').filter(Boolean).length;
  assert.ok(lines(some.out) > 0 && lines(some.out) < lines(all.out), 'the filter keeps some requests, not all');
});

test('bad expressions: one line with the column, exit 2, before anything runs', () => {
  const cases: [string[], RegExp][] = [
    [
      ['run', 'examples/proto-count/proto-count.o', '--pcap', CAPTURES[0]!, '--filter', 'tcp port 70000'],
      /column 10: /,
    ],
    [['run', 'examples/proto-count/proto-count.o', '--pcap', CAPTURES[0]!, '--filter', 'tcp and ('], /syntax error/],
    [['run', 'examples/proto-count/proto-count.o', '--mem', '00', '--filter', 'tcp'], /--filter applies to --pcap/],
    [['urls', CAPTURES[0]!, '--filter', 'host'], /column \d+: /],
    [['urls', '-i', 'lo', '--engine', 'vm', '--filter', 'tcp'], /use --engine kernel/],
    // (live: the expression is checked before any socket or program)
    [['urls', '-i', 'lo', '--filter', 'tcp and ('], /syntax error/],
  ];
  for (const [args, want] of cases) {
    const r = bpfkit(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, want);
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
    assert.equal(r.out, '', 'nothing ran');
  }
});

test('pcap compile takes one output form: a second listing flag, or -d/--tc beside --form, is refused', () => {
  // before: the last listing flag won, and --form printed eBPF whatever -d/-dd/--tc said
  for (const [args, message] of [
    [['--form', 'xdp', '-d', 'ip'], '--form prints eBPF: -d does not apply to it'],
    [['-ddd', '--form', 'tc', 'ip'], '--form prints eBPF: -ddd does not apply to it'],
    [['-d', '--tc', 'ip'], '--tc given with -d: use one of -d, -dd, -ddd, --tc, --ebpf'],
  ] as const) {
    const r = bpfkit('pcap', 'compile', ...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.err, `bpfkit pcap: ${message}\n`);
  }
  assert.equal(bpfkit('pcap', 'compile', '--ebpf', '--form', 'xdp', 'ip').code, 0);
});
