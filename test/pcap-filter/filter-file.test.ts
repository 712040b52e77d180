/**
 * `bpfkit pcap filter IN OUT EXPR`, streamed: on pcap, OUT is byte for byte what `tcpdump -r IN -w OUT
 * EXPR` writes; on pcapng, OUT is IN without the packet blocks the expression refuses (every other block
 * kept as it was) and holds the packets tcpdump keeps; gzip input gives the plain input's OUT; memory
 * stays flat on a large file; a truncated file, OUT = IN, a snoop file and a bad expression are one-line
 * errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, openSync, writeSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { needs } from '../support/env.js';
import { fixture, readAll, tempDir } from '../packet/helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/bpfkit.js', import.meta.url));

function bpfkit(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function tcpdumpWrite(input: string, output: string, expr: string): void {
  const r = spawnSync('tcpdump', ['-r', input, '-w', output, expr], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

const EXPRESSIONS = ['tcp port 8080', 'udp', 'ip6 and tcp', 'greater 200', 'not tcp', 'tcp[tcpflags] & tcp-syn != 0'];

test('pcap filter on pcap: OUT equals tcpdump -r IN -w OUT EXPR byte for byte', (t) => {
  if (!needs(t, { tools: ['tcpdump'] })) return;
  const dir = tempDir(t);
  for (const name of ['lo-http.pcap', 'any-sll2.pcap', 'any-sll.pcap']) {
    for (const expr of EXPRESSIONS) {
      const mine = join(dir, 'mine.pcap');
      const theirs = join(dir, 'theirs.pcap');
      const r = bpfkit('pcap', 'filter', fixture(name), mine, expr);
      assert.equal(r.code, 0, `${name} '${expr}': ${r.err}`);
      assert.match(r.out, /^\d+ packets read, \d+ kept\n$/);
      tcpdumpWrite(fixture(name), theirs, expr);
      assert.ok(readFileSync(mine).equals(readFileSync(theirs)), `${name} '${expr}': OUT differs from tcpdump's`);
    }
  }
});

/** The blocks of a pcapng file (little-endian) as byte strings. */
function blocks(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < bytes.length;) {
    const len = bytes.readUInt32LE(off + 4);
    out.push(bytes.subarray(off, off + len));
    off += len;
  }
  return out;
}

test('pcap filter on pcapng: every non-packet block kept, the packets tcpdump keeps; gzip input the same', async (t) => {
  if (!needs(t, { tools: ['tcpdump', 'editcap'] })) return;
  const dir = tempDir(t);
  const converted = join(dir, 'conv.pcapng');
  assert.equal(spawnSync('editcap', ['-F', 'pcapng', fixture('lo-http.pcap'), converted]).status, 0);
  // A custom block (type 0xbad, a PEN and 4 bytes) after the interface block and one at the end.
  const custom = Buffer.alloc(20);
  custom.writeUInt32LE(0x00000bad, 0);
  custom.writeUInt32LE(20, 4);
  custom.writeUInt32LE(32473, 8);
  custom.write('bpfk', 12);
  custom.writeUInt32LE(20, 16);
  const orig = blocks(readFileSync(converted));
  const idb = orig.findIndex((b) => b.readUInt32LE(0) === 1);
  const input = Buffer.concat([...orig.slice(0, idb + 1), custom, ...orig.slice(idb + 1), custom]);
  const file = join(dir, 'in.pcapng');
  writeFileSync(file, input);
  writeFileSync(`${file}.gz`, gzipSync(input));
  for (const expr of EXPRESSIONS) {
    const mine = join(dir, 'mine.pcapng');
    const r = bpfkit('pcap', 'filter', file, mine, expr);
    assert.equal(r.code, 0, r.err);
    const out = readFileSync(mine);
    const theirs = join(dir, 'theirs.pcap');
    tcpdumpWrite(file, theirs, expr);
    const kept = (await readAll(theirs)).map((p) => Buffer.from(p.data).toString('hex'));
    const mineKept = (await readAll(mine)).map((p) => Buffer.from(p.data).toString('hex'));
    assert.deepEqual(mineKept, kept, `'${expr}': the packets tcpdump keeps`);
    // Every block that is not a packet, in place; packet blocks only where kept.
    const keptSet = new Set(blocks(out).map((b) => b.toString('hex')));
    const expected = blocks(input).filter((b) => b.readUInt32LE(0) !== 6 || keptSet.has(b.toString('hex')));
    assert.ok(out.equals(Buffer.concat(expected)), `'${expr}': OUT is IN less the refused packet blocks`);
    assert.equal(blocks(out).filter((b) => b.readUInt32LE(0) === 0xbad).length, 2);
    const gz = join(dir, 'gz.pcapng');
    assert.equal(bpfkit('pcap', 'filter', `${file}.gz`, gz, expr).code, 0);
    assert.ok(readFileSync(gz).equals(out), `'${expr}': gzip input, same OUT`);
  }
});

test('pcap filter streams: RSS grows far less than a large file; OUT equals tcpdump -w', (t) => {
  if (!needs(t, { tools: ['tcpdump'] })) return;
  const dir = tempDir(t);
  const file = join(dir, 'big.pcap');
  // lo-http.pcap's records repeated to ~160 MB.
  const src = readFileSync(fixture('lo-http.pcap'));
  const records = src.subarray(24);
  const fd = openSync(file, 'w');
  writeSync(fd, src.subarray(0, 24));
  const block = Buffer.concat(Array.from({ length: Math.ceil((4 << 20) / records.length) }, () => records));
  while (statSync(file).size < 160e6) writeSync(fd, block);
  closeSync(fd);
  const size = statSync(file).size;
  const out = join(dir, 'out.pcap');
  const script = `
    const { filterCaptureFile } = await import(${JSON.stringify(new URL('../../src/packet/filter-capture.js', import.meta.url).href)});
    const { filterProgramsFor } = await import(${JSON.stringify(new URL('../../src/packet/record-filter.js', import.meta.url).href)});
    const programFor = filterProgramsFor('tcp port 8080');
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const r = await filterCaptureFile(${JSON.stringify(file)}, ${JSON.stringify(out)}, programFor);
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
    console.log(JSON.stringify({ ...r, growth: peak - before }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout) as { read: number; kept: number; growth: number };
  assert.ok(m.read > 100_000 && m.kept > 0, r.stdout);
  assert.ok(m.growth < size / 8, `RSS grew ${m.growth} bytes on a ${size}-byte file`);
  const theirs = join(dir, 'theirs.pcap');
  tcpdumpWrite(file, theirs, 'tcp port 8080');
  assert.ok(readFileSync(out).equals(readFileSync(theirs)), 'OUT differs from tcpdump -w');
});

test('pcap filter: bad input is one line (truncated file after the records before it, OUT = IN, snoop, bad expression)', (t) => {
  const dir = tempDir(t);
  const whole = readFileSync(fixture('lo-http.pcap'));
  const cut = join(dir, 'cut.pcap');
  writeFileSync(cut, whole.subarray(0, whole.length - 10));
  const out = join(dir, 'out.pcap');
  let r = bpfkit('pcap', 'filter', cut, out, 'tcp');
  assert.equal(r.code, 2);
  assert.match(r.err, /cut\.pcap@\d+: truncated record/);
  assert.equal(r.err.trim().split('\n').length, 1);
  // every whole record before the cut was written
  assert.ok(readFileSync(out).length > whole.length / 2);

  r = bpfkit('pcap', 'filter', cut, cut, 'tcp');
  assert.equal(r.code, 2);
  assert.match(r.err, /OUT is IN/);
  assert.equal(readFileSync(cut).length, whole.length - 10, 'IN untouched');

  const snoop = join(dir, 'x.snoop');
  writeFileSync(snoop, Buffer.concat([Buffer.from('snoop\0\0\0'), Buffer.alloc(8)]));
  r = bpfkit('pcap', 'filter', snoop, out, 'tcp');
  assert.equal(r.code, 2);
  assert.match(r.err, /snoop/);

  const fresh = join(dir, 'never.pcap');
  r = bpfkit('pcap', 'filter', fixture('lo-http.pcap'), fresh, 'tcp and (');
  assert.equal(r.code, 2);
  assert.match(r.err, /syntax error/);
  assert.equal(existsSync(fresh), false, 'OUT not created for a bad expression');
});
