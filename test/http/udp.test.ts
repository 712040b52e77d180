/**
 * HTTP over UDP (SSDP): `urls --udp` reports each M-SEARCH / NOTIFY datagram as a request, with the eBPF
 * filter in front (it keeps TCP only: dropped UDP frames are looked at all the same) and without it;
 * without --udp the summary counts them as skipped and says how to read them. tshark (SSDP is its HTTP
 * dissector on UDP port 1900) is the oracle. DNS and other UDP are neither.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conversation } from '../support/tcp-frames.js';
import { needs } from '../support/env.js';
import { writePcapFrames, type Frame } from './corpus/pcap-out.js';
import { cli } from './support.js';
import { spawnSync } from 'node:child_process';

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-udp-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Ethernet + IPv4 + UDP carrying `payload` (UDP checksum 0: none, as IPv4 allows). */
function udpFrame(src: number[], dst: number[], sport: number, dport: number, payload: string): Uint8Array {
  const data = Buffer.from(payload, 'latin1');
  const f = Buffer.alloc(14 + 20 + 8 + data.length);
  f.set([0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
  f[14] = 0x45;
  f.writeUInt16BE(20 + 8 + data.length, 16);
  f[22] = 1; // TTL
  f[23] = 17;
  f.set(src, 26);
  f.set(dst, 30);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += f.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  f.writeUInt16BE(~sum & 0xffff, 24);
  f.writeUInt16BE(sport, 34);
  f.writeUInt16BE(dport, 36);
  f.writeUInt16BE(8 + data.length, 38);
  data.copy(f, 42);
  return new Uint8Array(f);
}

const SSDP = [239, 255, 255, 250];
const searches = [
  'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n',
  'NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n\r\n',
  'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nST: urn:dial-multiscreen-org:service:dial:1\r\n\r\n',
];

function capture(): string {
  const frames: Uint8Array[] = [];
  searches.forEach((p, i) => frames.push(udpFrame([10, 0, 0, 5 + i], SSDP, 50000 + i, 1900, p)));
  // a unicast SSDP answer (a response, not a request) and a DNS query: neither is reported
  frames.push(udpFrame([10, 0, 0, 9], [10, 0, 0, 5], 1900, 50000, 'HTTP/1.1 200 OK\r\nST: ssdp:all\r\n\r\n'));
  frames.push(udpFrame([10, 0, 0, 5], [10, 0, 0, 1], 53000, 53, '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00'));
  // and one TCP request, which is found with or without --udp
  const c = new Conversation('10.0.0.5', '10.0.0.80', 41000, 80, 1).handshake();
  c.clientSays('GET /tcp HTTP/1.1\r\nHost: x\r\n\r\n');
  c.serverSays('HTTP/1.1 204 No Content\r\n\r\n');
  c.close();
  frames.push(...c.frames);
  const file = join(dir, 'ssdp.pcap');
  const out: Frame[] = frames.map((data, i) => ({ tsSec: 1_700_000_000, tsUsec: i * 100, data }));
  writePcapFrames(file, 1, out);
  return file;
}

const file = capture();

test('--udp reports every SSDP request, filter on and off; without it they are counted as skipped', () => {
  for (const extra of [[], ['--engine', 'none']]) {
    const r = cli('urls', file, '--udp', ...extra);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), [
      'GET /tcp HTTP/1.1',
      'M-SEARCH * HTTP/1.1',
      'M-SEARCH * HTTP/1.1',
      'NOTIFY * HTTP/1.1',
    ]);
    assert.match(r.stderr, /, 3 requests over UDP/);
    const json = cli('urls', file, '--udp', '--format', 'json', ...extra);
    const recs = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { method: string; dst: string; dport: number; src: string });
    const notify = recs.find((x) => x.method === 'NOTIFY')!;
    assert.equal(notify.dst, '239.255.255.250');
    assert.equal(notify.dport, 1900);
    assert.equal(notify.src, '10.0.0.6');
    const without = cli('urls', file, ...extra);
    assert.equal(without.status, 0, without.stderr);
    assert.equal(without.stdout.trim(), 'GET /tcp HTTP/1.1');
    assert.match(without.stderr, /, 3 HTTP-over-UDP datagrams skipped \(--udp reads them\)/);
  }
  for (const bad of [
    ['--mode', 'v2'],
    ['--threads', '2'],
  ]) {
    const r = cli('urls', file, '--udp', ...bad);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--udp is for --mode full on a capture file/);
  }
});

test('tshark finds the same SSDP requests (NOTIFY is its http.notification, not http.request)', (t) => {
  if (!needs(t, { tools: ['tshark'] })) return;
  const r = spawnSync(
    'tshark',
    [
      '-r',
      file,
      '-Y',
      'http.request || http.notification',
      '-T',
      'fields',
      '-e',
      'http.request.method',
      '-e',
      'http.request.uri',
    ],
    { encoding: 'latin1' },
  );
  assert.equal(r.status, 0, r.stderr);
  const theirs = r.stdout.trim().split('\n').sort();
  assert.deepEqual(theirs, ['GET\t/tcp', 'M-SEARCH\t*', 'M-SEARCH\t*', 'NOTIFY\t*']);
});
