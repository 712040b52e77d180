// Full mode's filter between beginChunk() and endChunk() copies the capture's buffer into the VM's frame
// window many frames at a time (filter-engine.ts): every verdict and the session map must be what the
// frame-at-a-time filter gives — across windows, for frames too large for one, and after the reader
// refilled the same buffer with other frames (a window kept past endChunk would run the old bytes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFilterObject, type LoadedFilter } from '../../src/apps/http/filter-engine.js';
import { tcpFrame, SYN, ACK, PSH } from '../support/tcp-frames.js';
import { FrameView } from '../../src/packet/frame.js';

/** Frames laid out one after another in one buffer (16 bytes of record header between them, as in a pcap). */
function chunkOf(frames: Uint8Array[], size: number): { buf: Uint8Array; offs: number[] } {
  const buf = new Uint8Array(size).fill(0x5a);
  const offs: number[] = [];
  let at = 24;
  for (const f of frames) {
    at += 16;
    assert.ok(at + f.length <= size, 'the test chunk is large enough');
    buf.set(f, at);
    offs.push(at);
    at += f.length;
  }
  return { buf, offs };
}

/** Every frame through `keep`, its verdict (the frames lie where chunkOf put them). */
function verdicts(f: LoadedFilter, chunk: { buf: Uint8Array; offs: number[] }, lens: number[], ts: number): boolean[] {
  const full = f.full();
  const view = new FrameView();
  return chunk.offs.map((o, i) => full.keep(view.set(chunk.buf, o, lens[i]!, 1, ts + i * 1e-3)));
}

function sessionKeys(f: LoadedFilter): string[] {
  return [...f.sessions!.keys()].map((k) => Buffer.from(k).toString('hex')).sort();
}

/**
 * Frames whose verdicts depend on their bytes: a request to an odd port opens a session (kept), the
 * same connection's next segment is kept by the session, other connections to odd ports without a
 * request are dropped; SYNs are kept; the 201st frame is followed by one of 70,000 bytes, larger than the
 * window.
 */
function framesOf(seed: number, n: number, requests: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const sport = 20000 + seed * 1000 + (i % 50);
    const dport = 9000 + (i % 7);
    const body = 'x'.repeat((i * 37) % 900);
    if (i % 11 === 0) out.push(tcpFrame({ sport, dport, seq: i, flags: SYN }));
    else if (requests && i % 3 === 0)
      out.push(tcpFrame({ sport, dport, seq: i, payload: `GET /${i} HTTP/1.1\r\n${body}` }));
    else out.push(tcpFrame({ sport, dport, seq: i, flags: ACK | PSH, payload: `data ${body}` }));
    if (i === 200) out.push(tcpFrame({ sport, dport, seq: i, payload: `GET /big HTTP/1.1\r\n${'y'.repeat(70_000)}` }));
  }
  return out;
}

test('full mode in the VM: frames run through the frame window give the frame-at-a-time verdicts and sessions', async () => {
  const windowed = await loadFilterObject('full', 'vm');
  const single = await loadFilterObject('full', 'vm');
  try {
    const w = windowed.full();
    assert.ok(w.beginChunk && w.endChunk);
    // Chunks one after another in the SAME buffer, as the reader refills it: a large one (many windows,
    // a frame larger than one), then two small ones whose frames lie where the one before put its own.
    const size = 2_000_000;
    const shared = new Uint8Array(size);
    const chunks = [framesOf(1, 1500, true), framesOf(2, 60, true), framesOf(3, 60, false), framesOf(4, 60, true)];
    const got: boolean[][] = [];
    const want: boolean[][] = [];
    for (const [k, frames] of chunks.entries()) {
      const c = chunkOf(frames, size);
      shared.set(c.buf);
      const lens = frames.map((f) => f.length);
      w.beginChunk();
      got.push(verdicts(windowed, { buf: shared, offs: c.offs }, lens, 1000 * k));
      w.endChunk();
      // the reference: each frame on its own, in a buffer of its own
      want.push(verdicts(single, chunkOf(frames, size), lens, 1000 * k));
    }
    for (const [k, v] of want.entries()) assert.deepEqual(got[k], v, `chunk ${k}`);
    // the frames make both verdicts, and the chunks differ where they overlap
    for (const v of want) assert.ok(v.includes(true) && v.includes(false));
    assert.notDeepEqual(want[1], want[2]);
    assert.deepEqual(sessionKeys(windowed), sessionKeys(single));
    assert.ok(sessionKeys(single).length > 10);
  } finally {
    windowed.close();
    single.close();
  }
});
