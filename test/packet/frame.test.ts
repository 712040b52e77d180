// Frame: the reader's reused PacketRef is one as it stands; FrameView and frameOf make others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openCapture } from '../../src/packet/capture-reader.js';
import { FrameView, frameBytes, frameOf, type Frame } from '../../src/packet/frame.js';
import { fixture } from './helpers.js';

test('the reader hands each packet as a Frame: a window into its chunk, with the capture time in seconds', async () => {
  const reader = await openCapture(fixture('lo-http-nsec.pcap'));
  const copies = await reader.readAll();
  const seen: { bytes: Uint8Array; ts: number; linktype: number; origLen: number }[] = [];
  let chunk: Uint8Array | undefined;
  await reader.forEachPacket((p) => {
    const f: Frame = p;
    chunk ??= f.bytes;
    seen.push({ bytes: frameBytes(f).slice(), ts: f.ts, linktype: f.linktype, origLen: f.origLen });
    assert.equal(f.bytes, chunk, 'no copy per frame: every frame lies in the chunk buffer');
  });
  await reader.close();
  assert.equal(seen.length, copies.length);
  seen.forEach((s, i) => {
    const c = copies[i]!;
    assert.deepEqual(s.bytes, c.data);
    assert.equal(s.ts, c.tsSec + c.tsNsec / 1e9);
    assert.equal(s.linktype, c.linktype);
    assert.equal(s.origLen, c.origLen);
  });
});

test('FrameView is refilled in place; frameBytes makes no view for a frame that is its whole buffer', () => {
  const buf = new Uint8Array([9, 1, 2, 3, 9]);
  const v = new FrameView();
  assert.equal(v.set(buf, 1, 3, 1, 12.5), v);
  assert.deepEqual([...frameBytes(v)], [1, 2, 3]);
  assert.equal(v.origLen, 3, 'origLen defaults to caplen');
  v.set(buf, 0, 5, 101, 13, 1500);
  assert.deepEqual([v.offset, v.caplen, v.origLen, v.linktype, v.ts], [0, 5, 1500, 101, 13]);
  assert.equal(frameBytes(v), buf);
  const whole = frameOf(buf, 1, 7);
  assert.deepEqual([whole.offset, whole.caplen, whole.ts], [0, 5, 7]);
});
