/**
 * The SOCKS recognizer on hand-made connections: handshakes split into single bytes, a client that sends
 * its request and HTTP in one segment, a refused CONNECT, a SOCKS5 IPv6 target, and a connection that only
 * looks like SOCKS. The live exchange with curl is in socks.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conversation } from '../support/tcp-frames.js';
import { writePcapFrames } from './corpus/pcap-out.js';
import { runUrls } from './support.js';
import { SocksHandshake } from '../../src/apps/http/socks.js';

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-socks-unit-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const bin = (...xs: (number | string)[]) =>
  xs.map((x) => (typeof x === 'string' ? x : String.fromCharCode(x))).join('');
const GET = 'GET /in/socks HTTP/1.1\r\n\r\n';
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';

async function urlsOf(name: string, build: (c: Conversation) => void) {
  const c = new Conversation('10.3.0.1', '10.3.0.2', 45000, 1080, 7).handshake();
  build(c);
  c.close();
  const file = join(dir, `${name}.pcap`);
  writePcapFrames(
    file,
    1,
    c.frames.map((data, i) => ({ tsSec: 1_700_000_000, tsUsec: i, data })),
  );
  return (await runUrls(file, 'full', 'none')).records;
}

test('SOCKS5 with user/password, every handshake byte in its own segment', async () => {
  const greet = bin(5, 2, 0, 2);
  const auth = bin(1, 1, 'u', 2, 'pw');
  const req = bin(5, 1, 0, 3, 11, 'example.com', 0x1f, 0x90);
  const recs = await urlsOf('split', (c) => {
    c.clientSays(...greet.split(''));
    c.serverSays(...bin(5, 2).split(''));
    c.clientSays(...auth.split(''));
    c.serverSays(bin(1, 0));
    c.clientSays(...req.split(''));
    c.serverSays(...bin(5, 0, 0, 1, 10, 3, 0, 2, 0x04, 0x38).split(''));
    c.clientSays(GET);
    c.serverSays(OK);
  });
  assert.deepEqual(
    recs.map((r) => [r.uri, r.via, r.host, r.socks_target, r.status]),
    [['/in/socks', 'socks5', 'example.com:8080', 'example.com:8080', 200]],
  );
});

test('SOCKS4a: the request and HTTP in one segment; SOCKS4 with an address', async () => {
  const a = await urlsOf('4a', (c) => {
    c.clientSays(bin(4, 1, 0, 80, 0, 0, 0, 1, 'me', 0, 'web.test', 0) + GET);
    c.serverSays(bin(0, 0x5a, 0, 0, 0, 0, 0, 0) + OK);
  });
  assert.deepEqual(
    a.map((r) => [r.via, r.host, r.status]),
    [['socks4a', 'web.test', 200]],
  );
  const b = await urlsOf('4', (c) => {
    c.clientSays(bin(4, 1, 0x1f, 0x90, 192, 0, 2, 7, 0));
    c.serverSays(bin(0, 0x5a, 0, 0, 0, 0, 0, 0));
    c.clientSays('GET /x HTTP/1.1\r\nHost: named\r\n\r\n');
    c.serverSays(OK);
  });
  assert.deepEqual(
    b.map((r) => [r.via, r.host, r.socks_target]),
    [['socks4', 'named', '192.0.2.7:8080']],
  );
});

test('a refused CONNECT, a BIND, and bytes that only start like SOCKS carry no request', async () => {
  const refused = await urlsOf('refused', (c) => {
    c.clientSays(bin(5, 1, 0));
    c.serverSays(bin(5, 0));
    c.clientSays(bin(5, 1, 0, 1, 192, 0, 2, 1, 0, 80));
    c.serverSays(bin(5, 5, 0, 1, 0, 0, 0, 0, 0, 0));
    c.clientSays(GET);
  });
  assert.deepEqual(refused, []);
  const bind = await urlsOf('bind', (c) => {
    c.clientSays(bin(4, 2, 0, 80, 192, 0, 2, 1, 0));
    c.serverSays(bin(0, 0x5a, 0, 0, 0, 0, 0, 0));
    c.clientSays(GET);
  });
  assert.deepEqual(bind, []);
  const junk = await urlsOf('junk', (c) => {
    c.clientSays(bin(5, 1, 0, 9, 9, 9, 9));
    c.clientSays(GET);
  });
  assert.deepEqual(junk, []);
});

test('SOCKS5 IPv6 target text, and a handshake longer than any real one fails', () => {
  const h = new SocksHandshake();
  const v6 = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1];
  const req = Uint8Array.from([5, 1, 0, 5, 1, 0, 4, ...v6, 0, 80, ...Buffer.from('GET')]);
  assert.equal(h.client(req, 0, req.length), req.length - 3);
  assert.equal(h.target, '[2001:db8::1]');
  const long = new SocksHandshake();
  const user = Uint8Array.from([4, 1, 0, 80, 1, 2, 3, 4, ...Array(2000).fill(65)]);
  assert.equal(long.client(user, 0, user.length), -1);
  assert.equal(long.failed, true);
});
