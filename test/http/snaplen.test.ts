/**
 * Captures made with a short snapshot length (tcpdump's old default of 68 or 96 bytes, `-s 128`): the
 * request line is often all a frame keeps of a request. `urls` reports each request whose method and
 * the start of its target made it into the capture: the whole line when only its end was lost, else
 * truncated (as a line too long to keep is); a status line whose headers were cut still answers its
 * request; and the requests after a cut one on the same connection are found as usual.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conversation } from '../support/tcp-frames.js';
import { createCaptureWriter } from '../../src/packet/capture-writer.js';
import { cli, runUrls } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-snaplen-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const FIRST = 'GET /images/a-rather-long-name/sf.net_box.gif HTTP/1.1';
const SECOND = 'POST /form HTTP/1.1';

/** One keep-alive connection, written with the given snapshot length. */
function capture(snaplen: number): string {
  const c = new Conversation('10.9.0.1', '10.9.0.2', 40000, 80, 7000).handshake();
  c.clientSays(`${FIRST}\r\nHost: example.org\r\nUser-Agent: test/1.0\r\nAccept: */*\r\n\r\n`);
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Type: image/gif\r\nContent-Length: 4\r\n\r\nGIF8');
  c.clientSays(`${SECOND}\r\nHost: example.org\r\nContent-Length: 3\r\n\r\na=1`);
  c.serverSays('HTTP/1.1 302 Found\r\nLocation: /done\r\nContent-Length: 0\r\n\r\n');
  c.close();
  const file = join(dir, `s${snaplen}.pcap`);
  const w = createCaptureWriter(file, { format: 'pcap', linktype: 1, snaplen });
  c.frames.forEach((data, i) => w.write({ tsSec: 1_700_000_000, tsNsec: i * 1000, data }));
  w.close();
  return file;
}

/** Where a client segment's TCP payload starts in these frames (Ethernet + IPv4 + TCP headers). */
const PAYLOAD_AT = (() => {
  const c = new Conversation('10.9.0.1', '10.9.0.2', 40000, 80, 7000).handshake();
  const [f] = c.clientSays('X');
  return f!.length - 1;
})();

for (const engine of ['vm', 'none'] as const) {
  test(`${engine}: a request line cut inside its target is reported truncated, with its answer`, async () => {
    const keep = 20; // 'GET /images/a-rather'
    const { records, summary } = await runUrls(capture(PAYLOAD_AT + keep), 'full', engine);
    assert.equal(records.length, 2, JSON.stringify(records));
    const [a, b] = records;
    assert.equal(a!.method, 'GET');
    assert.equal(a!.uri, FIRST.slice(4, keep));
    assert.equal(a!.truncated, true);
    assert.equal(a!.status, 200, 'the cut status line still answers it (in time, not at the end)');
    // 'POST /form HTTP/1.1' is 19 bytes: the line is whole, only its CRLF and headers were lost
    assert.equal(b!.method, 'POST');
    assert.equal(b!.uri, '/form');
    assert.equal(b!.version, 'HTTP/1.1');
    assert.equal(b!.truncated, false);
    assert.equal(b!.status, 302);
    assert.equal(summary.extra['frames cut short by the snapshot length'], 4);
  });
}

test('a request line that lost only its end is reported whole, not truncated', async () => {
  const { records } = await runUrls(capture(PAYLOAD_AT + FIRST.length + 1), 'full', 'none');
  assert.equal(records[0]!.uri, FIRST.split(' ')[1]);
  assert.equal(records[0]!.version, 'HTTP/1.1');
  assert.equal(records[0]!.truncated, false);
});

test('a cut that leaves no target (method only) reports nothing for that request, and the next one still', async () => {
  const { records } = await runUrls(capture(PAYLOAD_AT + 4), 'full', 'none'); // 'GET ' / 'POST'
  assert.deepEqual(
    records.map((r) => r.method),
    [],
    'neither line kept a target: nothing to report, and nothing made up',
  );
  const whole = await runUrls(capture(262144), 'full', 'none');
  assert.deepEqual(
    whole.records.map((r) => [r.uri, r.host, r.truncated]),
    [
      ['/images/a-rather-long-name/sf.net_box.gif', 'example.org', false],
      ['/form', 'example.org', false],
    ],
  );
});

/**
 * An Ethernet + IPv4 frame of protocol `proto` with an 8-byte header (an ICMP echo request, or a UDP
 * datagram to port 53) and `size` bytes of data (checksums left 0: not checked).
 */
function ipFrame(proto: 1 | 17, size: number): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + size);
  f.set([0x08, 0x00], 12);
  f.set([0x45, 0, (28 + size) >> 8, (28 + size) & 255, 0, 1, 0, 0, 64, proto, 0, 0, 10, 9, 0, 1, 10, 9, 0, 2], 14);
  if (proto === 1)
    f[34] = 8; // echo request
  else f.set([0x9c, 0x40, 0, 53, (8 + size) >> 8, (8 + size) & 255], 34);
  return f;
}

test('frames of other protocols cut short hide no request: no warning, exit 0; TCP payloads cut away: the warning, exit 1', () => {
  const pings = join(dir, 'pings.pcap');
  const w = createCaptureWriter(pings, { format: 'pcap', linktype: 1, snaplen: 64 });
  for (let i = 0; i < 5; i++) w.write({ tsSec: 1_700_000_000 + i, tsNsec: 0, data: ipFrame(i < 3 ? 1 : 17, 1000) });
  w.close();
  const quiet = cli('urls', pings);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /warning/);
  assert.match(quiet.stderr, /5 frames cut short by the snapshot length/, 'still counted');
  // with --udp a datagram's payload could have been a request: the two cut ones count
  const udp = cli('urls', pings, '--udp');
  assert.equal(udp.status, 1, udp.stderr);
  assert.match(udp.stderr, /warning: 2 of 5 frames were cut short/);
  // every data segment cut right after its TCP header: the requests are gone, and the run says so
  const headersOnly = capture(PAYLOAD_AT);
  for (const extra of [[], ['--engine', 'none']]) {
    const r = cli('urls', headersOnly, ...extra);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /warning: 4 of \d+ frames were cut short by the capture's snapshot length/);
  }
});

test('an IP length past the end of a frame the capture did not cut is a corrupt header: nothing is skipped on its word', async () => {
  const c = new Conversation('10.9.0.1', '10.9.0.2', 40001, 80, 7000).handshake();
  const [first] = c.clientSays('GET /a HTTP/1.1\r\n');
  c.clientSays('Host: h\r\n\r\n');
  c.clientSays('GET /b HTTP/1.1\r\n\r\n');
  c.close();
  first![14 + 2] = 0x05; // IPv4 total length 1280+: far past the frame
  const file = join(dir, 'bad-ip-length.pcap');
  const w = createCaptureWriter(file, { format: 'pcap', linktype: 1 });
  c.frames.forEach((data, i) => w.write({ tsSec: 1_700_000_000, tsNsec: i * 1000, data }));
  w.close();
  const { records } = await runUrls(file, 'full', 'none');
  assert.deepEqual(
    records.map((r) => [r.uri, r.host, r.truncated]),
    [
      ['/a', 'h', false],
      ['/b', '', false],
    ],
  );
});
