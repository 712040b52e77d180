/**
 * Connections that are not HTTP/1.x from their first bytes: HTTP/2 with prior knowledge (the client's
 * 24-byte connection preface) and TLS on any port (a handshake record with a hello) are counted, not
 * reported, and both directions are passed over as a tunnel, so their binary frames and encrypted records
 * make no parse anomalies. Only a stream's exact first bytes decide: the same bytes later are body.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FullAnalyzer } from '../../src/apps/http/full-analyzer.js';
import { FullPipeline } from '../../src/apps/http/full-pipeline.js';
import { formatSummary } from '../../src/apps/http/pipeline.js';
import type { UrlRecord } from '../../src/apps/http/record.js';
import { Conversation } from '../support/tcp-frames.js';
import { frameOf } from '../../src/packet/frame.js';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
/** An empty HTTP/2 SETTINGS frame, and one carrying a HEADERS-like binary blob with line ends in it. */
const SETTINGS = '\x00\x00\x00\x04\x00\x00\x00\x00\x00';
const H2_FRAMES =
  '\x00\x00\x1f\x01\x05\x00\x00\x00\x01\x82\x86\x84\x41\x8a\r\n\x0b\xe2\x5c\x0b\x81\x70\xdc\x78\x0f\x03\r\n\x7a\x88\x25\xb6\x50\xc3\xab\xb6\xd2\xe0';
/** A TLS 1.2 record holding a ClientHello (the body is filler: only the first six bytes are looked at). */
const CLIENT_HELLO = `\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03${'\xa7'.repeat(58)}`;
const SERVER_HELLO = `\x16\x03\x03\x00\x30\x02\x00\x00\x2c\x03\x03${'\x5e'.repeat(42)}`;
/**
 * "Encrypted" application data: records with line ends inside, and one whose bytes read as a request at a
 * segment's start. A parser reading them would count anomalies (and report the request).
 */
const APP_DATA = [
  '\x17\x03\x03\x00\x20\x91\xfe\r\n\x00\x13garbage line\r\n\xff\xee\xdd\r\n',
  'GET /inside-tls HTTP/1.1\r\nHost: x\r\n\r\n',
  '\x17\x03\x03\x00\x10\x01\x02\x03\r\n\x04\x05\r\n',
];

interface Run {
  recs: UrlRecord[];
  a: FullAnalyzer;
  notHttp: number;
}

function analyze(frames: Uint8Array[]): Run {
  const recs: UrlRecord[] = [];
  let notHttp = 0;
  const a = new FullAnalyzer({ onRecord: (r) => recs.push(r), onNotHttp: () => notHttp++ });
  frames.forEach((f, i) => a.packet(frameOf(f, 1, 1000 + i * 0.001)));
  a.finish();
  return { recs, a, notHttp };
}

const lines = (recs: UrlRecord[]) => recs.map((r) => `${r.method} ${r.uri} ${r.version}`);
const counts = (r: Run) => ({
  h2: r.a.stats.h2Connections,
  tls: r.a.stats.tlsConnections,
  anomalies: r.a.stats.anomalies,
});

test('a plain HTTP/1.1 connection counts no HTTP/2 or TLS and reports its requests as before', () => {
  const c = new Conversation().handshake();
  c.clientSays('GET /a HTTP/1.1\r\nHost: h\r\n\r\n', 'POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc');
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n');
  c.close();
  const r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), ['GET /a HTTP/1.1', 'POST /p HTTP/1.1']);
  assert.deepEqual(
    r.recs.map((x) => x.status),
    [200, 201],
  );
  assert.deepEqual(counts(r), { h2: 0, tls: 0, anomalies: 0 });
  assert.equal(r.notHttp, 0);
});

test('HTTP/2 with prior knowledge: the preface is not a request; 1 HTTP/2 connection, no anomalies', () => {
  const c = new Conversation().handshake();
  c.clientSays(PREFACE + SETTINGS, H2_FRAMES, 'GET /in-h2 HTTP/1.1\r\n\r\n');
  c.serverSays(SETTINGS, H2_FRAMES, 'HTTP/1.1 200 OK\r\n\r\n');
  c.close();
  const r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), []);
  assert.deepEqual(counts(r), { h2: 1, tls: 0, anomalies: 0 });
  assert.equal(r.notHttp, 1, 'the filter is told it may stop sending the connection');
});

test('HTTP/2: a preface-only stream (exactly 24 bytes, no handshake seen) reports nothing and counts 1', () => {
  const c = new Conversation('10.0.0.1', '10.0.0.2', 40000, 8080);
  c.clientSays(PREFACE);
  c.close();
  const r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), []);
  assert.deepEqual(counts(r), { h2: 1, tls: 0, anomalies: 0 });
});

test('HTTP/2: the preface split at any byte over segments is still the preface', () => {
  for (let cut = 1; cut < PREFACE.length; cut++) {
    const c = new Conversation().handshake();
    c.clientSays(PREFACE.slice(0, cut), PREFACE.slice(cut), H2_FRAMES);
    c.serverSays(SETTINGS);
    c.close();
    const r = analyze(c.frames);
    assert.deepEqual(lines(r.recs), [], `cut at ${cut}`);
    assert.deepEqual(counts(r), { h2: 1, tls: 0, anomalies: 0 }, `cut at ${cut}`);
  }
  // In three pieces, the server's SETTINGS coming before the rest of the preface.
  const c = new Conversation().handshake();
  c.clientSays('PRI * HTTP/2.0\r\n');
  c.serverSays(SETTINGS);
  c.clientSays('\r\nSM\r', '\n\r\n', H2_FRAMES);
  c.close();
  const r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), []);
  assert.deepEqual(counts(r), { h2: 1, tls: 0, anomalies: 0 });
});

test('a PRI line not followed by the rest of the preface is HTTP/1.x: reported as on the wire, what follows too', () => {
  // Followed by a request: both, no HTTP/2 counted.
  let c = new Conversation().handshake();
  c.clientSays('PRI * HTTP/2.0\r\n\r\n', 'GET /x HTTP/1.1\r\nHost: h\r\n\r\n');
  c.close();
  let r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), ['PRI * HTTP/2.0', 'GET /x HTTP/1.1']);
  assert.deepEqual(counts(r), { h2: 0, tls: 0, anomalies: 0 });
  // The stream ends inside the preface: what came is handed to the parser at the end.
  c = new Conversation().handshake();
  c.clientSays('PRI * HTTP/2.0\r\n\r\n');
  c.close();
  r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), ['PRI * HTTP/2.0']);
  assert.equal(r.a.stats.h2Connections, 0);
  // A hole after the PRI line: the gap ends the watch, the request after the hole is found.
  c = new Conversation().handshake();
  c.clientSays('PRI * HTTP/2.0\r\n\r\n');
  c.clientSays('lost');
  c.clientSays('GET /after-hole HTTP/1.1\r\n\r\n');
  c.close();
  c.frames.splice(3, 1); // SYN, SYN-ACK, the PRI line, then the lost segment
  r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), ['PRI * HTTP/2.0', 'GET /after-hole HTTP/1.1']);
  assert.equal(r.a.stats.h2Connections, 0);
});

test('a first segment that is a prefix of the preface but goes on as HTTP/1.x: the same request, at its first byte', () => {
  const c = new Conversation().handshake();
  c.clientSays('P', 'OST /p HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi', 'PRI /not-h2 HTTP/1.1\r\n\r\n');
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n');
  c.close();
  const r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), ['POST /p HTTP/1.1', 'PRI /not-h2 HTTP/1.1']);
  // frame 2 (after SYN, SYN-ACK) carried the 'P': the request's time is that segment's
  assert.equal(r.recs[0]!.ts, 1000 + 2 * 0.001);
  assert.deepEqual(
    r.recs.map((x) => x.status),
    [200, 204],
  );
  assert.deepEqual(counts(r), { h2: 0, tls: 0, anomalies: 0 });
});

test('h2c: the upgrade request is reported with its 101; the connection counts as HTTP/2; a WebSocket does not', () => {
  const up =
    'GET /up HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n' +
    'HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n';
  let c = new Conversation().handshake();
  c.clientSays(up);
  c.serverSays('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n' + SETTINGS);
  c.clientSays(PREFACE.slice(0, 10), PREFACE.slice(10) + SETTINGS, 'GET /in-h2 HTTP/1.1\r\n\r\n');
  c.close();
  let r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), ['GET /up HTTP/1.1']);
  assert.equal(r.recs[0]!.status, 101);
  assert.deepEqual(counts(r), { h2: 1, tls: 0, anomalies: 0 });

  c = new Conversation().handshake();
  c.clientSays('GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  c.serverSays('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  c.clientSays('\x81\x85PRI *', 'GET /in-ws HTTP/1.1\r\n\r\n');
  c.close();
  r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), ['GET /ws HTTP/1.1']);
  assert.deepEqual(counts(r), { h2: 0, tls: 0, anomalies: 0 });
});

test('TLS on any port: 1 TLS connection, 0 anomalies, nothing in its records reported', () => {
  for (const port of [443, 80, 8443]) {
    const c = new Conversation('10.0.0.1', '10.0.0.2', 40000, port).handshake();
    c.clientSays(CLIENT_HELLO);
    c.serverSays(SERVER_HELLO, APP_DATA[0]!);
    c.clientSays(...APP_DATA);
    c.serverSays(...APP_DATA);
    c.close();
    const r = analyze(c.frames);
    assert.deepEqual(lines(r.recs), [], `port ${port}`);
    assert.deepEqual(counts(r), { h2: 0, tls: 1, anomalies: 0 }, `port ${port}`);
    assert.equal(r.notHttp, 1);
  }
});

test('TLS without the TCP handshake (the client on the lower port, 443): found by its ClientHello all the same', () => {
  const c = new Conversation('10.0.0.1', '10.0.0.2', 443, 50000);
  c.clientSays(CLIENT_HELLO);
  c.serverSays(SERVER_HELLO);
  c.clientSays(...APP_DATA);
  c.serverSays(...APP_DATA);
  const r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), []);
  assert.deepEqual(counts(r), { h2: 0, tls: 1, anomalies: 0 });
});

test('TLS: a ServerHello decides while the client has said nothing; an SSL 2.0-format ClientHello is TLS', () => {
  let c = new Conversation().handshake();
  c.serverSays(SERVER_HELLO, ...APP_DATA);
  c.close();
  let r = analyze(c.frames);
  assert.deepEqual(counts(r), { h2: 0, tls: 1, anomalies: 0 });

  c = new Conversation().handshake();
  c.clientSays(`\x80\x67\x01\x03\x00\x00\x4e${'\x00'.repeat(100)}`);
  c.serverSays(SERVER_HELLO, ...APP_DATA);
  c.clientSays(...APP_DATA);
  c.close();
  r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), []);
  assert.deepEqual(counts(r), { h2: 0, tls: 1, anomalies: 0 });
});

test('a server whose first bytes are a TLS hello after its client spoke HTTP does not make the connection TLS', () => {
  for (const hello of [SERVER_HELLO, CLIENT_HELLO]) {
    const c = new Conversation().handshake();
    c.clientSays('GET /plain HTTP/1.1\r\nHost: h\r\n\r\n');
    c.serverSays(hello);
    c.clientSays('GET /again HTTP/1.1\r\n\r\n');
    c.close();
    const r = analyze(c.frames);
    assert.deepEqual(lines(r.recs), ['GET /plain HTTP/1.1', 'GET /again HTTP/1.1'], JSON.stringify(hello.slice(0, 6)));
    assert.equal(r.a.stats.tlsConnections, 0);
  }
});

test('0x16 0x03 or the preface later in a stream is body, not TLS or HTTP/2: every request is reported', () => {
  const tlsBody = CLIENT_HELLO + APP_DATA[0]!;
  const c = new Conversation().handshake();
  c.clientSays('GET /first HTTP/1.1\r\nHost: h\r\n\r\n');
  // a segment that starts with a ClientHello record and one that starts with the preface, both bodies
  c.clientSays(`POST /upload HTTP/1.1\r\nContent-Length: ${tlsBody.length + PREFACE.length}\r\n\r\n`);
  c.clientSays(tlsBody, PREFACE);
  c.clientSays('GET /last HTTP/1.1\r\n\r\n');
  c.serverSays(`HTTP/1.1 200 OK\r\nContent-Length: ${SERVER_HELLO.length}\r\n\r\n`, SERVER_HELLO);
  c.close();
  const r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), ['GET /first HTTP/1.1', 'POST /upload HTTP/1.1', 'GET /last HTTP/1.1']);
  assert.equal(r.recs[0]!.status, 200);
  assert.deepEqual(counts(r), { h2: 0, tls: 0, anomalies: 0 });
});

test('bytes that only start like TLS (another handshake type, a bad version) are not taken for it', () => {
  for (const first of ['\x16\x03\x05\x00\x40\x01', '\x16\x03\x01\x00\x40\x0b', '\x16\x03\x01\xff\xff\x01']) {
    const c = new Conversation().handshake();
    c.clientSays(first + '\x00'.repeat(64));
    c.close();
    assert.equal(analyze(c.frames).a.stats.tlsConnections, 0, JSON.stringify(first));
  }
});

test('the summary line names HTTP/2 and TLS connections only when there are some', () => {
  const summaryOf = (frames: Uint8Array[]) => {
    const p = new FullPipeline({ onRecord: () => {} });
    frames.forEach((f, i) => p.packet(frameOf(f, 1, 1000 + i * 0.001)));
    p.finish();
    return formatSummary(p.summary());
  };
  const h2 = new Conversation('10.0.0.1', '10.0.0.2', 40000, 80).handshake();
  h2.clientSays(PREFACE + SETTINGS);
  const tls = new Conversation('10.0.0.1', '10.0.0.3', 40001, 443).handshake();
  tls.clientSays(CLIENT_HELLO, ...APP_DATA);
  const line = summaryOf([...h2.frames, ...tls.frames]);
  assert.match(line, /, 1 HTTP\/2 connections \(requests inside not decoded\)/);
  assert.match(line, /, 1 TLS connections \(encrypted, not decoded\)/);
  assert.doesNotMatch(line, /parse anomalies/);
  const plain = new Conversation().handshake();
  plain.clientSays('GET / HTTP/1.1\r\n\r\n');
  assert.doesNotMatch(summaryOf(plain.frames), /HTTP\/2|TLS/);
});

test('another protocol in HTTP syntax (RTSP, SIP over TCP) from the first line: counted, passed over, no anomalies', () => {
  for (const [first, answer] of [
    ['OPTIONS rtsp://10.2.2.2:8554/ RTSP/1.0\r\nCSeq: 1\r\n\r\n', 'RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n'],
    ['INVITE sip:bob@example.org SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n', 'SIP/2.0 100 Trying\r\n\r\n'],
  ]) {
    const c = new Conversation().handshake();
    c.clientSays(first!);
    c.serverSays(answer!);
    c.clientSays('DESCRIBE rtsp://10.2.2.2:8554/ RTSP/1.0\r\nCSeq: 2\r\n\r\n', 'GET /not-http HTTP/1.1\r\n\r\n');
    c.serverSays('$\x00\x00\x10binary interleaved\r\n');
    c.close();
    const r = analyze(c.frames);
    assert.deepEqual(lines(r.recs), [], first);
    assert.equal(r.a.stats.otherConnections, 1, first);
    assert.equal(r.a.stats.anomalies, 0, first);
    assert.equal(r.notHttp, 1, 'the filter is told it may stop sending it');
  }
});

test('an RTSP-looking line after a request is garbage on an HTTP connection, not a switch', () => {
  const c = new Conversation().handshake();
  c.clientSays('GET /a HTTP/1.1\r\n\r\n', 'OPTIONS rtsp://x/ RTSP/1.0\r\n', 'GET /b HTTP/1.1\r\n\r\n');
  c.close();
  const r = analyze(c.frames);
  assert.deepEqual(lines(r.recs), ['GET /a HTTP/1.1', 'GET /b HTTP/1.1']);
  assert.equal(r.a.stats.otherConnections, 0);
});
