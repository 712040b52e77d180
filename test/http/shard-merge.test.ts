/**
 * The merge of `urls --threads N` (src/apps/http/shard-merge.ts): by tag, never past the frontier, and to
 * the end once every shard has sent its last lines — also when one queue holds all that is left and the
 * frontier is open (that case once read past the queue's end: "Cannot read properties of undefined").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MergeQueue, mergeReady } from '../../src/apps/http/shard-merge.js';
import type { ShardEnd } from '../../src/apps/http/shard-protocol.js';

const lines = (tags: number[]) => ({ lines: tags.map((t) => `r${t}`), tags: new Float64Array(tags) });
const END = {} as ShardEnd;

test('records merge by tag, up to the frontier of the shards still running', () => {
  const a = new MergeQueue();
  const b = new MergeQueue();
  a.push(lines([1, 4, 9]), 9);
  b.push(lines([2, 3, 7]), 5);
  const out: string[] = [];
  mergeReady([a, b], (l) => out.push(l));
  assert.deepEqual(out, ['r1', 'r2', 'r3', 'r4'], 'nothing past frame 5: b may still report 5');
  b.push(lines([]), 9);
  mergeReady([a, b], (l) => out.push(l));
  assert.deepEqual(out, ['r1', 'r2', 'r3', 'r4', 'r7', 'r9']);
});

test('one queue holding all that is left, the frontier open: merged to its end, nothing read past it', () => {
  const own = new MergeQueue();
  const worker = new MergeQueue();
  own.push(lines([1]), Infinity);
  own.end = END;
  // the worker's last lines are in (upTo Infinity) but not its counters: the frontier is Infinity
  worker.push(lines([2, 5, 8]), Infinity);
  const out: string[] = [];
  mergeReady([own, worker], (l) => out.push(l));
  assert.deepEqual(out, ['r1', 'r2', 'r5', 'r8']);
  worker.end = END;
  mergeReady([own, worker], (l) => out.push(l));
  assert.equal(out.length, 4, 'nothing more');
});
