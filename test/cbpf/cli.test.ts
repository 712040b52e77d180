// `bpfkit cbpf`: each command end to end through the real binary — outputs, exit codes 0/1/2, one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, repoPath } from '../support/env.js';
import { openCapture } from '../../src/packet/index.js';

function bpfkit(...args: string[]) {
  return spawnSync(process.execPath, ['bin/bpfkit.js', 'cbpf', ...args], { encoding: 'utf8' });
}

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-cbpf-'));
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

test('cbpf run --json keeps the packets tcpdump keeps', (t) => {
  if (!needs(t, { tools: ['tcpdump'] })) return;
  const pcap = repoPath('examples/captures/http-demo.pcap');
  const prog = spawnSync('tcpdump', ['-r', pcap, '-ddd', 'tcp dst port 80'], { encoding: 'utf8' }).stdout;
  const file = join(dir, 'port80.ddd');
  writeFileSync(file, prog);
  const r = bpfkit('run', file, '--pcap', pcap, '--json');
  assert.equal(r.status, 0, r.stderr);
  const results = (JSON.parse(r.stdout) as { results: { retval: number }[] }).results;
  const theirs = spawnSync('tcpdump', ['-r', pcap, 'tcp dst port 80'], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n').length;
  assert.equal(results.filter((x) => x.retval !== 0).length, theirs);
  assert.ok(theirs > 0 && theirs < results.length);
});

test('cbpf convert lists the eBPF program the kernel would run', () => {
  const r = bpfkit('convert', foobar);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ {4}0: w0 \^= w0\n {4}1: w7 \^= w7\n {4}2: r6 = r1\n {4}3: r0 = \*\(u16 \*\)skb\[12\]\n/);
});

test("capture --bpf-asm and --bytecode attach the seed's programs to a live socket", { timeout: 60_000 }, async (t) => {
  if (!needs(t, { root: true, tools: ['ip'] })) return;
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
      for (const f of frames) assert.deepEqual([f.data[12], f.data[13], f.data[23]], [0x08, 0x00, 6], 'IPv4/TCP only');
  }
});
