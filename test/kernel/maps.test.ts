import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needs } from '../support/env.js';
import { MapError } from '../../src/engine/errors.js';
import { createMap } from '../../src/kernel/map-ops.js';
import { closeFd } from '../../src/kernel/bpf-syscall.js';
import { createMap as createVmMap } from '../../src/vm/maps/index.js';
import { mapSpec } from '../support/map-spec.js';
import { KernelMap } from '../../src/kernel/kernel-map.js';
import { possibleCpus, countCpuList } from '../../src/kernel/cpus.js';
import { MapType, UpdateFlag } from '../../src/uapi/types.js';

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);

function make(type: number, keySize: number, valueSize: number, maxEntries: number, flags = 0): KernelMap {
  const fd = createMap({ name: 'test_map', type, keySize, valueSize, maxEntries, flags });
  return new KernelMap(fd, { name: 'test_map', type, keySize, valueSize, maxEntries, flags });
}

function errnoOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof MapError, `expected MapError, got ${String(err)}`);
    return err.errno;
  }
  return 'none';
}

test('countCpuList parses kernel CPU lists', () => {
  assert.equal(countCpuList('0-3\n'), 4);
  assert.equal(countCpuList('0,2-3,7'), 4);
  assert.equal(countCpuList('0'), 1);
});

test('hash map: update/lookup/delete/keys with kernel errnos as MapError', (t) => {
  if (!needs(t, { root: true })) return;
  const m = make(MapType.HASH, 4, 8, 4);
  try {
    assert.equal(m.lookup(u32(1)), undefined);
    m.update(u32(1), u64(100));
    m.update(u32(2), u64(200), UpdateFlag.NOEXIST);
    assert.deepEqual(m.lookup(u32(1)), u64(100));
    assert.equal(
      errnoOf(() => m.update(u32(2), u64(1), UpdateFlag.NOEXIST)),
      'EEXIST',
    );
    assert.equal(
      errnoOf(() => m.update(u32(9), u64(1), UpdateFlag.EXIST)),
      'ENOENT',
    );
    m.update(u32(3), u64(3));
    m.update(u32(4), u64(4));
    assert.equal(
      errnoOf(() => m.update(u32(5), u64(5))),
      'E2BIG',
    );
    assert.equal(
      errnoOf(() => m.update(u32(5), u64(5).subarray(0, 4))),
      'EINVAL',
    );
    const keys = [...m.keys()].map((k) => new DataView(k.buffer).getUint32(0, true)).sort();
    assert.deepEqual(keys, [1, 2, 3, 4]);
    assert.equal(m.delete(u32(3)), true);
    assert.equal(m.delete(u32(3)), false);
    assert.equal([...m.keys()].length, 3);
  } finally {
    m.close();
  }
});

test('array map: out-of-range index is E2BIG, delete is EINVAL, freeze makes it read-only (EPERM)', (t) => {
  if (!needs(t, { root: true })) return;
  const m = make(MapType.ARRAY, 4, 4, 2);
  try {
    assert.deepEqual(m.lookup(u32(1)), u32(0));
    m.update(u32(1), u32(7));
    assert.deepEqual(m.lookup(u32(1)), u32(7));
    assert.equal(
      errnoOf(() => m.update(u32(2), u32(1))),
      'E2BIG',
    );
    assert.equal(
      errnoOf(() => m.delete(u32(0))),
      'EINVAL',
    );
    assert.equal([...m.keys()].length, 2);
    m.freeze();
    assert.equal(
      errnoOf(() => m.update(u32(0), u32(1))),
      'EPERM',
    );
    assert.deepEqual(m.lookup(u32(1)), u32(7));
  } finally {
    m.close();
  }
});

test('per-CPU array: one value per possible CPU, padded to 8 bytes', (t) => {
  if (!needs(t, { root: true })) return;
  const m = make(MapType.PERCPU_ARRAY, 4, 4, 1);
  try {
    const cpus = possibleCpus();
    m.update(u32(0), u32(5)); // one value: copied to every CPU
    const per = m.lookupPerCpu(u32(0))!;
    assert.equal(per.length, cpus);
    for (const v of per) assert.deepEqual(v, u32(5));
    assert.equal(m.lookup(u32(0))!.length, 8 * cpus);
    const vals = Array.from({ length: cpus }, (_, i) => u32(i + 10));
    m.updatePerCpu(u32(0), vals);
    assert.deepEqual(m.lookupPerCpu(u32(0)), vals);
  } finally {
    m.close();
  }
});

test('queue map: push/peek/pop', (t) => {
  if (!needs(t, { root: true })) return;
  const m = make(MapType.QUEUE, 0, 4, 4);
  try {
    assert.equal(m.pop(), undefined);
    m.push(u32(1));
    m.push(u32(2));
    assert.deepEqual(m.peek(), u32(1));
    assert.deepEqual(m.pop(), u32(1));
    assert.deepEqual(m.pop(), u32(2));
    assert.equal(m.pop(), undefined);
  } finally {
    m.close();
  }
});

test('batch update/lookup/delete on a hash map', (t) => {
  if (!needs(t, { root: true })) return;
  const m = make(MapType.HASH, 4, 4, 1024);
  try {
    const keys = Array.from({ length: 600 }, (_, i) => u32(i));
    const vals = Array.from({ length: 600 }, (_, i) => u32(i * 3));
    assert.equal(m.updateBatch(keys, vals), 600);
    const all = m.lookupBatch(128);
    assert.equal(all.length, 600);
    for (const [k, v] of all)
      assert.equal(new DataView(v.buffer).getUint32(0, true), new DataView(k.buffer).getUint32(0, true) * 3);
    assert.equal(m.deleteBatch(keys.slice(0, 100)), 100);
    assert.equal([...m.keys()].length, 500);
  } finally {
    m.close();
  }
});

test('the VM creates a map with exactly the map_flags the kernel accepts for its type, bit by bit', (t) => {
  if (!needs(t, { root: true })) return;
  const inner = createMap({ name: 'inner', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
  const shapes: Array<[string, number, number, number]> = [
    ['ARRAY', 4, 8, 4],
    ['PERCPU_ARRAY', 4, 8, 4],
    ['HASH', 4, 8, 4],
    ['PERCPU_HASH', 4, 8, 4],
    ['LRU_HASH', 4, 8, 4],
    ['LRU_PERCPU_HASH', 4, 8, 4],
    ['PROG_ARRAY', 4, 4, 4],
    ['ARRAY_OF_MAPS', 4, 4, 4],
    ['HASH_OF_MAPS', 4, 4, 4],
    ['LPM_TRIE', 8, 8, 4],
    ['QUEUE', 0, 8, 4],
    ['STACK', 0, 8, 4],
    ['RINGBUF', 0, 0, 4096],
    ['PERF_EVENT_ARRAY', 4, 4, 4],
  ];
  const RDONLY_OR_WRONLY = (1 << 3) | (1 << 4); // accepted by the kernel, refused by name by the VM
  try {
    for (const [name, keySize, valueSize, maxEntries] of shapes) {
      const type = MapType[name as keyof typeof MapType];
      for (let bit = -1; bit < 20; bit++) {
        // (an LPM trie needs BPF_F_NO_PREALLOC with any other flag; -1 tries no flag at all)
        const flags = (bit < 0 ? 0 : 1 << bit) | (type === MapType.LPM_TRIE && bit > 0 ? 1 : 0);
        let kernel = true;
        try {
          const fd = createMap({
            name: 'flags',
            type,
            keySize,
            valueSize,
            maxEntries,
            flags,
            innerMapFd: name.endsWith('OF_MAPS') ? inner : 0,
          });
          closeFd(fd);
        } catch {
          kernel = false;
        }
        let vm: string = 'created';
        try {
          const s = mapSpec('flags', type, keySize, valueSize, maxEntries, { flags });
          createVmMap(s, { cpus: 2, handle: 1, isProgram: () => false, isMap: () => false });
        } catch (e) {
          vm = (e as MapError).errno;
        }
        const expected = !kernel ? 'EINVAL' : flags & RDONLY_OR_WRONLY ? 'EOPNOTSUPP' : 'created';
        assert.equal(
          vm,
          expected,
          `${name} map_flags 0x${flags.toString(16)}: kernel ${kernel ? 'accepts' : 'refuses'}`,
        );
      }
    }
  } finally {
    closeFd(inner);
  }
});
