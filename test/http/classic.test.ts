import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ClassicPipeline, MAX_AGE_SECONDS } from '../../src/apps/http/classic-pipeline.js';
import { JsClassicFilter, sessionKey } from '../../src/apps/http/classic-filter.js';
import { loadFilterObject } from '../../src/apps/http/filter-engine.js';
import { needs, repoPath } from '../support/env.js';
import { Conversation, tcpFrame, SYN } from '../support/tcp-frames.js';
import { frameOf } from '../../src/packet/frame.js';

function classic(version: 1 | 2, filter = new JsClassicFilter(version)) {
  const lines: string[] = [];
  const p = new ClassicPipeline(version, filter, { text: (l) => lines.push(l) });
  const feed = (frames: Uint8Array[], t0 = 1000) => frames.forEach((f, i) => p.packet(frameOf(f, 1, t0 + i * 0.001)));
  return { p, lines, feed, filter };
}

test('v1: the first packet of a request prints up to CRLF; a split line comes out truncated', () => {
  const c = new Conversation().handshake();
  c.clientSays('GET /whole HTTP/1.1\r\nHost: a\r\n\r\n');
  c.clientSays('GET /split/here', '/and/there HTTP/1.1\r\n\r\n');
  c.serverSays('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  c.clientSays('OPTIONS * HTTP/1.1\r\n\r\n');
  const { lines, feed } = classic(1);
  feed(c.frames);
  assert.deepEqual(lines, ['GET /whole HTTP/1.1', 'GET /split/here', 'HTTP/1.1 200 OK']);
});

test('v2: a split line is buffered per session and printed whole; the map entry goes once printed', () => {
  const c = new Conversation().handshake();
  const { lines, feed, filter } = classic(2);
  feed(c.clientSays('POST /a/very', '/long/path', '?x=1 HTTP/1.1\r\nHost: h\r\n\r\n'));
  assert.deepEqual(lines, ['POST /a/very/long/path?x=1 HTTP/1.1']);
  assert.equal(filter.sessions!.size, 0, 'the key was deleted after printing');
  feed(c.clientSays('GET /one-packet HTTP/1.1\r\n\r\n'));
  assert.deepEqual(lines.slice(1), ['GET /one-packet HTTP/1.1']);
  assert.equal(filter.sessions!.size, 0);
});

test('v2: past 8192 bytes without CRLF it prints "url too long" and forgets the session', () => {
  const c = new Conversation().handshake();
  const pieces = ['GET /' + 'a'.repeat(1400)];
  for (let i = 0; i < 7; i++) pieces.push('b'.repeat(1400));
  pieces.push(' HTTP/1.1\r\n\r\n');
  const { lines, feed, filter } = classic(2);
  feed(c.clientSays(...pieces));
  assert.deepEqual(lines, ['url too long']);
  assert.equal(filter.sessions!.size, 0);
});

test('v2: every 50 packets the cleanup stamps new entries and deletes those older than 30 s', () => {
  const { p, filter } = classic(2);
  // 10 sessions whose request line never completes: their map entries stay.
  for (let i = 0; i < 10; i++) {
    const f = tcpFrame({ sport: 2000 + i, seq: 1, payload: 'GET /never-finished' });
    p.packet(frameOf(f, 1, 1000));
  }
  const key = sessionKey(0x0a000001, 0x0a000002, 2000, 80);
  assert.deepEqual(
    [...filter.sessions!.lookup(key)!],
    [0, 0, 0, 0, 0, 0, 0, 0],
    'inserted by the filter with timestamp 0',
  );
  // 40 more kept packets (continuations) at t = 1000 reach the 50th: entries get stamped with 1000.
  for (let i = 0; i < 40; i++) {
    const f = tcpFrame({ sport: 2000 + (i % 10), seq: 100 + i, payload: 'x' });
    p.packet(frameOf(f, 1, 1000));
  }
  assert.equal(new DataView(filter.sessions!.lookup(key)!.buffer).getBigUint64(0, true), 1000n);
  // 50 more, 31 s later: all entries are older than MAX_AGE_SECONDS and go.
  for (let i = 0; i < 50; i++) {
    const f = tcpFrame({ sport: 2000 + (i % 10), seq: 200 + i, payload: 'y' });
    p.packet(frameOf(f, 1, 1000 + MAX_AGE_SECONDS + 1));
  }
  assert.equal(filter.sessions!.size, 0);
});

test('the classic filter keeps only IPv4/TCP with a payload starting with the six words', () => {
  const f = new JsClassicFilter(1);
  const keep = (payload: string, extra: Partial<Parameters<typeof tcpFrame>[0]> = {}) =>
    f.keep(tcpFrame({ seq: 1, payload, ...extra }));
  for (const w of ['GET /', 'POST /', 'PUT /', 'DELETE /', 'HEAD /', 'HTTP/1.1 200']) assert.equal(keep(w), true, w);
  for (const w of ['OPTIONS /', 'PATCH /', 'get /', 'GE', '']) assert.equal(keep(w), false, JSON.stringify(w));
  assert.equal(keep('GET / HTTP/1.1', { src: 'fd00::1', dst: 'fd00::2' }), false, 'IPv6 is not seen');
  assert.equal(keep('GET / HTTP/1.1', { vlan: [0x8100] }), false, 'VLAN-tagged frames are not seen');
  assert.equal(f.keep(tcpFrame({ seq: 1, flags: SYN })), false);
});

test('the eBPF programs (v1, v2) in the VM give the same verdicts and map contents as their TypeScript twins', async () => {
  const c = new Conversation().handshake();
  c.clientSays(
    'G',
    'ET /x HTTP/1.1\r\n\r\n',
    'POST /y',
    ' HTTP/1.1\r\n\r\n',
    'HEAD / HTTP/1.0\r\n\r\n',
    'DELETE /z HTTP/1.1\r\n\r\n',
  );
  c.serverSays('HTTP/1.1 200 OK\r\n\r\n', 'PUT is not a response');
  const frames = [
    ...c.frames,
    tcpFrame({ src: 'fd00::1', dst: 'fd00::2', seq: 1, payload: 'GET / HTTP/1.1\r\n' }),
    tcpFrame({ seq: 1, payload: 'PUT /v HTTP/1.1\r\n', vlan: [0x8100] }),
  ];
  for (const mode of ['v1', 'v2'] as const) {
    const vm = await loadFilterObject(mode, 'vm');
    try {
      const twin = new JsClassicFilter(mode === 'v1' ? 1 : 2);
      const got = frames.map((f) => vm.classic().keep(f));
      const want = frames.map((f) => twin.keep(f));
      assert.deepEqual(got, want, mode);
      if (mode === 'v2') {
        const keys = (it: Iterable<Uint8Array>) => [...it].map((k) => Buffer.from(k).toString('hex')).sort();
        assert.deepEqual(keys(vm.sessions!.keys()), keys(twin.sessions!.keys()));
      }
    } finally {
      vm.close();
    }
  }
});

test('the committed eBPF objects match their C sources (clang rebuild)', (t) => {
  if (!needs(t, { tools: ['clang', 'llvm-objdump'] })) return;
  const r = spawnSync('sh', [repoPath('tools', 'build-http-bpf.sh'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /match their sources/);
});
