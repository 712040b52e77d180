/**
 * The mid-connection rewrite of the corpus, on hand-built conversations: it must cut only the connection
 * that carries the marker, even when an earlier connection used the very same addresses and ports (a
 * loopback capture reuses 4-tuples, and its ephemeral ports jump: the corpus test once lost two IPv6
 * requests of an unrelated connection that way).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cutBefore, dropHandshakes } from './corpus/rewrite.js';
import type { Frame } from './corpus/pcap-out.js';
import { Conversation } from '../support/tcp-frames.js';

const asFrames = (data: Uint8Array[]): Frame[] => data.map((d, i) => ({ tsSec: 1, tsUsec: i, data: d }));
const payloads = (frames: Frame[]) =>
  frames.map((f) => Buffer.from(f.data.subarray(14 + 40 + 20)).toString('latin1')).filter((s) => s !== '');

test('cutBefore keeps an earlier connection on the same 4-tuple whole, and cuts the marked one', () => {
  const earlier = new Conversation('::1', '::1', 40000, 80, 1000).handshake();
  earlier.clientSays('POST /v6/form HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi', 'GET /v6/next HTTP/1.1\r\n\r\n');
  earlier.close();
  const marked = new Conversation('::1', '::1', 40000, 80, 777777).handshake();
  marked.clientSays('POST /v6/mid/skip/0 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi');
  marked.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  marked.clientSays('GET /v6/mid/keep/0 HTTP/1.1\r\n\r\n');
  marked.close();
  const frames = asFrames([...earlier.frames, ...marked.frames]);
  const out = dropHandshakes(cutBefore(frames, '/mid/skip/', 'GET /'));
  assert.deepEqual(payloads(out), [
    'POST /v6/form HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi',
    'GET /v6/next HTTP/1.1\r\n\r\n',
    'GET /v6/mid/keep/0 HTTP/1.1\r\n\r\n',
  ]);
  // Both FINs of the earlier connection and of the marked one (after its cut) are still there.
  assert.equal(out.length, 3 + 4);
});

test('cutBefore: a retransmitted SYN does not start a new connection', () => {
  const c = new Conversation('127.0.0.1', '127.0.0.1', 40001, 80, 5000);
  c.handshake();
  const syn = c.frames[0]!;
  c.clientSays('POST /v4/mid/skip/1 HTTP/1.1\r\n\r\n', 'GET /v4/mid/keep/1 HTTP/1.1\r\n\r\n');
  const frames = asFrames([syn, ...c.frames]);
  const out = cutBefore(frames, '/mid/skip/', 'GET /');
  const text = out.map((f) => Buffer.from(f.data.subarray(14 + 20 + 20)).toString('latin1')).filter((s) => s !== '');
  assert.deepEqual(text, ['GET /v4/mid/keep/1 HTTP/1.1\r\n\r\n']);
});
