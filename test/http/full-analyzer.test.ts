import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FullAnalyzer, type FullOptions } from '../../src/apps/http/full-analyzer.js';
import type { UrlRecord } from '../../src/apps/http/record.js';
import { Conversation, tcpFrame, ACK, PSH, SYN } from '../support/tcp-frames.js';
import { FrameView, frameOf } from '../../src/packet/frame.js';
import { needs } from '../support/env.js';

function analyze(frames: Uint8Array[], opts: Partial<FullOptions> = {}): { recs: UrlRecord[]; a: FullAnalyzer } {
  const recs: UrlRecord[] = [];
  const a = new FullAnalyzer({ ...opts, onRecord: (r) => recs.push(r) });
  frames.forEach((f, i) => a.packet(frameOf(f, 1, 1000 + i * 0.001)));
  a.finish();
  return { recs, a };
}

const lines = (recs: UrlRecord[]) => recs.map((r) => `${r.method} ${r.uri} ${r.version}`);

test('a request line split inside the method token and with a 1-byte last piece is found whole', () => {
  const c = new Conversation().handshake();
  c.clientSays('G', 'ET /a/b?c=d HTTP/1.', '1', '\r\nHost: example.test\r\n\r\n');
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  c.close();
  const { recs } = analyze(c.frames);
  assert.deepEqual(lines(recs), ['GET /a/b?c=d HTTP/1.1']);
  assert.equal(recs[0]!.host, 'example.test');
  assert.equal(recs[0]!.url, 'http://example.test/a/b?c=d');
  assert.equal(recs[0]!.status, 200);
  assert.ok(recs[0]!.latency_ms !== null && recs[0]!.latency_ms >= 0);
});

test('every method token, bare-LF line ends and pipelining on one keep-alive connection', () => {
  const c = new Conversation().handshake();
  c.clientSays(
    'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\nPATCH /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcM-SEARCH /m HTTP/1.1\r\n\r\n',
  );
  c.clientSays('PROPFIND /dav HTTP/1.1\nHost: h\n\n', 'X_CUSTOM-TOKEN /x HTTP/1.0\r\n\r\n');
  c.close();
  const { recs } = analyze(c.frames);
  assert.deepEqual(lines(recs), [
    'OPTIONS * HTTP/1.1',
    'PATCH /p HTTP/1.1',
    'M-SEARCH /m HTTP/1.1',
    'PROPFIND /dav HTTP/1.1',
    'X_CUSTOM-TOKEN /x HTTP/1.0',
  ]);
});

test('bodies are skipped by Content-Length and chunked encoding: a body starting with "GET " is not a request', () => {
  const fake = 'GET /fake HTTP/1.1\r\nHost: evil\r\n\r\n';
  const c = new Conversation().handshake();
  c.clientSays(`POST /cl HTTP/1.1\r\nContent-Length: ${fake.length}\r\n\r\n`, fake.slice(0, 10), fake.slice(10));
  c.clientSays(
    'POST /chunked HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
    `${fake.length.toString(16)}\r\n${fake}\r\n`,
    '0\r\nX-T: GET /t HTTP/1.1\r\n\r\n',
  );
  c.clientSays('GET /after HTTP/1.1\r\n\r\n');
  c.close();
  assert.deepEqual(lines(analyze(c.frames).recs), [
    'POST /cl HTTP/1.1',
    'POST /chunked HTTP/1.1',
    'GET /after HTTP/1.1',
  ]);
});

test('responses pair with requests in order, HEAD/204/304 have no body, 100-continue is skipped, chunked responses are framed', () => {
  const c = new Conversation().handshake();
  c.clientSays(
    'HEAD /h HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\nGET /e HTTP/1.1\r\n\r\nPOST /x HTTP/1.1\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n',
  );
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n'); // HEAD: the length describes nothing that follows
  c.serverSays('HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHTTP/\r\n0\r\n\r\n');
  c.serverSays('HTTP/1.1 304 Not Modified\r\n\r\n');
  c.serverSays('HTTP/1.1 100 Continue\r\n\r\n');
  c.clientSays('z');
  c.serverSays('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  c.close();
  const { recs } = analyze(c.frames);
  assert.deepEqual(
    recs.map((r) => `${r.uri} ${r.status}`),
    ['/h 200', '/c 201', '/e 304', '/x 404'],
  );
});

test('out-of-order, duplicated and overlapping segments are reassembled by sequence number', () => {
  const c = new Conversation().handshake();
  const [a, b, d] = c.clientSays('GET /one/two', '/three HTTP/1.1\r\nHo', 'st: x\r\n\r\n');
  c.close();
  const syn = c.frames.slice(0, 2);
  const fin = c.frames.slice(5);
  // An overlapping retransmission covering the end of b and all of d.
  const overlap = tcpFrame({
    seq: 1001 + 'GET /one/two/three HTTP/1.1\r\n'.length - 5,
    payload: '1.1\r\nHost: x\r\n\r\n',
  });
  const { recs } = analyze([...syn, d!, b!, overlap, a!, a!, b!, ...fin]);
  assert.deepEqual(lines(recs), ['GET /one/two/three HTTP/1.1']);
  assert.equal(recs[0]!.host, 'x');
});

test('a capture that starts mid-connection resyncs on the next request line (and drops the orphan response)', () => {
  const c = new Conversation().handshake();
  c.clientSays('POST /before HTTP/1.1\r\nContent-Length: 20\r\n\r\n', 'body-body-body-body!');
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  const mark = c.frames.length;
  c.clientSays('GET /seen HTTP/1.1\r\n\r\n');
  c.serverSays('HTTP/1.1 204 No Content\r\n\r\n');
  // Start the capture in the middle of the POST body.
  const { recs } = analyze([c.frames[3]!, ...c.frames.slice(mark - 1)]);
  assert.deepEqual(
    recs.map((r) => `${r.method} ${r.uri} ${r.status}`),
    ['GET /seen 204'],
  );
});

test('IPv6, VLAN and QinQ frames are decoded', () => {
  const c6 = new Conversation('fd00::1', 'fd00::2', 40001, 8080).handshake();
  c6.clientSays('GET /v6 HTTP/1.1\r\nHost: [fd00::2]:8080\r\n\r\n');
  c6.close();
  const qinq = [
    tcpFrame({ src: '10.1.0.1', dst: '10.1.0.2', seq: 5, flags: SYN, vlan: [0x88a8, 0x8100] }),
    tcpFrame({
      src: '10.1.0.1',
      dst: '10.1.0.2',
      seq: 6,
      flags: ACK | PSH,
      payload: 'GET /qinq HTTP/1.1\r\n\r\n',
      vlan: [0x88a8, 0x8100],
    }),
  ];
  const { recs } = analyze([...c6.frames, ...qinq]);
  assert.deepEqual(lines(recs).sort(), ['GET /qinq HTTP/1.1', 'GET /v6 HTTP/1.1']);
  const v6 = recs.find((r) => r.uri === '/v6')!;
  assert.equal(v6.src, 'fd00::1');
  assert.equal(v6.dport, 8080);
  assert.equal(v6.url, 'http://[fd00::2]:8080/v6');
});

test('a request line over the cap is reported truncated (never dropped), and the connection goes on', () => {
  const c = new Conversation().handshake();
  const long = '/' + 'a'.repeat(5000);
  const text = `GET ${long} HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\n\r\n`;
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += 1000) pieces.push(text.slice(i, i + 1000));
  c.clientSays(...pieces);
  c.close();
  const { recs } = analyze(c.frames, { limits: { maxLine: 1024, maxHeaderLine: 1024 } });
  assert.equal(recs.length, 2);
  assert.equal(recs[0]!.truncated, true);
  assert.equal(recs[0]!.method, 'GET');
  assert.ok(long.startsWith(recs[0]!.uri) && recs[0]!.uri.length > 900, 'uri is a prefix of the real one');
  assert.equal(recs[0]!.host, 'h');
  assert.deepEqual(lines(recs.slice(1)), ['GET /next HTTP/1.1']);
});

test('binary garbage on port 80 reports nothing; a broken version is reported flagged malformed', () => {
  const c = new Conversation().handshake();
  const junk = new Uint8Array(4000);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) & 255;
  c.clientSays(Buffer.from(junk).toString('latin1'), 'G\x00T / HTTP/1.1\r\n\r\n', 'GET /x HTTP/9\r\n\r\n');
  c.close();
  const { recs, a } = analyze(c.frames);
  assert.deepEqual(
    recs.map((r) => [r.raw, r.malformed]),
    [['GET /x HTTP/9', true]],
  );
  assert.ok(a.stats.anomalies > 0);
});

test('a million flows stay within the flow cap (memory bounded), the oldest being evicted and reported', (t) => {
  if (!needs(t, { long: true })) return;
  let reported = 0;
  const a = new FullAnalyzer({ maxFlows: 2000, onRecord: () => reported++ });
  // One frame rewritten in place per flow (new source address and port): no garbage from the test itself.
  const f = tcpFrame({ src: '10.0.0.0', sport: 1024, seq: 1, payload: 'GET / HTTP/1.1\r\n\r\n' });
  const n = 1_000_000;
  let maxActive = 0;
  const frame = new FrameView();
  for (let i = 0; i < n; i++) {
    f[27] = i & 255;
    f[26] = (i >> 8) & 255;
    f[25] = (i >> 16) & 255;
    a.packet(frame.set(f, 0, f.length, 1, 1000 + i / 1e5));
    if (a.activeFlows > maxActive) maxActive = a.activeFlows;
  }
  a.finish();
  assert.ok(maxActive <= 2000, `at most 2000 flows at once (saw ${maxActive})`);
  assert.equal(reported, n, 'every request reported, none lost to eviction');
  assert.equal(a.stats.evicted, n - 2000);
  assert.ok(process.memoryUsage().heapUsed < 512 * 1024 * 1024);
});

test('IPv4 fragments (including a TCP header split across fragments) are reassembled', () => {
  const whole = tcpFrame({ seq: 7, flags: ACK | PSH, payload: 'GET /fragmented/path HTTP/1.1\r\nHost: f\r\n\r\n' });
  const ip = whole.subarray(14);
  const upper = ip.subarray(20);
  const frag = (from: number, to: number, more: boolean) => {
    const f = new Uint8Array(14 + 20 + (to - from));
    f.set(whole.subarray(0, 14 + 20), 0);
    const dv = new DataView(f.buffer);
    dv.setUint16(14 + 2, 20 + (to - from));
    dv.setUint16(14 + 4, 0x4242);
    dv.setUint16(14 + 6, (from / 8) | (more ? 0x2000 : 0));
    f.set(upper.subarray(from, to), 34);
    return f;
  };
  const syn = tcpFrame({ seq: 6, flags: SYN });
  const { recs } = analyze([syn, frag(16, 40, true), frag(40, upper.length, false), frag(0, 16, true)]);
  assert.deepEqual(lines(recs), ['GET /fragmented/path HTTP/1.1']);
});

test('a 1 MB request line in MSS-sized segments: reported truncated at the cap, memory stays bounded, the next request is found', () => {
  const c = new Conversation().handshake();
  const text = `GET /${'z'.repeat(1 << 20)} HTTP/1.1\r\nHost: big\r\n\r\nGET /after HTTP/1.1\r\n\r\n`;
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += 1448) pieces.push(text.slice(i, i + 1448));
  c.clientSays(...pieces);
  c.close();
  const before = process.memoryUsage().heapUsed;
  const { recs, a } = analyze(c.frames);
  assert.equal(recs.length, 2);
  assert.equal(recs[0]!.truncated, true);
  assert.equal(recs[0]!.uri.length, 65536 - 4, 'cut at the default 64 KiB line cap (minus "GET ")');
  assert.equal(recs[0]!.host, 'big');
  assert.equal(recs[1]!.uri, '/after');
  assert.equal(a.stats.truncated, 1);
  assert.ok(process.memoryUsage().heapUsed - before < 64 * 1024 * 1024);
});

test('tick: the capture clock alone closes idle flows (a shard of --threads sweeps on the reader clock)', () => {
  const c = new Conversation().handshake();
  c.clientSays('GET /waiting HTTP/1.1\r\nHost: h\r\n\r\n');
  const recs: UrlRecord[] = [];
  const a = new FullAnalyzer({ idleTimeoutSec: 120, onRecord: (r) => recs.push(r) });
  c.frames.forEach((f, i) => a.packet(frameOf(f, 1, 1000 + i * 0.001)));
  // (the request waits for its response: reported when the flow closes)
  assert.equal(recs.length, 0);
  a.tick(1060); // within the timeout: the flow stays open
  assert.equal(a.activeFlows, 1);
  a.tick(1200); // past it: closed as a frame at that time would have closed it, its request reported
  assert.equal(a.activeFlows, 0);
  assert.equal(a.stats.evicted, 1);
  assert.deepEqual(lines(recs), ['GET /waiting HTTP/1.1']);
  a.finish();
  assert.deepEqual(lines(recs), ['GET /waiting HTTP/1.1']);
});

test('a header line is found whole wherever its LF falls: every value length, against the segment end and the scan window', () => {
  // The header scan looks for a line's LF a byte at a time and then four at a time, within a window of
  // the segment (http-parser.ts, St.Headers): every alignment of the LF to the steps and to the window's
  // end must find the same line, and a line cut by the segment's end must be assembled whole. A line
  // read wrong swallows the Host line after it, or cuts it.
  for (let n = 0; n <= 110; n++) {
    for (const eol of ['\r\n', '\n']) {
      // (m: what follows the line, so that the window ends at every alignment to the line's LF too)
      for (let m = 0; m < 4; m++) {
        const pad = `GET /${n} HTTP/1.1\r\nX-Pad:${'p'.repeat(n)}${eol}`;
        const next = `/next${'x'.repeat(m)}`;
        const all = `${pad}Host: h${n}.test\r\nContent-Length: 4\r\n\r\nGET GET ${next} HTTP/1.1\r\nHost: next.test\r\n\r\n`;
        // whole; cut right after the X-Pad line; cut 1 to 5 bytes before its LF
        const cuts = [0, pad.length, ...[1, 2, 3, 4, 5].map((k) => pad.length - 1 - k)];
        for (const cut of cuts) {
          const c = new Conversation().handshake();
          if (cut === 0) c.clientSays(all);
          else c.clientSays(all.slice(0, cut), all.slice(cut));
          c.close();
          const { recs } = analyze(c.frames);
          assert.deepEqual(
            recs.map((r) => `${r.uri} ${r.host}`),
            [`/${n} h${n}.test`, `${next} next.test`],
            `value length ${n}, ${JSON.stringify(eol)}, ${m}, cut at ${cut}`,
          );
        }
      }
    }
  }
});

test('a request line that passes the cap in the segment holding its end: the headers after it are read from their first byte', () => {
  const c = new Conversation().handshake();
  const text = `GET /${'a'.repeat(1100)} HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: n\r\n\r\n`;
  c.clientSays(text.slice(0, 600), text.slice(600));
  c.close();
  const { recs } = analyze(c.frames, { limits: { maxLine: 1024, maxHeaderLine: 1024 } });
  assert.deepEqual(
    recs.map((r) => `${r.method} ${r.truncated} ${r.host}`),
    ['GET true h', 'GET false n'],
  );
});
