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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs } from '../support/env.js';
import { writePcapFrames } from './corpus/pcap-out.js';
import { missingFrom, runUrls, tsharkRequests } from './support.js';

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

/** A conversation of client and server pieces in order, on `port`; the records FullAnalyzer reports. */
function exchange(port: number, turns: [who: 'c' | 's', text: string][]): UrlRecord[] {
  const c = new Conversation('10.0.0.1', '10.0.0.2', 40000, port).handshake();
  for (const [who, text] of turns) {
    if (who === 'c') c.clientSays(text);
    else c.serverSays(text);
  }
  c.close();
  const recs: UrlRecord[] = [];
  const a = new FullAnalyzer({ onRecord: (r) => recs.push(r) });
  c.frames.forEach((f, i) => a.packet(frameOf(f, 1, 1000 + i * 0.001)));
  a.finish();
  return recs;
}

test('an HTTP version in lower or mixed case: reported with the version as written, malformed', () => {
  for (const version of ['http/1.1', 'Http/1.0']) {
    const line = `GET /lc ${version}`;
    const recs = requests(`${line}\r\nHost: h\r\n\r\n`, 'GET /after HTTP/1.1\r\n\r\n');
    assert.deepEqual(recs.map(shape), [
      ['GET', '/lc', version, true, line],
      ['GET', '/after', 'HTTP/1.1', false, ''],
    ]);
    assert.equal(recs[0]!.host, 'h', 'its headers are read as usual');
  }
});

const BARE_CR: [string, string[], (string | boolean)[][]][] = [
  [
    'line and headers end in bare CRs, then a CRLF request',
    ['GET /a HTTP/1.1\rHost: x\r\r', 'GET /b HTTP/1.1\r\nHost: y\r\n\r\n'],
    [
      ['GET', '/a', 'HTTP/1.1', true, 'GET /a HTTP/1.1', 'x'],
      ['GET', '/b', 'HTTP/1.1', false, '', 'y'],
    ],
  ],
  [
    'two CR-only requests in one segment (tshark reports the first)',
    ['GET /a HTTP/1.1\rHost: x\r\rGET /b HTTP/1.1\rHost: y\r\r'],
    [
      ['GET', '/a', 'HTTP/1.1', true, 'GET /a HTTP/1.1', 'x'],
      ['GET', '/b', 'HTTP/1.1', true, 'GET /b HTTP/1.1', 'y'],
    ],
  ],
  [
    'a request line split, its bare CR at a segment end',
    ['GET /sp', 'lit HTTP/1.1\r', 'Host: x\r\r', 'GET /n HTTP/1.1\r\n\r\n'],
    [
      ['GET', '/split', 'HTTP/1.1', true, 'GET /split HTTP/1.1', 'x'],
      ['GET', '/n', 'HTTP/1.1', false, '', ''],
    ],
  ],
  [
    'a body framed by Content-Length keeps its length (its CRs are body)',
    ['POST /p HTTP/1.1\rContent-Length: 24\r\rGET /fake HTTP/1.1\r\r\r\r\r\r', 'GET /q HTTP/1.1\r\r'],
    [
      ['POST', '/p', 'HTTP/1.1', true, 'POST /p HTTP/1.1', ''],
      ['GET', '/q', 'HTTP/1.1', true, 'GET /q HTTP/1.1', ''],
    ],
  ],
  [
    'the stream ends after the bare CRs',
    ['GET /end HTTP/1.1\rHost: x\r\r'],
    [['GET', '/end', 'HTTP/1.1', true, 'GET /end HTTP/1.1', 'x']],
  ],
];

for (const [what, pieces, want] of BARE_CR) {
  test(`bare CR line ends: each request reported, a bare-CR line malformed: ${what}`, () => {
    const recs = requests(...pieces);
    assert.deepEqual(
      recs.map((r) => [...shape(r), r.host]),
      want,
    );
  });
}

test('bare CR line ends after ordinary requests, and in a request split one byte a segment', () => {
  const text = 'GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\rHost: x\r\rGET /3 HTTP/1.1\r\n\r\n';
  for (const pieces of [[text], [...text]]) {
    assert.deepEqual(
      requests(...pieces).map((r) => `${r.uri} ${r.malformed === true}`),
      ['/1 false', '/2 true', '/3 false'],
      `${pieces.length} pieces`,
    );
  }
});

test('CRLF traffic never takes the bare-CR path (a CR in a target is a bare CR too)', () => {
  // (the same requests with CRLF: none malformed, nothing read twice)
  const recs = requests('GET /x HTTP/1.1\r\nHost: h\r\n\r\n', 'GET /y HTTP/1.1\r', '\nHost: h\r\n\r\n');
  assert.deepEqual(recs.map(shape), [
    ['GET', '/x', 'HTTP/1.1', false, ''],
    ['GET', '/y', 'HTTP/1.1', false, ''],
  ]);
});

test('bare CR line ends through a refused CONNECT, its retry and the tunnel (held bytes fed again)', () => {
  const recs = exchange(3128, [
    ['c', 'CONNECT h:443 HTTP/1.1\rHost: h:443\r\rCONNECT h:443 HTTP/1.1\rProxy-Authorization: x\r\r'],
    ['s', 'HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n'],
    ['s', 'HTTP/1.1 200 Connection established\r\n\r\n'],
    ['c', 'GET /inside-the-tunnel HTTP/1.1\r\r'],
  ]);
  assert.deepEqual(
    recs.map((r) => [r.method, r.uri, r.status, r.malformed === true]),
    [
      ['CONNECT', 'h:443', 407, true],
      ['CONNECT', 'h:443', 200, true],
    ],
  );
});

test('a CR in bytes that are no request line is no line end: binary or prose stays skipped', () => {
  const pieces = [
    'GET /a HTTP/1.1\r\n\r\n',
    'xyz\rGET /fake HTTP/1.1\r\n',
    '\x01\x02\r\x03GET /fake2 HTTP/1.1\r\n',
    'GET /b HTTP/1.1\r\n\r\n',
  ];
  for (const split of [pieces, [...pieces.join('')]]) {
    assert.deepEqual(
      requests(...split).map((r) => r.uri),
      ['/a', '/b'],
      `${split.length} pieces`,
    );
  }
});

test('a bare word (`HELLO`) followed by a request: the connection is HTTP, the word a malformed request', () => {
  const recs = exchange(80, [
    ['c', 'HELLO\r\n'],
    ['s', 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'],
    ['c', 'GET /h HTTP/1.1\r\n\r\n'],
    ['s', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
  ]);
  assert.deepEqual(
    recs.map((r) => [...shape(r), r.status]),
    [
      ['HELLO', '', '', true, 'HELLO', 400],
      ['GET', '/h', 'HTTP/1.1', false, '', 200],
    ],
  );
  assert.equal(textLine(recs[0]!), 'HELLO (malformed)');
});

test('a bare word answered by an HTTP error, nothing after: reported with that status', () => {
  const recs = exchange(8123, [
    ['c', 'HELLO\r\n'],
    ['s', 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'],
  ]);
  assert.deepEqual(
    recs.map((r) => [...shape(r), r.status]),
    [['HELLO', '', '', true, 'HELLO', 400]],
  );
});

test('a word in a body whose framing was lost is body text, not a request', () => {
  // an invalid chunk size: the body's lines are read as start lines until a request line comes
  assert.deepEqual(
    requests('POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n', 'GET /n HTTP/1.1\r\n\r\n').map(
      (r) => r.uri,
    ),
    ['/c', '/n'],
  );
});

test('a bare word alone, unanswered, or answered by no HTTP: no request', () => {
  assert.deepEqual(requests('HELLO\r\n'), []);
  assert.deepEqual(
    exchange(80, [
      ['c', 'HELLO\r\n'],
      ['s', 'ERR unknown command\r\n'],
    ]),
    [],
  );
});

const NOT_HTTP_CONVERSATIONS: [string, number, [who: 'c' | 's', text: string][]][] = [
  [
    'SMTP',
    25,
    [
      ['s', '220 mx.example ESMTP\r\n'],
      ['c', 'EHLO client\r\n'],
      ['s', '250-mx.example\r\n250 SIZE 1000\r\n'],
      ['c', 'DATA\r\n'],
      ['s', '354 go on\r\n'],
      ['c', 'Subject: hi\r\n\r\nbody\r\n.\r\n'],
      ['s', '250 ok\r\n'],
      ['c', 'RSET\r\n'],
      ['s', '250 ok\r\n'],
      ['c', 'QUIT\r\n'],
      ['s', '221 bye\r\n'],
    ],
  ],
  [
    'POP3',
    110,
    [
      ['s', '+OK ready\r\n'],
      ['c', 'CAPA\r\n'],
      ['s', '+OK\r\nUSER\r\n.\r\n'],
      ['c', 'USER bob\r\n'],
      ['s', '+OK\r\n'],
      ['c', 'STAT\r\n'],
      ['s', '+OK 1 100\r\n'],
      ['c', 'QUIT\r\n'],
      ['s', '+OK bye\r\n'],
    ],
  ],
  [
    'FTP on a random port',
    2121,
    [
      ['s', '220 ftp ready\r\n'],
      ['c', 'USER anonymous\r\n'],
      ['s', '331 password\r\n'],
      ['c', 'SYST\r\n'],
      ['s', '215 UNIX Type: L8\r\n'],
      ['c', 'PWD\r\n'],
      ['s', '257 "/"\r\n'],
      ['c', 'FEAT\r\n'],
      ['s', '211 end\r\n'],
      ['c', 'QUIT\r\n'],
      ['s', '221 bye\r\n'],
    ],
  ],
];

for (const [what, port, turns] of NOT_HTTP_CONVERSATIONS) {
  test(`bare words of another protocol make no requests: ${what}`, () => {
    assert.deepEqual(exchange(port, turns), []);
  });
}

test('end to end, filter in the VM and none, against tshark: the odd requests, and no false ones', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-odd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const frames: Uint8Array[] = [];
  const conv = (cport: number, port: number, turns: [who: 'c' | 's', text: string][]) => {
    const c = new Conversation('10.0.0.1', '10.0.0.2', cport, port).handshake();
    for (const [who, text] of turns) {
      if (who === 'c') c.clientSays(text);
      else c.serverSays(text);
    }
    c.close();
    frames.push(...c.frames);
  };
  const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
  conv(41001, 80, [
    ['c', 'GET /cr/a HTTP/1.1\rHost: x\r\r'],
    ['s', OK],
    ['c', 'GET /cr/b HTTP/1.1\r\nHost: y\r\n\r\n'],
    ['s', OK],
  ]);
  conv(41002, 8080, [
    ['c', 'GET /cr/c HTTP/1.1\rHost: x\r\rGET /cr/d HTTP/1.1\rHost: y\r\r'],
    ['s', OK + OK],
  ]);
  conv(41003, 80, [
    ['c', 'GET /lower http/1.1\r\nHost: l\r\n\r\n'],
    ['s', OK],
  ]);
  // on a port the filter does not keep untracked: the handshake made it track the connection
  conv(41004, 8123, [
    ['c', 'HELLO\r\n'],
    ['s', 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'],
    ['c', 'GET /after-hello HTTP/1.1\r\n\r\n'],
    ['s', OK],
  ]);
  for (const [i, [, port, turns]] of NOT_HTTP_CONVERSATIONS.entries()) conv(41100 + i, port, turns);
  const file = join(dir, 'odd.pcap');
  writePcapFrames(
    file,
    1,
    frames.map((data, i) => ({ tsSec: 1_700_000_000, tsUsec: i * 10, data })),
  );
  const want = ['GET\t/cr/a', 'GET\t/cr/b', 'GET\t/cr/c', 'GET\t/cr/d', 'GET\t/lower', 'HELLO\t', 'GET\t/after-hello'];
  for (const engine of ['vm', 'none'] as const) {
    const { records } = await runUrls(file, 'full', engine);
    assert.deepEqual(records.map((r) => `${r.method}\t${r.uri}`).sort(), [...want].sort(), engine);
  }
  if (!needs(t, { tools: ['tshark'] })) return;
  const theirs = tsharkRequests(file);
  assert.deepEqual(missingFrom(want, theirs), [], 'tshark finds nothing bpfkit misses');
  // On purpose: tshark reports only the first of two CR-only requests in one segment, and no bare word.
  assert.deepEqual(missingFrom(theirs, want).sort(), ['GET\t/cr/d', 'HELLO\t']);
});
