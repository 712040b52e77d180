/**
 * HeldBytes: kept bytes go back to the parser oldest first, a parser that stops again keeps the rest, and
 * what all of an analyzer's connections hold together is bounded by its memory budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeldBytes } from '../../src/apps/http/held-bytes.js';
import { FullAnalyzer } from '../../src/apps/http/full-analyzer.js';
import { splitBudget } from '../../src/packet/flow/memory-budget.js';
import { frameOf } from '../../src/packet/frame.js';
import { Conversation } from '../support/tcp-frames.js';

const text = (s: string) => new TextEncoder().encode(s);

test('drain feeds in order, resumes where the parser stopped, and counts what is kept', () => {
  const pool = { bytes: 0 };
  const kept = new HeldBytes(pool);
  assert.equal(kept.empty, true);
  const seg = text('xxABCDyy');
  kept.push(seg, 2, 6, 1); // 'ABCD', a copy: the segment's buffer is reused
  seg.fill(0);
  kept.push(text('EFG'), 0, 3, 2);
  assert.equal(kept.bytes, 7);
  assert.equal(pool.bytes, 7);
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
  assert.equal(pool.bytes, 0);
  assert.equal(kept.empty, true);
  kept.push(text('Z'), 0, 1, 3);
  kept.clear();
  assert.deepEqual([kept.empty, kept.bytes, pool.bytes], [true, 0, 0]);
});

test('what all connections hold together stays under the budget: servers talking before any request cannot add up', () => {
  // 40 connections, each server sending 140 KB before its client asks anything (under the 1 MiB one
  // connection may hold): 5.6 MB held without a bound across connections. With --max-memory 16 MB the
  // flows may hold 1 MB together; past it, the connection holding more parses it at once (orphans).
  const maxMemory = 16 << 20;
  const a = new FullAnalyzer({ onRecord: () => {}, maxMemory });
  const limit = Math.floor(splitBudget(maxMemory).segments / 4);
  let most = 0;
  let n = 0;
  for (let i = 0; i < 40; i++) {
    const c = new Conversation('10.0.0.1', '10.0.0.2', 40000 + i, 80).handshake();
    for (let k = 0; k < 100; k++) c.serverSays(`HTTP/1.1 200 OK\r\nContent-Length: 1380\r\n\r\n${'x'.repeat(1380)}`);
    for (const f of c.frames) {
      a.packet(frameOf(f, 1, 1000 + n++ * 0.001));
      most = Math.max(most, a.heldBytes);
    }
  }
  assert.ok(most <= limit + 1500, `held at most ${most} bytes (limit ${limit})`);
  assert.ok(most > limit / 2, `the connections did hold (${most})`);
  a.finish();
  assert.equal(a.heldBytes, 0);
});
