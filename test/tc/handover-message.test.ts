/**
 * The map hand-over's bytes (iproute2's struct bpf_map_aux) without a socket: offsets, the split into
 * datagrams of 64, the round trip, refusals of foreign datagrams, and the importer's environment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeHandover,
  decodeHandover,
  handoverEnv,
  HANDOVER_HEADER_SIZE,
  ELF_MAP_SIZE,
  type ElfMapDef,
} from '../../src/tc/index.js';

const def = (id: number): ElfMapDef => ({
  type: 2,
  keySize: 4,
  valueSize: 8,
  maxEntries: 256,
  flags: 1,
  id,
  pinning: 2,
  innerId: 0,
  innerIdx: 0,
});

test('one map: version, count, name, object identity and the nine u32s at iproute2 offsets', () => {
  const [d, ...more] = encodeHandover({ objName: 'bpf.o', dev: 0x803n, ino: 1234567n }, [def(7)]);
  assert.equal(more.length, 0);
  assert.equal(d!.length, HANDOVER_HEADER_SIZE + ELF_MAP_SIZE);
  const v = new DataView(d!.buffer);
  assert.equal(v.getUint16(0, true), 1, 'uds_ver');
  assert.equal(v.getUint16(2, true), 1, 'num_ent');
  assert.equal(Buffer.from(d!.subarray(4, 9)).toString(), 'bpf.o');
  assert.equal(d![9], 0, 'obj_name is NUL-terminated');
  assert.equal(v.getBigUint64(72, true), 0x803n, 'obj_st.st_dev');
  assert.equal(v.getBigUint64(80, true), 1234567n, 'obj_st.st_ino');
  const ent = [...Array(9).keys()].map((i) => v.getUint32(88 + 4 * i, true));
  assert.deepEqual(ent, [2, 4, 8, 256, 1, 7, 2, 0, 0]);
});

test('70 maps take two datagrams (64 + 6), each announcing all 70; decoding gives them back in order', () => {
  const maps = [...Array(70).keys()].map((i) => def(i));
  const parts = encodeHandover({ objName: 'x'.repeat(100), dev: 1n, ino: 2n }, maps);
  assert.deepEqual(
    parts.map((p) => p.length),
    [HANDOVER_HEADER_SIZE + 64 * ELF_MAP_SIZE, HANDOVER_HEADER_SIZE + 6 * ELF_MAP_SIZE],
  );
  const a = decodeHandover(parts[0]!, 64);
  const b = decodeHandover(parts[1]!, 6);
  assert.equal(a.header.total, 70);
  assert.equal(a.header.objName, 'x'.repeat(63), 'the name is cut to fit char[64] with its NUL');
  assert.deepEqual([...a.maps, ...b.maps], maps);
});

test('foreign datagrams are refused in one line', () => {
  const [d] = encodeHandover({ objName: 'o', dev: 0n, ino: 0n }, [def(1)]);
  assert.throws(() => decodeHandover(d!.subarray(0, 40), 1), /shorter than its 88-byte header/);
  assert.throws(() => decodeHandover(d!, 2), /has 2 fds but entries for only 1/);
  const bad = d!.slice();
  bad[0] = 9;
  assert.throws(() => decodeHandover(bad, 1), /hand-over version 9, expected 1/);
});

test("the importer's environment: BPF_NUM_MAPS and BPF_MAP<id> = fd", () => {
  assert.deepEqual(
    handoverEnv([
      { id: 1, fd: 3 },
      { id: 0, fd: 4 },
    ]),
    { BPF_NUM_MAPS: '2', BPF_MAP1: '3', BPF_MAP0: '4' },
  );
});
