import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapStatistics } from 'node:v8';
import { heapValve } from '../../src/apps/http/heap-valve.js';

test('the heap valve collects once the heap passes its budget (gc fetched on that first need), not before', () => {
  const roomy = heapValve(1 << 30)!;
  roomy.check();
  assert.equal(roomy.collections, 0);
  const tight = heapValve(1 << 20)!;
  let junk: { i: number }[] | null = [];
  for (let i = 0; i < 200_000; i++) junk.push({ i });
  junk = null;
  const before = getHeapStatistics().used_heap_size;
  tight.check();
  assert.equal(tight.collections, 1);
  assert.ok(getHeapStatistics().used_heap_size < before, 'the collection freed the garbage');
});
