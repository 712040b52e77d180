/**
 * Solaris snoop files (RFC 1761): written here by a small test writer from the fixtures' packets and
 * judged by capinfos and tshark; a file editcap converts reads as the pcap it came from; `urls` finds the
 * same requests in it; a damaged record is one InputError with its offset after every packet before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCapture } from '../../src/packet/capture-reader.js';
import { captureInfo } from '../../src/packet/capture-info.js';
import type { Packet } from '../../src/packet/packet.js';
import { InputError } from '../../src/util/errors.js';
import { needs } from '../support/env.js';
import { cli } from '../http/support.js';
import { fixture, frameLine, readAll, tempDir, tsharkFrames } from './helpers.js';

/**
 * A snoop file of `packets` (datalink type `datalink`): big-endian headers, each record padded to 4
 * bytes (as Solaris writes them) plus `extraPad` more, which readers must skip by the record length.
 */
function snoopBytes(packets: Packet[], datalink = 4, extraPad = 0): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(16);
  head.write('snoop', 0, 'latin1');
  head.writeUInt32BE(2, 8);
  head.writeUInt32BE(datalink, 12);
  parts.push(head);
  let drops = 0;
  for (const p of packets) {
    const recLen = 24 + ((p.caplen + 3) & ~3) + extraPad;
    const rec = Buffer.alloc(recLen);
    rec.writeUInt32BE(p.origLen, 0);
    rec.writeUInt32BE(p.caplen, 4);
    rec.writeUInt32BE(recLen, 8);
    rec.writeUInt32BE(drops++, 12);
    rec.writeUInt32BE(p.tsSec, 16);
    rec.writeUInt32BE(Math.floor(p.tsNsec / 1000), 20);
    rec.set(p.data, 24);
    parts.push(rec);
  }
  return Buffer.concat(parts);
}

/** The packets of a fixture with their timestamps cut to microseconds (all snoop can hold). */
async function usecPackets(name: string): Promise<Packet[]> {
  return (await readAll(fixture(name))).map((p) => ({ ...p, tsNsec: p.tsNsec - (p.tsNsec % 1000) }));
}

test('a snoop file written here: bpfkit reads what capinfos and tshark read', async (t) => {
  const dir = tempDir(t);
  const packets = await usecPackets('lo-http.pcap');
  const file = join(dir, 'lo.snoop');
  writeFileSync(file, snoopBytes(packets, 4, 8));
  const ours = await readAll(file, 4096);
  assert.deepEqual(ours.map(frameLine), packets.map(frameLine));
  assert.ok(ours.every((p, i) => Buffer.from(p.data).equals(Buffer.from(packets[i]!.data))));
  const { info } = await captureInfo(file);
  assert.equal(info.format, 'snoop');
  assert.deepEqual(info.linktypes, ['EN10MB']);
  if (!needs(t, { tools: ['tshark', 'capinfos'] })) return;
  assert.deepEqual(ours.map(frameLine), tsharkFrames(file));
  const cap = execFileSync('capinfos', ['-M', '-t', '-E', '-c', file], { encoding: 'utf8' });
  assert.match(cap, /File type:\s+(Sun )?snoop/);
  assert.match(cap, /File encapsulation:\s+(Ethernet|ether)\b/);
  assert.match(cap, new RegExp(`Number of packets:\\s+${info.packets}\\b`));
});

test('a snoop file from editcap -F snoop reads like the pcap it came from; urls finds the same requests', async (t) => {
  if (!needs(t, { tools: ['editcap'] })) return;
  const dir = tempDir(t);
  const file = join(dir, 'edit.snoop');
  execFileSync('editcap', ['-F', 'snoop', fixture('lo-http.pcap'), file]);
  const want = (await usecPackets('lo-http.pcap')).map(frameLine);
  assert.deepEqual((await readAll(file)).map(frameLine), want);
  const urls = (f: string) => cli('urls', f, '-q').stdout.split('\n').filter(Boolean);
  const fromPcap = urls(fixture('lo-http.pcap'));
  assert.ok(fromPcap.length > 3);
  assert.deepEqual(urls(file), fromPcap);
});

test('snoop bad input: a damaged record after good ones, a cut file, an unknown datalink type', async (t) => {
  const dir = tempDir(t);
  const packets = await usecPackets('lo-http.pcap');
  const bytes = snoopBytes(packets);
  // record 10's length says less than its header and bytes
  let at = 16;
  for (let i = 0; i < 10; i++) at += bytes.readUInt32BE(at + 8);
  const bad = Buffer.from(bytes);
  bad.writeUInt32BE(20, at + 8);
  const badFile = join(dir, 'bad.snoop');
  writeFileSync(badFile, bad);
  const reader = await openCapture(badFile);
  t.after(() => reader.close());
  let n = 0;
  await assert.rejects(
    reader.forEachPacket(() => {
      n++;
    }),
    (e: unknown) =>
      e instanceof InputError && e.message.includes(`bad.snoop@${at}:`) && /shorter than its header/.test(e.message),
  );
  assert.equal(n, 10);
  // a huge length is refused before anything is allocated for it
  const huge = Buffer.from(bytes);
  huge.writeUInt32BE(0xfffffff0, at + 4);
  writeFileSync(join(dir, 'huge.snoop'), huge);
  await assert.rejects(readAll(join(dir, 'huge.snoop')), /huge\.snoop@\d+: snoop record: length \d+ is past any real/);
  // cut inside a record
  writeFileSync(join(dir, 'cut.snoop'), bytes.subarray(0, at + 30));
  await assert.rejects(readAll(join(dir, 'cut.snoop')), /cut\.snoop@\d+: file ends inside a record/);
  // HDLC has no libpcap link type: refused in one line naming it
  writeFileSync(join(dir, 'hdlc.snoop'), snoopBytes(packets.slice(0, 1), 5));
  await assert.rejects(
    readAll(join(dir, 'hdlc.snoop')),
    /hdlc\.snoop@12: snoop datalink type 5 \(HDLC\) has no libpcap/,
  );
  const info = cli('pcap', 'info', join(dir, 'bad.snoop'));
  assert.equal(info.status, 2);
  assert.match(info.stdout, /Packets:\s+10\n/);
  assert.equal(info.stderr.trim().split('\n').length, 1, info.stderr);
});
