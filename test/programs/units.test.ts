/** Pure pieces: trace_printk formatting, checksum arithmetic, LPM trie ordering, the map factory's refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPrintk } from '../../src/vm/helpers/trace-printk.js';
import {
  csumFold,
  csumPartial,
  csumReplace2,
  csumReplace4,
  internetChecksum,
  csumFrom32To16,
} from '../../src/vm/helpers/checksum.js';
import { createMap } from '../../src/vm/maps/index.js';
import { MapError } from '../../src/engine/errors.js';
import { MapType } from '../../src/uapi/types.js';
import type { MapSpec } from '../../src/elf/spec.js';

const arg = (v: number | bigint) => {
  const u = BigInt.asUintN(64, BigInt(v));
  return { lo: Number(u & 0xffffffffn) | 0, hi: Number(u >> 32n) | 0 };
};
const fmt = (f: string, ...a: (number | bigint)[]) => formatPrintk(f, a.map(arg), (addr) => `str@${addr}`);

test('trace_printk conversions', () => {
  assert.equal(fmt('%d %i %u', -5, -6, -1), '-5 -6 4294967295');
  assert.equal(fmt('%lld %llu %llx', -1n, -1n, 0x1234567890n), '-1 18446744073709551615 1234567890');
  assert.equal(fmt('%x %X %#x', 255, 255, 255), 'ff FF 0xff');
  assert.equal(fmt('[%5d|%-5d|%05d]', 42, 42, -42), '[   42|42   |-0042]');
  assert.equal(fmt('%c%c %s %%', 104, 105, 0x100000), 'hi str@1048576 %');
  assert.equal(fmt('%p', 0x1000), '0000000000001000');
  assert.equal(fmt('%q', 1), undefined);
  assert.equal(fmt('%d %d %d %d', 1, 2, 3, 4), undefined, 'at most three arguments');
  assert.equal(fmt('%lllx', 1), undefined);
});

test('checksum arithmetic matches a full recomputation', () => {
  // an IPv4 header with its checksum; change the TTL/protocol word and the source address incrementally
  const ip = Uint8Array.from(Buffer.from('4500003c1c4640004006' + '0000' + 'ac100a63ac100a0c', 'hex'));
  const put = (v: number) => {
    ip[10] = v >> 8;
    ip[11] = v & 0xff;
  };
  put(internetChecksum(ip));
  const le16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
  const oldWord = le16(ip, 8);
  ip[8] = 1;
  const sum2 = csumReplace2(le16(ip, 10), oldWord, le16(ip, 8));
  ip[10] = sum2 & 0xff;
  ip[11] = sum2 >> 8;
  assert.equal(internetChecksum(ip), 0, 'csum_replace2 keeps the header valid');
  const oldSrc = new DataView(ip.buffer).getUint32(12, true);
  ip.set([192, 0, 2, 1], 12);
  const sum4 = csumReplace4(le16(ip, 10), oldSrc, new DataView(ip.buffer).getUint32(12, true));
  ip[10] = sum4 & 0xff;
  ip[11] = sum4 >> 8;
  assert.equal(internetChecksum(ip), 0, 'csum_replace4 keeps the header valid');
  // csum_partial + fold over a whole header gives 0 for a valid one
  assert.equal(csumFold(csumPartial(ip, 0, ip.length, 0)), 0);
  assert.equal(csumFrom32To16(0x0001ffff), 0x0001);
  assert.equal(csumFrom32To16(0x12345678), (0x1234 + 0x5678) & 0xffff);
});

const spec = (type: number, keySize: number, valueSize: number, maxEntries: number): MapSpec => ({
  name: 'm',
  type,
  keySize,
  valueSize,
  maxEntries,
  flags: 0,
  pinning: 'none',
  contents: [],
  frozen: false,
  section: '.maps',
  btfKeyTypeId: 0,
  btfValueTypeId: 0,
});
const opts = { cpus: 2, handle: 1, isProgram: () => false, isMap: () => false };

test('map creation refuses what the kernel refuses', () => {
  assert.throws(() => createMap(spec(MapType.ARRAY, 8, 4, 4), opts), MapError);
  assert.throws(() => createMap(spec(MapType.HASH, 4, 4, 0), opts), MapError);
  assert.throws(() => createMap(spec(MapType.RINGBUF, 0, 0, 3000), opts), MapError);
  assert.throws(() => createMap(spec(MapType.LPM_TRIE, 4, 4, 4), opts), MapError);
  assert.throws(() => createMap(spec(MapType.STACK_TRACE, 4, 8, 4), opts), /does not model stack_trace maps/);
  const perf = createMap(spec(MapType.PERF_EVENT_ARRAY, 4, 4, 0), opts);
  assert.equal(perf.maxEntries, 2, 'a perf event array of size 0 gets one slot per CPU');
});

test('prog arrays take only handles of programs, only with BPF_ANY', () => {
  const m = createMap(spec(MapType.PROG_ARRAY, 4, 4, 2), { ...opts, isProgram: (h) => h === 7 });
  const k = new Uint8Array(4);
  assert.throws(
    () => m.update(k, new Uint8Array([8, 0, 0, 0])),
    (e: unknown) => e instanceof MapError && e.errno === 'EBADF',
  );
  assert.throws(
    () => m.update(k, new Uint8Array([7, 0, 0, 0]), 1),
    (e: unknown) => e instanceof MapError && e.errno === 'EINVAL',
  );
  m.update(k, new Uint8Array([7, 0, 0, 0]));
  assert.deepEqual([...m.lookup(k)!], [7, 0, 0, 0]);
  assert.throws(
    () => m.update(new Uint8Array([2, 0, 0, 0]), new Uint8Array([7, 0, 0, 0])),
    (e: unknown) => e instanceof MapError && e.errno === 'E2BIG',
  );
  assert.equal(m.delete(k), true);
  assert.equal(m.delete(k), false);
});

test("map_flags the kernel refuses for the map's type are refused, and BPF_F_RDONLY/WRONLY, which the VM does not model", () => {
  const flagged = (type: number, k: number, v: number, flags: number) => ({ ...spec(type, k, v, 4), flags });
  const refusal = (s: MapSpec) => {
    try {
      createMap(s, opts);
    } catch (e) {
      assert.ok(e instanceof MapError);
      return e.message;
    }
    return 'created';
  };
  // before: each of these was created, and the flag ignored
  assert.match(
    refusal(flagged(MapType.HASH, 4, 8, 1 << 10)),
    /EINVAL \(map_flags 0x400 are not valid for a hash map\)/,
  );
  assert.match(refusal(flagged(MapType.PERCPU_ARRAY, 4, 8, 1 << 2)), /map_flags 0x4 are not valid/);
  assert.match(refusal(flagged(MapType.HASH, 4, 8, 1 << 20)), /map_flags 0x100000 are not valid/);
  assert.match(refusal(flagged(MapType.LPM_TRIE, 8, 8, 0)), /needs BPF_F_NO_PREALLOC/);
  assert.match(refusal(flagged(MapType.ARRAY, 4, 8, (1 << 7) | (1 << 8))), /exclude each other/);
  assert.match(refusal(flagged(MapType.ARRAY, 4, 8, 1 << 3)), /EOPNOTSUPP \(the VM does not model BPF_F_RDONLY /);
  assert.match(refusal(flagged(MapType.HASH, 4, 8, 1 << 4)), /does not model BPF_F_WRONLY /);
  // what the VM honours or what changes nothing it models
  for (const [type, k, v, flags] of [
    [MapType.ARRAY, 4, 8, (1 << 10) | (1 << 7)], // .rodata: mmapable, read-only for programs
    [MapType.HASH, 4, 8, 1 | (1 << 6)], // no prealloc, zero seed
    [MapType.LRU_HASH, 4, 8, 1 << 1], // no common LRU
    [MapType.LPM_TRIE, 8, 8, 1],
    [MapType.PERF_EVENT_ARRAY, 4, 4, 1 << 11], // preserve elements
  ])
    assert.equal(refusal(flagged(type!, k!, v!, flags!)), 'created', `type ${type} flags 0x${flags!.toString(16)}`);
});
