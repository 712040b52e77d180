// A perf event array costs nothing per slot: opening every slot of a 2^32 - 1 slot map is a flag, so a
// map sized by a hostile object (or libbpf's "one slot per CPU" on a huge machine) opens at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerfEventArrayMap } from '../../src/vm/maps/perf-event-array.js';
import { E } from '../../src/vm/maps/base.js';
import { MapType } from '../../src/uapi/types.js';
import type { MapSpec } from '../../src/elf/spec.js';

const spec = (maxEntries: number): MapSpec => ({
  name: 'events',
  type: MapType.PERF_EVENT_ARRAY,
  keySize: 4,
  valueSize: 4,
  maxEntries,
  flags: 0,
  pinning: 'none',
  contents: [],
  frozen: false,
  section: '.maps',
  btfKeyTypeId: 0,
  btfValueTypeId: 0,
});

test('a perf event array of 2^32 - 1 slots opens every slot at once and holds no table', () => {
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const m = new PerfEventArrayMap(spec(0xffffffff), { cpus: 2, handle: 1 });
  m.openSlots();
  const ms = performance.now() - t0;
  assert.ok(ms < 200, `created and opened in ${ms.toFixed(0)} ms`);
  assert.ok(process.memoryUsage().rss - before < 32 << 20, 'no per-slot memory');
  const sample = Uint8Array.of(1, 2, 3);
  assert.equal(m.output(0xfffffffe, sample), 0);
  assert.equal(m.output(0xffffffff, sample), -E.E2BIG, 'beyond max_entries');
  m.closeSlots(7);
  assert.equal(m.output(7, sample), -E.ENOENT, 'a slot closed alone');
  assert.equal(m.output(8, sample), 0);
  m.openSlots(7);
  assert.equal(m.output(7, sample), 0);
  m.closeSlots();
  assert.equal(m.output(8, sample), -E.ENOENT, 'all closed');
  m.openSlots(3);
  assert.equal(m.output(3, sample), 0, 'one slot opened alone');
  assert.equal(m.output(4, sample), -E.ENOENT);
  assert.deepEqual(
    m.consume().map((r) => r.cpu),
    [0xfffffffe, 8, 7, 3],
  );
});
