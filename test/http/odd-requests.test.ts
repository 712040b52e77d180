/**
 * Odd request lines (issue 14): each is reported, flagged `malformed` with its raw line, instead of being
 * dropped as a parse anomaly; HTTP/0.9's `GET /` is a request of its own version; a Content-Length with
 * leading zeros frames its body as a server would, so the request after it is not hidden.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FullAnalyzer } from '../../src/apps/http/full-analyzer.js';
import { jsonLine, textLine, type UrlRecord } from '../../src/apps/http/record.js';
import { Conversation } from '../support/tcp-frames.js';
import { frameOf } from '../../src/packet/frame.js';

function requests(...pieces: string[]): UrlRecord[] {
  const c = new Conversation().handshake();
  c.clientSays(...pieces);
  c.close();
  const recs: UrlRecord[] = [];
  const a = new FullAnalyzer({ onRecord: (r) => recs.push(r) });
  c.frames.forEach((f, i) => a.packet(frameOf(f, 1, 1000 + i * 0.001)));
  a.finish();
  return recs;
}

const shape = (r: UrlRecord) => [r.method, r.uri, r.version, r.malformed === true, r.raw ?? ''];

const ODD: [string, string, (string | boolean)[]][] = [
  ['no target', 'OPTIONS HTTP/1.1', ['OPTIONS', '', 'HTTP/1.1', true, 'OPTIONS HTTP/1.1']],
  ['a cut version', 'GET / HTTP/1.', ['GET', '/', 'HTTP/1.', true, 'GET / HTTP/1.']],
  ['no space before the version', 'POST /HTTP/1.1', ['POST', '/HTTP/1.1', '', true, 'POST /HTTP/1.1']],
  ['a bare method', 'DELETE', ['DELETE', '', '', true, 'DELETE']],
  ['extra words', 'CONNECT host:25 / HTTP/1.0', ['CONNECT', 'host:25', 'HTTP/1.0', true, 'CONNECT host:25 / HTTP/1.0']],
  ['tabs between the words', 'GET\t/tab\tHTTP/1.1', ['GET', '/tab', 'HTTP/1.1', true, 'GET\t/tab\tHTTP/1.1']],
  ['whitespace before the method', '  GET /ws HTTP/1.1', ['GET', '/ws', 'HTTP/1.1', true, '  GET /ws HTTP/1.1']],
  [
    'a version not HTTP after a method only HTTP has',
    'GET / JUNK/1.0',
    ['GET', '/', 'JUNK/1.0', true, 'GET / JUNK/1.0'],
  ],
];

for (const [what, line, want] of ODD) {
  test(`an odd request line is reported, flagged, with its raw line: ${what}`, () => {
    const recs = requests(`${line}\r\nHost: h\r\n\r\n`, 'GET /after HTTP/1.1\r\n\r\n');
    const all = recs.map(shape);
    // (after a CONNECT too: no server agreed to open the tunnel)
    assert.deepEqual(all, [want, ['GET', '/after', 'HTTP/1.1', false, '']]);
    assert.equal(textLine(recs[0]!), `${line} (malformed)`);
    const json = JSON.parse(jsonLine(recs[0]!)) as { malformed: boolean; raw: string };
    assert.equal(json.malformed, true);
    assert.equal(json.raw, line);
  });
}

test('a NUL in a target followed by an HTTP version: reported, and shown as \\x00 in text output', () => {
  const line = 'GET /a\0b HTTP/1.1';
  const recs = requests(`${line}\r\nHost: h\r\n\r\n`, 'GET /after HTTP/1.1\r\n\r\n');
  assert.deepEqual(recs.map(shape), [
    ['GET', '/a\0b', 'HTTP/1.1', true, line],
    ['GET', '/after', 'HTTP/1.1', false, ''],
  ]);
  assert.equal(textLine(recs[0]!), 'GET /a\\x00b HTTP/1.1 (malformed)');
  assert.equal(JSON.parse(jsonLine(recs[0]!)).raw, line);
  // the same bytes without a version are no request line (binary data stays skipped)
  assert.deepEqual(
    requests('GET /a\0b\r\n\r\n', 'GET /after HTTP/1.1\r\n\r\n').map((r) => r.uri),
    ['/after'],
  );
});

test('HTTP/0.9: `GET /` is a whole request (no headers follow), not malformed', () => {
  const recs = requests('GET /simple\r\n', 'GET /next HTTP/1.1\r\n\r\n');
  assert.deepEqual(recs.map(shape), [
    ['GET', '/simple', 'HTTP/0.9', false, ''],
    ['GET', '/next', 'HTTP/1.1', false, ''],
  ]);
  assert.equal(JSON.parse(jsonLine(recs[0]!)).malformed, undefined, 'JSON says malformed only when it is');
});

test('a Content-Length with leading zeros frames the body: the request after it is not hidden', () => {
  const recs = requests(
    'POST /zeros HTTP/1.1\r\nContent-Length: 0000000000000000000005\r\n\r\nhelloGET /hidden HTTP/1.1\r\n\r\n',
  );
  assert.deepEqual(
    recs.map((r) => r.uri),
    ['/zeros', '/hidden'],
  );
});

test('prose and binary after a request are still skipped lines, not requests', () => {
  const recs = requests('GET /a HTTP/1.1\r\n\r\n', 'Hello there, GET me\r\n', '\x00\x01GET\r\n');
  assert.deepEqual(
    recs.map((r) => r.uri),
    ['/a'],
  );
});

const NOT_HTTP: [string, string][] = [
  ['RTSP (another protocol with HTTP methods)', 'OPTIONS rtsp://10.2.2.2:8554/ RTSP/1.0'],
  ['SIP', 'OPTIONS sip:alice@example.org SIP/2.0'],
  ['NATS', 'CONNECT {"verbose":false,"pedantic":false}'],
  ['Redis inline command', 'GET somekey'],
];

for (const [what, line] of NOT_HTTP) {
  test(`a line of another protocol is no request, odd or not: ${what}`, () => {
    // (after a request: as a connection's first line, RTSP's and SIP's make it that protocol's,
    // opaque-connections.test.ts)
    const recs = requests('GET /before HTTP/1.1\r\n\r\n', `${line}\r\n`, 'GET /after HTTP/1.1\r\n\r\n');
    assert.deepEqual(recs.map(shape), [
      ['GET', '/before', 'HTTP/1.1', false, ''],
      ['GET', '/after', 'HTTP/1.1', false, ''],
    ]);
  });
}

test('the target shapes odd lines keep: a path, *, a URI with a scheme, host:port and [v6]:port', () => {
  for (const target of ['/p', '*', 'http://h/p', 'example.org:443', '10.0.0.1:25', '[fd00::1]:8080'])
    assert.equal(requests(`OPTIONS ${target}\r\n\r\n`)[0]?.uri, target, target);
});

test('a stream that just ends inside a line (nothing lost) reports no request made of it', () => {
  // Only a gap (bytes known lost) makes a partial line a cut request: see snaplen.test.ts.
  assert.deepEqual(requests('GET /a HTTP/1.1\r\n\r\n', 'GET /no-line-end').map(shape), [
    ['GET', '/a', 'HTTP/1.1', false, ''],
  ]);
});
