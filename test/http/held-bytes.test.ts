/** HeldBytes: kept bytes go back to the parser oldest first, and a parser that stops again keeps the rest. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeldBytes } from '../../src/apps/http/held-bytes.js';

const text = (s: string) => new TextEncoder().encode(s);

test('drain feeds in order, resumes where the parser stopped, and counts what is kept', () => {
  const kept = new HeldBytes();
  assert.equal(kept.empty, true);
  const seg = text('xxABCDyy');
  kept.push(seg, 2, 6, 1); // 'ABCD', a copy: the segment's buffer is reused
  seg.fill(0);
  kept.push(text('EFG'), 0, 3, 2);
  assert.equal(kept.bytes, 7);
  const fed: string[] = [];
  let stopAt = 'C';
  const parser = {
    feed(b: Uint8Array, start: number, end: number, ts: number): number {
      const s = new TextDecoder().decode(b.subarray(start, end));
      const stop = s.indexOf(stopAt);
      fed.push(`${ts}:${stop < 0 ? s : s.slice(0, stop)}`);
      return stop < 0 ? end : start + stop;
    },
  };
  kept.drain(parser);
  assert.deepEqual(fed, ['1:AB']);
  assert.equal(kept.bytes, 5);
  assert.equal(kept.empty, false);
  stopAt = '#';
  kept.drain(parser);
  assert.deepEqual(fed, ['1:AB', '1:CD', '2:EFG']);
  assert.equal(kept.bytes, 0);
  assert.equal(kept.empty, true);
  kept.push(text('Z'), 0, 1, 3);
  kept.clear();
  assert.deepEqual([kept.empty, kept.bytes], [true, 0]);
});
