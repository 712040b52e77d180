// `bpfkit cbpf`: each command end to end through the real binary — outputs, exit codes 0/1/2, one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, repoPath } from '../support/env.js';
import { openCapture } from '../../src/packet/index.js';

function bpfkit(...args: string[]) {
  return spawnSync(process.execPath, ['bin/bpfkit.js', 'cbpf', ...args], { encoding: 'utf8' });
}

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-cbpf-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const foobar = join(dir, 'foobar');
writeFileSync(foobar, 'ldh [12]\njne #0x800, drop\nldb [23]\njneq #6, drop\nret #-1\ndrop: ret #0\n');
const BYTECODE = '6,40 0 0 12,21 0 3 2048,48 0 0 23,21 0 1 6,6 0 0 4294967295,6 0 0 0,';

test('cbpf asm: bytecode by default, -f c / ddd / bin; disasm reads any of them back', () => {
  const r = bpfkit('asm', foobar);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${BYTECODE}\n`);
  assert.match(bpfkit('asm', foobar, '-f', 'c').stdout, /^\{ 0x28, {2}0, {2}0, 0x0000000c \},\n/);
  const bin = join(dir, 'prog.bin');
  assert.equal(bpfkit('asm', foobar, '-f', 'bin', '-o', bin).status, 0);
  assert.equal(readFileSync(bin).length, 48);
  const ddd = join(dir, 'prog.ddd');
  writeFileSync(ddd, bpfkit('asm', foobar, '-f', 'ddd').stdout);
  for (const input of [bin, ddd, BYTECODE, foobar]) {
    assert.equal(bpfkit('disasm', input, '-ddd').stdout, readFileSync(ddd, 'utf8'), input);
  }
  assert.equal(bpfkit('disasm', BYTECODE).stdout.split('\n')[1], '(001) jeq      #0x800           jt 2\tjf 5');
});

test('cbpf check: 0 when the kernel would accept, 1 with the rule and instruction when not, 2 on bad input', () => {
  assert.equal(bpfkit('check', foobar).status, 0);
  const bad = bpfkit('check', '2,96 0 0 1,6 0 0 0,');
  assert.equal(bad.status, 1);
  assert.match(
    bad.stderr,
    /^bpfkit cbpf check: <program>: instruction 0: M\[1\] is read before it is written on some path \(mem-uninit\)\n$/,
  );
  for (const input of ['3,6 0 0 0,', '1,6 0 0', '1,-6 0 0 0,', '0,']) {
    const r = bpfkit('check', input);
    assert.equal(r.status, 2, input);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const asm = join(dir, 'bad.asm');
  writeFileSync(asm, 'ret #0\njeq #1, nowhere\n');
  const r = bpfkit('check', asm);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.asm:2:9: undefined label 'nowhere'/);
});

test('cbpf run --json prints {"results":[{"retval":N},…]}, one per packet in capture order, keeping what tcpdump keeps', async (t) => {
  if (!needs(t, { tools: ['tcpdump'] })) return;
  const pcap = repoPath('examples/captures/http-demo.pcap');
  const prog = spawnSync('tcpdump', ['-r', pcap, '-ddd', 'tcp dst port 80'], { encoding: 'utf8' }).stdout;
  const file = join(dir, 'port80.ddd');
  writeFileSync(file, prog);
  const r = bpfkit('run', file, '--pcap', pcap, '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\{"results":\[\{"retval":\d+\}(,\{"retval":\d+\})*\]\}\n$/);
  const results = (JSON.parse(r.stdout) as { results: { retval: number }[] }).results;
  const reader = await openCapture(pcap);
  const frames = await reader.readAll();
  await reader.close();
  assert.equal(results.length, frames.length);
  // Which packets: tcpdump -tt prints each kept packet's timestamp, in capture order.
  const theirs = spawnSync('tcpdump', ['-tt', '-n', '-r', pcap, 'tcp dst port 80'], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .map((line) => line.split(' ')[0]);
  const ours = frames.flatMap((f, i) =>
    results[i]!.retval !== 0 ? [`${f.tsSec}.${String(Math.floor(f.tsNsec / 1000)).padStart(6, '0')}`] : [],
  );
  assert.deepEqual(ours, theirs);
  assert.ok(theirs.length > 0 && theirs.length < results.length);
});

test('bad programs: one line naming the instruction or line:column, exit 2 (check: 1 for what the kernel refuses)', () => {
  const pcap = repoPath('examples/captures/http-demo.pcap');
  const big = join(dir, 'big.ddd');
  writeFileSync(big, `4097\n${'6 0 0 0\n'.repeat(4097)}`);
  const negative = join(dir, 'negative.txt');
  writeFileSync(negative, '-1,6 0 0 0,');
  const dupe = join(dir, 'dupe.asm');
  writeFileSync(dupe, 'ldh [12]\nout: ret #1\n  out: ret #0\n');
  const undef = join(dir, 'undef.asm');
  writeFileSync(undef, 'ldh [12]\njeq #0x800, yes, no\nyes: ret #1\n');
  // [input, message, a checker rule (asm converts forms and does not check)]
  const cases: [string, RegExp, boolean?][] = [
    ['0,', /has 1\.\.4096 instructions, got 0$/],
    [big, /big\.ddd: a classic BPF program has 1\.\.4096 instructions, got 4097$/],
    ['2,5 0 0 1,6 0 0 0,', /instruction 0: ja \+1 lands past the last instruction \(1\) \(jump-range\)$/, true],
    ['2,21 0 2 7,6 0 0 0,', /instruction 0: .*past the last instruction.*\(jump-range\)$/, true],
    ['2,255 0 0 0,6 0 0 0,', /instruction 0: opcode 0xff is not one the kernel accepts \(opcode\)$/, true],
    ['3,6 0 0 0,', /the count says 3 instructions but 1 follow$/],
    ['1,6 0 0 0,6 0 0 0,', /the count says 1 instructions but 2 follow$/],
    ['1,6 0 0 -1,', /instruction 0: '-1' is negative/],
    [negative, /count: '-1' is negative/],
    ['1,6 0 0 x,', /instruction 0: 'x' is not a number$/],
    ['1,6 0 0 0,junk', /instruction 1 needs 4 numbers \(code jt jf k\), got 'junk'$/],
    ['1,6 0 0,', /instruction 0 needs 4 numbers/],
    [dupe, /dupe\.asm:3:3: label 'out' is defined twice$/],
    [undef, /undef\.asm:2:18: undefined label 'no'$/],
  ];
  for (const [input, re, rule] of cases) {
    const commands = [
      ['run', input, '--pcap', pcap, '--json'],
      ['convert', input],
    ];
    if (!rule) commands.push(['asm', input]);
    for (const args of commands) {
      const r = bpfkit(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', args.join(' '));
      assert.match(r.stderr.trimEnd(), re, args.join(' '));
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    }
  }
  // check: a program the kernel refuses is a verdict (1), not bad input.
  for (const refused of ['2,5 0 0 1,6 0 0 0,', '2,255 0 0 0,6 0 0 0,'])
    assert.equal(bpfkit('check', refused).status, 1);
});

test('cbpf convert lists the eBPF program the kernel would run', () => {
  const r = bpfkit('convert', foobar);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ {4}0: w0 \^= w0\n {4}1: w7 \^= w7\n {4}2: r6 = r1\n {4}3: r0 = \*\(u16 \*\)skb\[12\]\n/);
});

test('cbpf convert refuses the netlink ancillary loads in one line; run (the interpreter) runs them', () => {
  for (const [k, name] of [
    [4294963212, 'NLATTR'],
    [4294963216, 'NLATTR_NEST'],
  ] as const) {
    const prog = `3,1 0 0 0,32 0 0 ${k},6 0 0 0,`;
    const r = bpfkit('convert', prog);
    assert.equal(r.status, 2);
    assert.equal(
      r.stderr,
      `bpfkit cbpf: <program>: instruction 1: the ${name} ancillary load needs the kernel's netlink helper and is not converted (runClassic runs it)\n`,
    );
    assert.equal(bpfkit('run', prog, '--pcap', repoPath('examples/captures/http-demo.pcap')).status, 0);
  }
});

test(
  "capture --bpf-asm, --bytecode and a bytecode-file attach the seed's programs to a live socket",
  { timeout: 60_000 },
  async (t) => {
    if (!needs(t, { root: true, tools: ['ip', 'tcpdump'] })) return;
    // The seed's bytecode-file: tcpdump -ddd 'tcp[tcpflags] & tcp-syn != 0' | tr '\n' ','
    const ddd = spawnSync(
      'tcpdump',
      ['-r', repoPath('examples/captures/http-demo.pcap'), '-ddd', 'tcp[tcpflags] & tcp-syn != 0'],
      {
        encoding: 'utf8',
      },
    ).stdout;
    const synFile = join(dir, 'tcp-syn');
    writeFileSync(synFile, ddd.replace(/\n/g, ','));
    const ns = `bpfkit-cbpfcap-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    t.after(() => execFileSync('ip', ['netns', 'del', ns]));
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // UDP (which the IPv4/TCP classifier drops) and TCP connection attempts, until the capture has its packets.
    const traffic = `const d=require('node:dgram').createSocket('udp4');const net=require('node:net');
    setInterval(()=>{d.send('x',9,'127.0.0.1');net.connect(1,'127.0.0.1').on('error',()=>{});},20);`;
    for (const [flag, value, count] of [
      ['--bpf-asm', foobar, 4],
      ['--bytecode', '1,6 0 0 4294967295,', 2],
      ['--cbpf', `@${synFile}`, 2],
    ] as const) {
      const out = join(dir, `cap${flag}.pcap`);
      const cap = spawn('ip', [
        'netns',
        'exec',
        ns,
        process.execPath,
        'bin/bpfkit.js',
        'capture',
        '-i',
        'lo',
        '-q',
        '-c',
        String(count),
        '-w',
        out,
        flag,
        value,
      ]);
      let err = '';
      await new Promise<void>((ok, ko) => {
        cap.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          if (/listening on/.test(err)) ok();
        });
        cap.on('exit', (code) => ko(new Error(`capture exited (${code}): ${err}`)));
      });
      const gen = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', traffic]);
      const code = await new Promise<number | null>((ok) => cap.on('exit', ok));
      gen.kill('SIGKILL');
      assert.equal(code, 0, err);
      const frames = [...(await openCapture(out).then((r) => r.readAll()))];
      assert.equal(frames.length, count);
      if (flag === '--bpf-asm')
        for (const f of frames)
          assert.deepEqual([f.data[12], f.data[13], f.data[23]], [0x08, 0x00, 6], 'IPv4/TCP only');
      if (flag === '--cbpf')
        for (const f of frames) assert.ok(f.data[23] === 6 && (f.data[14 + 20 + 13]! & 0x02) !== 0, 'TCP SYNs only');
    }
  },
);

test('a flag another cbpf subcommand reads is refused, not ignored: check -o writes no file, disasm -f renders nothing else', () => {
  for (const [args, flag, sub] of [
    [['check', foobar, '-o', join(dir, 'never')], '--output', 'check'],
    [['disasm', foobar, '-f', 'c'], '--format', 'disasm'],
    [['asm', foobar, '-dd'], '-dd', 'asm'],
    [['run', foobar, '--pcap', foobar, '-o', join(dir, 'never')], '--output', 'run'],
    [['dbg', '--json'], '--json', 'dbg'],
  ] as const) {
    const r = bpfkit(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stderr, `bpfkit cbpf: ${flag} does not apply to 'cbpf ${sub}'\n`);
  }
});

test('cbpf run: a capture cut inside a record prints every verdict before it, then the one-line error (exit 2)', () => {
  const whole = readFileSync(repoPath('examples/captures/http-demo.pcap'));
  // The header (24 bytes) and the first record whole, then 10 bytes of the second record's header.
  const firstLen = whole.readUInt32LE(24 + 8);
  const cut = join(dir, 'cut.pcap');
  writeFileSync(cut, whole.subarray(0, 24 + 16 + firstLen + 10));
  const r = bpfkit('run', BYTECODE, '--pcap', cut);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stdout, /^1\t\d+\t(keep|drop)\n1 of 1 packets kept\n$|^1\t0\tdrop\n0 of 1 packets kept\n$/);
  assert.match(r.stderr, /^bpfkit cbpf: .*cut\.pcap@\d+: .*truncated capture\)\n$/);
  const json = bpfkit('run', BYTECODE, '--pcap', cut, '--json');
  assert.equal(json.status, 2);
  assert.equal((JSON.parse(json.stdout) as { results: unknown[] }).results.length, 1);
});
