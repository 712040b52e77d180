/**
 * Conversations where the client's next bytes depend on the server's answer (found by replaying HTTP
 * parser test conversations as captures): a CONNECT the proxy refuses leaves an HTTP connection, and a
 * body announced with `Expect: 100-continue` that the server declined is never sent. In both cases the
 * next request used to be lost (read as tunnel bytes, or swallowed as the body).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FullAnalyzer } from '../../src/apps/http/full-analyzer.js';
import type { UrlRecord } from '../../src/apps/http/record.js';
import { Conversation } from '../support/tcp-frames.js';
import { frameOf } from '../../src/packet/frame.js';

function analyze(c: Conversation): UrlRecord[] {
  const recs: UrlRecord[] = [];
  const a = new FullAnalyzer({ onRecord: (r) => recs.push(r) });
  c.frames.forEach((f, i) => a.packet(frameOf(f, 1, 1000 + i * 0.001)));
  a.finish();
  return recs;
}

const seen = (recs: UrlRecord[]) => recs.map((r) => `${r.method} ${r.uri} ${r.status}`);

const TLS_HELLO = '\x16\x03\x01\x00\x2a\x01\x00\x00\x26\x03\x03' + 'r'.repeat(32) + '\x00\x00\x02\x13\x01';

test('a refused CONNECT leaves an HTTP connection: the request after it is reported and answered', () => {
  const c = new Conversation('10.0.0.1', '10.0.0.2', 40000, 3128).handshake();
  c.clientSays('CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n');
  c.serverSays('HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n');
  c.clientSays('GET http://a.example/after HTTP/1.1\r\nHost: a.example\r\n\r\n');
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  c.close();
  assert.deepEqual(seen(analyze(c)), ['CONNECT a.example:443 405', 'GET http://a.example/after 200']);
});

test("a 407 and the CONNECT retried with credentials: both reported; after the 200, the tunnel's bytes are not", () => {
  const c = new Conversation('10.0.0.1', '10.0.0.2', 40000, 3128).handshake();
  c.clientSays('CONNECT b.example:443 HTTP/1.1\r\nHost: b.example:443\r\n\r\n');
  c.serverSays('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 5\r\n\r\ndeny!');
  c.clientSays('CONNECT b.example:443 HTTP/1.1\r\nHost: b.example:443\r\nProxy-Authorization: Basic eDp5\r\n\r\n');
  c.serverSays('HTTP/1.1 200 Connection established\r\n\r\n');
  // plain text through the tunnel: the target server's business, not the proxy's
  c.clientSays('GET /inside-tunnel HTTP/1.1\r\nHost: b.example\r\n\r\n');
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  c.close();
  assert.deepEqual(seen(analyze(c)), ['CONNECT b.example:443 407', 'CONNECT b.example:443 200']);
});

test('a request sent right behind a CONNECT, before the answer, is a request; early TLS bytes are the tunnel', () => {
  const c = new Conversation('10.0.0.1', '10.0.0.2', 40000, 3128).handshake();
  c.clientSays('CONNECT c.example:443 HTTP/1.1\r\n\r\nGET /second HTTP/1.1\r\nHost: c.example\r\n\r\n');
  c.serverSays('HTTP/1.1 405 No\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  c.close();
  assert.deepEqual(seen(analyze(c)), ['CONNECT c.example:443 405', 'GET /second 200']);

  const d = new Conversation('10.0.0.1', '10.0.0.2', 40001, 3128).handshake();
  d.clientSays('CONNECT d.example:443 HTTP/1.1\r\n\r\n', TLS_HELLO, 'GET /not-a-request HTTP/1.1\r\n\r\n');
  d.serverSays('HTTP/1.1 200 OK\r\n\r\n', '\x16\x03\x03\x00\x02\x02\x00');
  d.close();
  assert.deepEqual(seen(analyze(d)), ['CONNECT d.example:443 200']);
});

test("the tunnel's first bytes captured ahead of the 200 that opened it stay the tunnel's: they wait for the answer", () => {
  // A capture does not keep the order of the two directions: the client sent these after reading the
  // 200, but they reached the capture first (the corpus's reordered rewrite does this).
  const c = new Conversation('10.0.0.1', '10.0.0.2', 40000, 3128).handshake();
  c.clientSays('CONNECT e.example:80 HTTP/1.1\r\nHost: e.example:80\r\n\r\n');
  c.clientSays('GET /inside-tunnel HTTP/1.1\r\nHost: e.example\r\n\r\n');
  c.serverSays('HTTP/1.1 200 Connection established\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  c.close();
  assert.deepEqual(seen(analyze(c)), ['CONNECT e.example:80 200']);
});

test('the answer captured before its CONNECT or Upgrade request (held, then let through by it) still opens the tunnel', () => {
  const c = new Conversation('10.0.0.1', '10.0.0.2', 40000, 3128).handshake();
  c.serverSays('HTTP/1.1 200 Connection established\r\n\r\n');
  c.clientSays('CONNECT e.example:80 HTTP/1.1\r\nHost: e.example:80\r\n\r\n');
  c.clientSays('GET /inside-tunnel HTTP/1.1\r\nHost: e.example\r\n\r\n');
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  c.close();
  assert.deepEqual(seen(analyze(c)), ['CONNECT e.example:80 200']);
  const d = new Conversation('10.0.0.1', '10.0.0.2', 40001, 80).handshake();
  d.serverSays('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  d.clientSays('GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  d.clientSays('GET /inside-websocket HTTP/1.1\r\nHost: h\r\n\r\n');
  d.close();
  assert.deepEqual(seen(analyze(d)), ['GET /chat 101']);
});

test('bytes after a CONNECT that is never answered: kept up to a bound, then read as requests where they begin like one', () => {
  // no answer before the connection ends: what begins like a request is one
  const c = new Conversation('10.0.0.1', '10.0.0.2', 40000, 3128).handshake();
  c.clientSays('CONNECT f.example:443 HTTP/1.1\r\n\r\n', 'GET /after HTTP/1.1\r\nHost: f.example\r\n\r\n');
  c.close();
  assert.deepEqual(seen(analyze(c)), ['CONNECT f.example:443 null', 'GET /after null']);
  // More than the bound (64 KiB) while the answer is late: parsed without it, so a request line first is
  // taken for a request although the 200 then opens a tunnel. (Under the bound it waits: the tunnel's.)
  for (const junk of [10, 50]) {
    const d = new Conversation('10.0.0.1', '10.0.0.2', 40001, 3128).handshake();
    d.clientSays('CONNECT g.example:443 HTTP/1.1\r\n\r\n', 'GET /early HTTP/1.1\r\n\r\n');
    for (let i = 0; i < junk; i++) d.clientSays('\x17\x03\x03\x05\xa0' + 'e'.repeat(1440));
    d.serverSays('HTTP/1.1 200 OK\r\n\r\n');
    d.close();
    assert.deepEqual(
      seen(analyze(d)),
      junk === 10 ? ['CONNECT g.example:443 200'] : ['CONNECT g.example:443 200', 'GET /early null'],
    );
  }
});

test('Expect: 100-continue answered with a final status: the body never comes, the next request is not swallowed', () => {
  const c = new Conversation().handshake();
  c.clientSays('PUT /forbidden HTTP/1.1\r\nHost: h\r\nContent-Length: 14\r\nExpect: 100-continue\r\n\r\n');
  c.serverSays('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
  c.clientSays('POST /ok HTTP/1.1\r\nHost: h\r\nContent-Length: 14\r\nExpect: 100-continue\r\n\r\n');
  c.serverSays('HTTP/1.1 100 Continue\r\n\r\n');
  c.clientSays('Hello People!\n');
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  c.clientSays('GET /last HTTP/1.1\r\nHost: h\r\n\r\n');
  c.serverSays('HTTP/1.1 204 No Content\r\n\r\n');
  c.close();
  assert.deepEqual(seen(analyze(c)), ['PUT /forbidden 401', 'POST /ok 200', 'GET /last 204']);
});

test('a declined body sent anyway is read as the body (content-length and chunked): nothing inside is a request', () => {
  const c = new Conversation().handshake();
  const body = '\r\nGET /in-body HTTP/1.1\r\n\r\n';
  c.clientSays(`PUT /a HTTP/1.1\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
  c.serverSays('HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n');
  c.clientSays(body, 'GET /b HTTP/1.1\r\n\r\n');
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  c.clientSays('POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n');
  c.serverSays('HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n');
  c.clientSays('1a\r\nGET /in-chunk HTTP/1.1\r\n\r\n\r\n0\r\n\r\n', 'GET /d HTTP/1.1\r\n\r\n');
  c.close();
  assert.deepEqual(seen(analyze(c)), ['PUT /a 417', 'GET /b 200', 'POST /c 413', 'GET /d null']);
});

test('without Expect, a body that starts after the response is still the body', () => {
  const c = new Conversation().handshake();
  c.clientSays('POST /early HTTP/1.1\r\nContent-Length: 23\r\n\r\n');
  c.serverSays('HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n');
  c.clientSays('GET /in-body HTTP/1.1\r\n', 'GET /real HTTP/1.1\r\n\r\n');
  c.close();
  assert.deepEqual(seen(analyze(c)), ['POST /early 400', 'GET /real null']);
});

test('an error answering a request line that never ended pairs with it, reported truncated', () => {
  const c = new Conversation().handshake();
  c.clientSays('GET /too-long-aaaa', 'aaaa');
  c.serverSays('HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  c.close();
  const recs = analyze(c);
  assert.deepEqual(seen(recs), ['GET /too-long-aaaaaaaa 414']);
  assert.equal(recs[0]!.truncated, true);

  // the line goes on after the answer: the answer waits for it (as any response captured before its
  // request does), and the request is reported whole, once
  const d = new Conversation().handshake();
  d.clientSays('GET /long-bbbb');
  d.serverSays('HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\n\r\n');
  d.clientSays('bbbb HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nGET', 'GET /next HTTP/1.1\r\nHost: h\r\n\r\n');
  d.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  d.close();
  const whole = analyze(d);
  assert.deepEqual(seen(whole), ['GET /long-bbbbbbbb 414', 'GET /next 200']);
  assert.equal(whole[0]!.truncated, false);
});

test('joined mid-connection, an answer to a request never seen does not claim an unfinished line', () => {
  // no handshake: the capture starts mid-connection, and nothing has been paired yet
  const c = new Conversation();
  c.clientSays('GET /unfinished-');
  c.serverSays('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
  c.close();
  const recs: UrlRecord[] = [];
  const a = new FullAnalyzer({ onRecord: (r) => recs.push(r) });
  c.frames.forEach((f, i) => a.packet(frameOf(f, 1, 1000 + i * 0.001)));
  a.finish();
  assert.deepEqual(seen(recs), []);
  assert.equal(a.stats.orphanResponses, 1);
});
