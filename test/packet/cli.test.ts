import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseClassicBpf } from '../../src/cbpf/index.js';
import { InputError } from '../../src/util/errors.js';
import { needs } from '../support/env.js';
import { fixture, tempDir, tsharkFrames } from './helpers.js';
import { cliScript } from '../support/cli-script.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
function bpfkit(...args: string[]) {
  return spawnSync(process.execPath, ['-e', cliScript(MAIN), '--', ...args], {
    encoding: 'utf8',
    timeout: 30000,
  });
}

test('pcap info --json: counts, bytes, link types and first/last agree with tshark', async (t) => {
  if (!needs(t, { tools: ['tshark'] })) return;
  for (const name of ['lo-http-nsec.pcap', 'any-sll2.pcap']) {
    const r = bpfkit('pcap', 'info', fixture(name), '--json');
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    const frames = tsharkFrames(fixture(name)).map((l) => l.split(' '));
    assert.equal(info.packets, frames.length);
    assert.equal(
      info.bytes,
      frames.reduce((s, f) => s + Number(f[2]), 0),
    );
    assert.equal(
      info.wireBytes,
      frames.reduce((s, f) => s + Number(f[1]), 0),
    );
    assert.equal(info.firstEpoch, frames[0]![0]);
    assert.equal(info.lastEpoch, frames[frames.length - 1]![0]);
    assert.deepEqual(info.linktypes, [name.startsWith('any') ? 'LINUX_SLL2' : 'EN10MB']);
    assert.equal(info.format, 'pcap');
    assert.equal(info.snaplen, 262144);
    assert.match(info.first, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.equal(new Date(info.first).getTime(), Math.floor(Number(info.firstEpoch) * 1000));
  }
});

test('pcap info on a truncated file prints what came before, the error with its offset, exits 2', (t) => {
  const dir = tempDir(t);
  const full = readFileSync(fixture('lo-http.pcap'));
  const f = join(dir, 'cut.pcap');
  writeFileSync(f, full.subarray(0, 5000));
  const r = bpfkit('pcap', 'info', f);
  assert.equal(r.status, 2);
  assert.match(r.stdout, /Packets: +\d+/);
  const counted = Number(/Packets: +(\d+)/.exec(r.stdout)![1]);
  assert.ok(counted > 10);
  assert.match(r.stderr, /cut\.pcap@\d+: file ends inside a record/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  const j = bpfkit('pcap', 'info', '--json', f);
  assert.equal(j.status, 2);
  assert.equal(JSON.parse(j.stdout).packets, counted);
  const missing = bpfkit('pcap', 'info', join(dir, 'nope.pcap'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope\.pcap: cannot open capture: no such file/);
});

test('pcap info on pcapng with several interfaces (mergecap)', (t) => {
  if (!needs(t, { tools: ['mergecap'] })) return;
  const dir = tempDir(t);
  const merged = join(dir, 'm.pcapng');
  execFileSync('mergecap', ['-F', 'pcapng', '-w', merged, fixture('any-sll2.pcap'), fixture('lo-http-nsec.pcap')]);
  const r = bpfkit('pcap', 'info', merged, '--json');
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.format, 'pcapng');
  assert.equal(info.interfaces.length, 2);
  assert.deepEqual(info.linktypes.sort(), ['EN10MB', 'LINUX_SLL2']);
  assert.equal(info.packets, 216);
});

test('pcap info on pcapng whose interfaces are out of time order: first/last are the earliest/latest, as capinfos', (t) => {
  if (!needs(t, { tools: ['mergecap', 'editcap', 'capinfos', 'tshark'] })) return;
  const dir = tempDir(t);
  // Concatenated (not merged by time): an hour late, a day early, then the original.
  const late = join(dir, 'late.pcapng');
  const early = join(dir, 'early.pcap');
  execFileSync('editcap', ['-t', '3600', '-F', 'pcapng', fixture('lo-http-nsec.pcap'), late]);
  execFileSync('editcap', ['-t', '-100000', fixture('any-sll2.pcap'), early]);
  const ooo = join(dir, 'ooo.pcapng');
  execFileSync('mergecap', ['-a', '-F', 'pcapng', '-w', ooo, late, early, fixture('lo-http.pcap')]);
  const r = bpfkit('pcap', 'info', ooo, '--json');
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  const times = tsharkFrames(ooo)
    .map((l) => l.split(' ')[0]!)
    .sort();
  assert.equal(info.firstEpoch, times[0]);
  assert.equal(info.lastEpoch, times[times.length - 1]);
  // capinfos prints the start at the precision of the first interface: compare to the microsecond.
  const cap = execFileSync('capinfos', ['-T', '-a', '-e', '-S', '-c', '-M', ooo], { encoding: 'utf8' })
    .trim()
    .split('\n')[1]!
    .split('\t');
  assert.equal(Number(cap[1]), info.packets);
  assert.equal(cap[2]!.slice(0, 17), info.firstEpoch.slice(0, 17));
  assert.equal(cap[3]!.slice(0, 17), info.lastEpoch.slice(0, 17));
  assert.equal(info.interfaces.length, 3);
});

test('pcap info on a file cut inside its last record counts the whole records before it, as capinfos', (t) => {
  if (!needs(t, { tools: ['capinfos', 'editcap'] })) return;
  const dir = tempDir(t);
  const ng = join(dir, 'whole.pcapng');
  execFileSync('editcap', ['-F', 'pcapng', fixture('lo-http.pcap'), ng]);
  for (const src of [fixture('lo-http.pcap'), ng]) {
    const bytes = readFileSync(src);
    const cut = join(dir, `cut-${src.endsWith('ng') ? 'ng' : 'pcap'}`);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    const capinfos = spawnSync('capinfos', ['-c', '-M', cut], { encoding: 'utf8' });
    const theirs = Number(/Number of packets:\s+(\d+)/.exec(capinfos.stdout)![1]);
    const r = bpfkit('pcap', 'info', cut);
    assert.equal(r.status, 2);
    assert.match(r.stdout, new RegExp(`Packets:\\s+${theirs}\\n`), src);
    assert.match(r.stderr, /file ends inside a (record|block)/);
  }
});

test('classic BPF text: tcpdump -ddd, tc bytecode string, tcpdump -dd; errors name the problem', (t) => {
  const want = [
    { code: 40, jt: 0, jf: 0, k: 12 },
    { code: 21, jt: 0, jf: 1, k: 2048 },
    { code: 6, jt: 0, jf: 0, k: 262144 },
    { code: 6, jt: 0, jf: 0, k: 0 },
  ];
  assert.deepEqual(parseClassicBpf('4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0,'), want);
  assert.deepEqual(parseClassicBpf('4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n'), want);
  assert.deepEqual(
    parseClassicBpf(
      '{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n{ 0x6, 0, 0, 0x00040000 },\n{ 0x6, 0, 0, 0x00000000 },',
    ),
    want,
  );
  assert.throws(() => parseClassicBpf('3,6 0 0 0,'), InputError);
  assert.throws(() => parseClassicBpf('1,6 0 0'), /needs 4 numbers/);
  assert.throws(() => parseClassicBpf('1,6 0 300 0'), /8 bits/);
  assert.throws(() => parseClassicBpf(''), /empty/);
  if (!needs(t, { tools: ['tcpdump'] })) return;
  const ddd = execFileSync('tcpdump', ['-y', 'EN10MB', '-ddd', 'udp port 53'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const dd = execFileSync('tcpdump', ['-y', 'EN10MB', '-dd', 'udp port 53'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  assert.deepEqual(parseClassicBpf(dd), parseClassicBpf(ddd));
  assert.ok(parseClassicBpf(ddd).length > 10);
});

test('pcap info reads a pipe (/dev/stdin), whole and cut short', () => {
  const viaPipe = (producer: string) =>
    spawnSync(
      'sh',
      ['-c', `${producer} | "$0" -e "$1" -- pcap info --json /dev/stdin`, process.execPath, cliScript(MAIN)],
      {
        encoding: 'utf8',
        timeout: 30000,
      },
    );
  const r = viaPipe(`cat '${fixture('lo-http.pcap')}'`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).packets, 108);
  const cut = viaPipe(`head -c 3000 '${fixture('lo-http.pcap')}'`);
  assert.equal(cut.status, 2);
  assert.match(cut.stderr, /\/dev\/stdin@\d+: file ends inside a record/);
});
