import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function bpfkit(...args: string[]) {
  return spawnSync(process.execPath, ['bin/bpfkit.js', ...args], { encoding: 'utf8' });
}

test('bpfkit with no command prints usage and exits 2', () => {
  const r = bpfkit();
  assert.equal(r.status, 2);
  assert.match(r.stdout, /usage: bpfkit <command>/);
});

test('an unknown command is a usage error with no stack trace', () => {
  const r = bpfkit('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
});

test('bpfkit version and --version both print the version in package.json', () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  for (const arg of ['version', '--version', '-V']) {
    const r = bpfkit(arg);
    assert.equal(r.status, 0, arg);
    assert.equal(r.stdout, `bpfkit ${version}\n`, arg);
  }
});

test('a reader that closes the pipe early ends the command with status 0 and no stack trace', async (t) => {
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    t.skip('no kernel BTF to dump (/sys/kernel/btf/vmlinux)');
    return;
  }
  // Megabytes of output into a pipe whose reader leaves after the first chunk, as `| head` does.
  const child = spawn(process.execPath, ['bin/bpfkit.js', 'btf', 'dump', '--format', 'c'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '');
});

test('a megabyte-long token in the input gives a short one-line error, location first, not the token echoed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-long-'));
  try {
    const file = join(dir, 'long.s');
    writeFileSync(file, `${'x'.repeat(1_000_000)}\n`);
    for (const args of [
      ['asm', file],
      ['cbpf', 'asm', file],
      ['conformance', file],
      ['pcap', 'compile', `host ${'a'.repeat(100_000)}`],
    ]) {
      const r = bpfkit(...args);
      assert.equal(r.status, 2, args[0]);
      const lines = r.stderr.trimEnd().split('\n');
      const last = lines[lines.length - 1]!;
      assert.ok(r.stderr.length < 2000, `${args.slice(0, 2).join(' ')}: ${r.stderr.length} bytes of stderr`);
      assert.match(last, /^bpfkit \w+: /);
      assert.match(last, /characters left out/);
      if (args[0] !== 'pcap') assert.ok(last.includes(`${file}:1`), last);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a raw program longer than any kernel loads is refused before it is decoded: one line, exit 2, little memory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-huge-'));
  try {
    // 1,000,001 slots of `exit` (eBPF) — as classic BPF, 8,000,008 bytes of `ret #0`-shaped records.
    const file = join(dir, 'huge.bin');
    const slot = Buffer.from('9500000000000000', 'hex');
    writeFileSync(file, Buffer.concat(Array.from({ length: 1_000_001 }, () => slot)));
    for (const [args, message] of [
      [['disasm', file], `bpfkit disasm: ${file}: 1000001 instruction slots: more than any program may have`],
      [['verify', file, '--type', 'xdp'], `bpfkit verify: ${file}: 1000001 instruction slots: more than any program`],
      [['cbpf', 'disasm', file], `bpfkit cbpf: ${file}: 8000008 bytes: longer than any classic BPF program`],
    ] as const) {
      const r = bpfkit(...args);
      assert.equal(r.status, 2, r.stderr);
      assert.ok(r.stderr.startsWith(message), r.stderr);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('map, prog, detach and capture refuse a flag their subcommand would ignore, before touching the kernel', () => {
  const cases: Array<[string[], string]> = [
    [
      ['map', 'delete', '/sys/fs/bpf/none', '--key', '00', '--flags', 'exist'],
      "map: --flags does not apply to 'map delete'",
    ],
    [['map', 'lookup', '1', '--key', '00', '--value', '00'], "map: --value does not apply to 'map lookup'"],
    [['map', 'show', '--key', '00'], "map: --key does not apply to 'map show'"],
    [['prog', 'show', '--program', 'x'], "prog: --program does not apply to 'prog show'"],
    [['prog', 'load', 'a.o', '/sys/fs/bpf/x', '--json'], "prog: --json does not apply to 'prog load'"],
    [['detach', 'xdp', 'lo', '--direction', 'egress'], 'detach: --direction is for tc only'],
    [
      ['capture', '-i', 'lo', '--micro'],
      'capture: --micro sets the timestamps of the file -w writes: it needs -w FILE',
    ],
  ];
  for (const [args, message] of cases) {
    const r = bpfkit(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stderr, `bpfkit ${message}\n`);
  }
});

test("link set refuses a mode word that is not ip-link's ('toString' attached in auto mode) and a second mode", () => {
  const proto = bpfkit('link', 'set', 'dev', 'lo', 'toString', 'obj', 'x.o');
  assert.equal(proto.status, 2);
  assert.match(proto.stderr, /^bpfkit link: link: unknown word 'toString'\n/);
  const two = bpfkit('link', 'set', 'dev', 'lo', 'xdp', 'xdpdrv', 'obj', 'x.o');
  assert.equal(two.status, 2);
  assert.equal(two.stderr, "bpfkit link: link: 'xdpdrv' given after 'xdp' (one mode)\n");
});

test('verify --program on raw instructions (one unnamed program) is refused, not ignored', () => {
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-verify-raw-${process.pid}-`));
  try {
    const raw = join(dir, 'prog.bin');
    writeFileSync(raw, Buffer.from('b700000000000000' + '9500000000000000', 'hex')); // r0 = 0; exit
    assert.equal(bpfkit('verify', raw, '--type', 'xdp').status, 0);
    const r = bpfkit('verify', raw, '--type', 'xdp', '--program', 'main');
    assert.equal(r.status, 2);
    assert.equal(
      r.stderr,
      `bpfkit verify: ${raw}: --program names a program of an ELF object; this file is raw instructions\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory given as a capture, or as an output file, is one line naming it (exit 2 / 3), never exit 70', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-cli-dirs-'));
  try {
    const capture = 'examples/captures/http-demo.pcap';
    // open(2) succeeds on a directory; only the first read failed (EISDIR), outside the reader's checks.
    for (const args of [
      ['urls', dir],
      ['pcap', 'info', dir],
      ['pcap', 'filter', dir, join(dir, 'out.pcap'), 'tcp'],
      ['run', 'examples/proto-count/proto-count.o', '--pcap', dir],
    ]) {
      const r = bpfkit(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('bpfkit'));
      assert.equal(errors.length, 1, r.stderr);
      assert.match(errors[0]!, /: cannot (open capture: it is a directory|read: EISDIR)$/);
    }
    // An output path that cannot be written: the path and the errno, exit 3 (as pcap filter's OUT).
    const missing = join(dir, 'no', 'such', 'dir', 'out');
    for (const [args, out] of [
      [['asm', '/dev/null', '-o', missing], missing],
      [['cbpf', 'asm', '1,6 0 0 0,', '-o', dir], dir],
      [['cbpf', 'convert', '1,6 0 0 0,', '-o', dir], dir],
      [['pcap', 'compile', '--form', 'socket', '-o', dir, 'tcp'], dir],
      [['pcap', 'filter', capture, dir, 'tcp'], dir],
    ] as const) {
      const r = bpfkit(...args);
      assert.equal(r.status, 3, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^bpfkit \\w+: cannot write ${out}: E(ISDIR|NOENT)`), r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('numeric flags past what their field holds are refused in one line, before any work (once wrapped, crashed or ran for days)', () => {
  const capture = 'examples/captures/http-demo.pcap';
  for (const [args, message] of [
    // `ret #k` is 32 bits: 99999999999 came out as ret #1215752191
    [['pcap', 'compile', '-s', '4294967296', 'tcp'], "-s wants a snapshot length of 1 to 4294967295, got '4294967296'"],
    // a snaplen past tcpdump's sized the capture ring and buffers past any frame, and crashed in koffi (abort)
    [['capture', '-i', 'lo', '--snaplen', '99999999999', '-c', '1'], '--snaplen must be at most 262144'],
    // BPF_PROG_TEST_RUN's repeat and a map's max_entries are __u32
    [
      ['run', 'examples/proto-count/proto-count.o', '--pcap', capture, '--repeat', '99999999999'],
      '--repeat must be at most 4294967295',
    ],
    [
      ['verify', 'examples/proto-count/proto-count.o', '--max-entries', '4294967296'],
      '--max-entries must be at most 4294967295',
    ],
  ] as const) {
    const r = bpfkit(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `bpfkit ${args[0]}: ${message}\n`);
  }
  assert.match(bpfkit('pcap', 'compile', '-s', '4294967295', 'tcp').stdout, /\(010\) ret +#-1\n/); // (tcpdump prints k signed)
});
