/**
 * Maps: kernel semantics in the VM (update flags and their errors, E2BIG when full, get-next-key order,
 * per-CPU values, LRU eviction, LPM longest-prefix match, queue/stack, ring buffer), and the same
 * sequences of userspace operations on real kernel maps giving the same outcomes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { ensureBpffs } from './differential.js';
import { needs } from '../support/env.js';
import { loadCollection } from '../../src/loader/index.js';
import { loadVmCollection } from '../../src/vm/collection.js';
import type { MapSpec, ObjectSpec } from '../../src/elf/spec.js';
import type { Collection } from '../../src/engine/types.js';
import { MapType, UpdateFlag } from '../../src/uapi/types.js';
import { MapError } from '../../src/engine/errors.js';
import { RingBufMap } from '../../src/vm/maps/ringbuf.js';

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : 'none');
const lpmKey = (len: number, ...addr: number[]) => new Uint8Array([len, 0, 0, 0, ...addr]);

function mapSpec(
  name: string,
  type: number,
  keySize: number,
  valueSize: number,
  maxEntries: number,
  flags = 0,
): MapSpec {
  return {
    name,
    type,
    keySize,
    valueSize,
    maxEntries,
    flags,
    pinning: 'none',
    contents: [],
    frozen: false,
    section: '.maps',
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
  };
}

const specs: MapSpec[] = [
  mapSpec('h', MapType.HASH, 4, 8, 3),
  mapSpec('a', MapType.ARRAY, 4, 8, 4),
  mapSpec('pa', MapType.PERCPU_ARRAY, 4, 4, 2),
  mapSpec('ph', MapType.PERCPU_HASH, 4, 4, 2),
  mapSpec('lru', MapType.LRU_HASH, 4, 8, 8),
  mapSpec('lpm', MapType.LPM_TRIE, 8, 4, 4, 1),
  mapSpec('q', MapType.QUEUE, 0, 4, 2),
  mapSpec('s', MapType.STACK, 0, 4, 2),
];
const objectSpec: ObjectSpec = { endian: 'little', license: 'GPL', kernelVersion: 0, programs: [], maps: specs };

/** Apply one operation; the outcome is a string so VM and kernel can be compared directly. */
function attempt(f: () => unknown): string {
  try {
    const r = f();
    if (r instanceof Uint8Array) return hex(r);
    if (Array.isArray(r)) return r.map((x) => (x instanceof Uint8Array ? hex(x) : String(x))).join(',');
    return r === undefined ? 'ok' : typeof r === 'string' ? r : JSON.stringify(r);
  } catch (err) {
    if (err instanceof MapError) return err.errno;
    throw err;
  }
}

/** The same script for both engines. */
function script(c: Collection, cpus: number): string[] {
  const o: string[] = [];
  const h = c.map('h');
  o.push(attempt(() => h.update(u32(1), u64(10), UpdateFlag.NOEXIST)));
  o.push(attempt(() => h.update(u32(1), u64(11), UpdateFlag.NOEXIST)));
  o.push(attempt(() => h.update(u32(2), u64(20), UpdateFlag.EXIST)));
  o.push(attempt(() => h.update(u32(2), u64(20))));
  o.push(attempt(() => h.update(u32(3), u64(30))));
  o.push(attempt(() => h.update(u32(4), u64(40))));
  o.push(attempt(() => h.update(u32(1), u64(12), UpdateFlag.EXIST)));
  o.push(attempt(() => h.update(u32(1), u64(12), 8)));
  o.push(attempt(() => h.lookup(u32(1)) ?? 'none'));
  o.push(attempt(() => h.lookup(u32(9)) ?? 'none'));
  o.push(attempt(() => h.delete(u32(9))));
  o.push(attempt(() => h.delete(u32(2))));
  o.push(attempt(() => h.update(u32(4), u64(40))));
  o.push([...h.keys()].map(hex).sort().join(','));

  const a = c.map('a');
  o.push(attempt(() => a.update(u32(3), u64(33))));
  o.push(attempt(() => a.update(u32(4), u64(44))));
  o.push(attempt(() => a.update(u32(0), u64(1), UpdateFlag.NOEXIST)));
  o.push(attempt(() => a.update(u32(0), u64(1), UpdateFlag.EXIST)));
  o.push(attempt(() => a.delete(u32(0))));
  o.push(attempt(() => a.lookup(u32(7)) ?? 'none'));
  o.push([...a.keys()].map(hex).join(','));
  o.push(attempt(() => a.lookup(u32(3)) ?? 'none'));

  const pa = c.map('pa');
  o.push(
    attempt(() =>
      pa.updatePerCpu!(
        u32(1),
        Array.from({ length: cpus }, (_, i) => u32(i + 5)),
      ),
    ),
  );
  o.push(attempt(() => pa.lookupPerCpu(u32(1))));
  o.push(attempt(() => pa.update(u32(0), u32(7))));
  o.push(attempt(() => pa.lookupPerCpu(u32(0))));
  o.push(attempt(() => pa.lookup(u32(1)) ?? 'none'));
  const ph = c.map('ph');
  o.push(attempt(() => ph.update(u32(1), u32(3))));
  o.push(attempt(() => ph.lookupPerCpu(u32(1))));
  o.push(attempt(() => ph.update(u32(2), u32(3))));
  o.push(attempt(() => ph.update(u32(3), u32(3))));

  const lru = c.map('lru');
  for (let i = 0; i < 4; i++) o.push(attempt(() => lru.update(u32(i), u64(i))));
  o.push(attempt(() => lru.update(u32(0), u64(5), UpdateFlag.NOEXIST)));
  o.push(attempt(() => lru.lookup(u32(2)) ?? 'none'));

  const lpm = c.map('lpm');
  o.push(attempt(() => lpm.update(lpmKey(8, 10, 0, 0, 0), u32(8))));
  o.push(attempt(() => lpm.update(lpmKey(16, 10, 1, 0, 0), u32(16))));
  o.push(attempt(() => lpm.update(lpmKey(24, 10, 1, 2, 0), u32(24))));
  o.push(attempt(() => lpm.update(lpmKey(24, 10, 1, 3, 0), u32(243))));
  o.push(attempt(() => lpm.update(lpmKey(0, 0, 0, 0, 0), u32(0))));
  o.push(attempt(() => lpm.update(lpmKey(33, 1, 2, 3, 4), u32(1))));
  o.push(attempt(() => lpm.lookup(lpmKey(32, 10, 1, 2, 99)) ?? 'none'));
  o.push(attempt(() => lpm.lookup(lpmKey(32, 10, 1, 9, 9)) ?? 'none'));
  o.push(attempt(() => lpm.lookup(lpmKey(32, 10, 9, 9, 9)) ?? 'none'));
  o.push(attempt(() => lpm.lookup(lpmKey(32, 11, 9, 9, 9)) ?? 'none'));
  o.push(attempt(() => lpm.lookup(lpmKey(12, 10, 1, 2, 3)) ?? 'none'));
  o.push([...lpm.keys()].map(hex).join(','));
  o.push(attempt(() => lpm.delete(lpmKey(16, 10, 1, 0, 0))));
  o.push(attempt(() => lpm.delete(lpmKey(16, 10, 1, 0, 0))));
  o.push(attempt(() => lpm.lookup(lpmKey(32, 10, 1, 9, 9)) ?? 'none'));
  o.push(attempt(() => lpm.update(lpmKey(30, 10, 1, 2, 4), u32(30))));
  o.push(attempt(() => lpm.update(lpmKey(31, 10, 1, 2, 4), u32(31))));

  for (const name of ['q', 's']) {
    const m = c.map(name);
    o.push(attempt(() => m.push!(u32(1))));
    o.push(attempt(() => m.push!(u32(2))));
    o.push(attempt(() => m.push!(u32(3))));
    o.push(attempt(() => m.push!(u32(4), UpdateFlag.EXIST)));
    o.push(attempt(() => m.peek!() ?? 'none'));
    o.push(attempt(() => m.pop!() ?? 'none'));
    o.push(attempt(() => m.pop!() ?? 'none'));
    o.push(attempt(() => m.pop!() ?? 'none'));
  }
  return o;
}

test('VM maps follow the kernel rules', () => {
  const c = loadVmCollection(objectSpec, { cpus: 2 });
  const o = script(c, 2);
  let i = 0;
  const next = () => o[i++];
  // hash
  assert.deepEqual([next(), next(), next(), next(), next(), next()], ['ok', 'EEXIST', 'ENOENT', 'ok', 'ok', 'E2BIG']);
  assert.deepEqual([next(), next(), next(), next()], ['ok', 'EINVAL', hex(u64(12)), 'none']);
  assert.deepEqual(
    [next(), next(), next(), next()],
    [
      'false',
      'true',
      'ok',
      [1, 3, 4]
        .map((k) => hex(u32(k)))
        .sort()
        .join(','),
    ],
  );
  // array
  assert.deepEqual([next(), next(), next(), next(), next(), next()], ['ok', 'E2BIG', 'EEXIST', 'ok', 'EINVAL', 'none']);
  assert.equal(next(), [0, 1, 2, 3].map((k) => hex(u32(k))).join(','));
  assert.equal(next(), hex(u64(33)));
  // per-CPU
  assert.deepEqual(
    [next(), next(), next(), next()],
    ['ok', `${hex(u32(5))},${hex(u32(6))}`, 'ok', `${hex(u32(7))},${hex(u32(7))}`],
  );
  assert.equal(
    next(),
    '05000000000000000600000000000000',
    'lookup gives the bpf(2) buffer: each CPU padded to 8 bytes',
  );
  assert.deepEqual([next(), next(), next(), next()], ['ok', `${hex(u32(3))},${hex(u32(3))}`, 'ok', 'E2BIG']);
  // LRU: never full
  assert.deepEqual([next(), next(), next(), next(), next(), next()], ['ok', 'ok', 'ok', 'ok', 'EEXIST', hex(u64(2))]);
  // LPM
  assert.deepEqual([next(), next(), next(), next(), next(), next()], ['ok', 'ok', 'ok', 'ok', 'ENOSPC', 'EINVAL']);
  assert.deepEqual(
    [next(), next(), next(), next(), next()],
    [hex(u32(24)), hex(u32(16)), hex(u32(8)), 'none', hex(u32(8))],
  );
  assert.equal(
    next(),
    [lpmKey(24, 10, 1, 2, 0), lpmKey(24, 10, 1, 3, 0), lpmKey(16, 10, 1, 0, 0), lpmKey(8, 10, 0, 0, 0)]
      .map(hex)
      .join(','),
  );
  assert.deepEqual([next(), next(), next(), next(), next()], ['true', 'false', hex(u32(8)), 'ok', 'ENOSPC']);
  // queue, stack
  assert.deepEqual(o.slice(i, i + 8), ['ok', 'ok', 'E2BIG', 'ok', hex(u32(2)), hex(u32(2)), hex(u32(4)), 'none']);
  assert.deepEqual(o.slice(i + 8, i + 16), ['ok', 'ok', 'E2BIG', 'ok', hex(u32(4)), hex(u32(4)), hex(u32(2)), 'none']);
});

test('a map the VM cannot hold (max_entries 2^30, a per-CPU map on 10^8 CPUs) is ENOMEM in one line, not a RangeError', () => {
  const load =
    (m: MapSpec, cpus = 2) =>
    () =>
      loadVmCollection({ endian: 'little', license: 'GPL', kernelVersion: 0, programs: [], maps: [m] }, { cpus });
  const enomem = (name: string) => (err: unknown) =>
    err instanceof MapError &&
    err.errno === 'ENOMEM' &&
    err.message.startsWith(`map '${name}': create: ENOMEM (its `) &&
    err.message.endsWith("more than the VM's 4 GiB address space)");
  assert.throws(load(mapSpec('big', MapType.ARRAY, 4, 16, 2 ** 30)), enomem('big'));
  assert.throws(load(mapSpec('bigh', MapType.HASH, 8, 8, 2 ** 31)), enomem('bigh'));
  assert.throws(load(mapSpec('cpus', MapType.PERCPU_ARRAY, 4, 16, 16), 100_000_000), enomem('cpus'));
  assert.throws(load(mapSpec('rb', MapType.RINGBUF, 0, 0, 2 ** 31)), enomem('rb'));
  // One size below the bound still loads (the kernel creates it too).
  load(mapSpec('fits', MapType.PERCPU_ARRAY, 4, 16, 16), 4096)().close();
});

test('LRU hash evicts the least recently used element when full', () => {
  const c = loadVmCollection({ ...objectSpec, maps: [mapSpec('lru', MapType.LRU_HASH, 4, 4, 3)] }, { cpus: 1 });
  const m = c.map('lru');
  for (let i = 1; i <= 3; i++) m.update(u32(i), u32(i));
  // a program lookup refreshes key 1 (userspace lookups do not, as in the kernel)
  const lookup = m.progLookup(u32(1), 0, 0);
  assert.ok(lookup >= 0);
  m.update(u32(4), u32(4));
  assert.deepEqual([...m.keys()].map((k) => k[0]).sort(), [1, 3, 4]);
});

test('hash maps hold thousands of keys through churn (the bucket table grows with the entries)', () => {
  const c = loadVmCollection(
    { ...objectSpec, maps: [mapSpec('big', MapType.HASH, 4, 4, 65536), mapSpec('lru', MapType.LRU_HASH, 4, 4, 1000)] },
    { cpus: 1 },
  );
  const big = c.map('big');
  const live = new Set<number>();
  for (let i = 0; i < 20000; i++) {
    const k = (i * 2654435761) >>> 0;
    big.update(u32(k), u32(i));
    live.add(k);
    if (i % 3 === 2) {
      const gone = ((i - 1) * 2654435761) >>> 0;
      assert.equal(big.delete(u32(gone)), true);
      live.delete(gone);
    }
  }
  assert.equal([...big.keys()].length, live.size);
  for (const k of live) assert.ok(big.lookup(u32(k)), `key ${k}`);
  assert.equal(big.lookup(u32(12345)), undefined);
  // an LRU map past its capacity keeps exactly its newest entries
  const lru = c.map('lru');
  for (let i = 0; i < 5000; i++) lru.update(u32(i), u32(i));
  const kept = [...lru.keys()].map((k) => Buffer.from(k).readUInt32LE(0)).sort((a, b) => a - b);
  assert.deepEqual(
    kept,
    Array.from({ length: 1000 }, (_, i) => 4000 + i),
  );
});

test('ring buffer: reserve, submit, discard, output and consume in order', () => {
  const c = loadVmCollection({ ...objectSpec, maps: [mapSpec('rb', MapType.RINGBUF, 0, 0, 4096)] }, { cpus: 1 });
  const rb = c.map('rb') as unknown as RingBufMap;
  const a = rb.reserve(5, 0);
  const b = rb.reserve(3, 0);
  rb.slab!.set([1, 2, 3, 4, 5], a);
  rb.slab!.set([9, 9, 9], b);
  rb.commit(b, false);
  assert.deepEqual(rb.consume(), [], 'a reserved record blocks the ones after it');
  rb.commit(a, true);
  assert.deepEqual(
    rb.consume().map((r) => [...r]),
    [[9, 9, 9]],
    'discarded records are skipped',
  );
  assert.equal(rb.output(new Uint8Array([7, 7]), 0, 2, 0), 0);
  assert.equal(rb.output(new Uint8Array(2), 0, 2, 4), -22);
  assert.deepEqual(
    rb.consume().map((r) => [...r]),
    [[7, 7]],
  );
  assert.equal(rb.reserve(5000, 0), -1, 'larger than the ring');
  // wrap around: fill most of the ring, consume, then a record that crosses the end
  for (let i = 0; i < 3; i++) rb.output(new Uint8Array(1000).fill(i), 0, 1000, 0);
  rb.consume();
  const rec = new Uint8Array(1500).map((_, i) => i & 0xff);
  assert.equal(rb.output(rec, 0, 1500, 0), 0);
  assert.deepEqual([...rb.consume()[0]!], [...rec]);
  assert.throws(
    () => loadVmCollection({ ...objectSpec, maps: [mapSpec('bad', MapType.RINGBUF, 0, 0, 5000)] }, { cpus: 1 }),
    MapError,
  );
});

test('frozen .rodata: userspace writes are EPERM, program writes fault', () => {
  const ro: MapSpec = {
    ...mapSpec('.rodata', MapType.ARRAY, 4, 8, 1),
    frozen: true,
    contents: [{ key: u32(0), value: u64(42) }],
  };
  const c = loadVmCollection({ ...objectSpec, maps: [ro] }, { cpus: 1 });
  const m = c.map('.rodata');
  assert.equal(hex(m.lookup(u32(0))), hex(u64(42)));
  assert.throws(
    () => m.update(u32(0), u64(1)),
    (e: unknown) => e instanceof MapError && e.errno === 'EPERM',
  );
  const region = c.vm.memory.regionAt(c.rc.mapBase[m.fd]!);
  assert.equal(region?.writable, false);
});

test('the same map operations give the same outcomes on kernel maps', async (t) => {
  if (!needs(t, { root: true })) return;
  const { possibleCpus } = await import('../../src/kernel/cpus.js');
  const cpus = possibleCpus();
  const vm = script(loadVmCollection(objectSpec, { cpus }), cpus);
  const pin = `/sys/fs/bpf/bpfkit-maps-${process.pid}`;
  ensureBpffs();
  mkdirSync(pin, { recursive: true });
  const k = await loadCollection(objectSpec, { engine: 'kernel', kernel: { pinPath: pin } });
  try {
    const kernel = script(k, cpus);
    assert.deepEqual(vm, kernel);
  } finally {
    k.close();
    rmSync(pin, { recursive: true, force: true });
  }
});

test('LPM trie: longest-prefix match over many random routes equals a brute-force scan', () => {
  const c = loadVmCollection({ ...objectSpec, maps: [mapSpec('routes', MapType.LPM_TRIE, 8, 4, 300, 1)] }, { cpus: 1 });
  const m = c.map('routes');
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 0xffff;
  const routes: [number, number, number][] = []; // prefix (u32), len, value
  for (let i = 0; i < 250; i++) {
    const len = rnd() % 33;
    const addr = ((rnd() << 16) | rnd()) >>> 0;
    const masked = len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0;
    const key = lpmKey(len, addr >>> 24, (addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff);
    m.update(key, u32(i));
    const old = routes.findIndex(([p, l]) => p === masked && l === len);
    if (old >= 0) routes.splice(old, 1);
    routes.push([masked, len, i]);
  }
  for (let q = 0; q < 500; q++) {
    const addr = q % 2 ? routes[q % routes.length]![0] | (rnd() & 0xff) : ((rnd() << 16) | rnd()) >>> 0;
    let best: [number, number, number] | undefined;
    for (const r of routes) {
      const mask = r[1] === 0 ? 0 : (0xffffffff << (32 - r[1])) >>> 0;
      if ((addr & mask) >>> 0 === r[0] && (!best || r[1] > best[1])) best = r;
    }
    const got = m.lookup(lpmKey(32, addr >>> 24, (addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff));
    assert.equal(got ? Buffer.from(got).readUInt32LE(0) : undefined, best?.[2], `lookup ${addr.toString(16)}`);
  }
});
