import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttrWriter,
  parseAttrs,
  parseAttrList,
  encodeMessage,
  splitMessages,
  parseAck,
  parseDone,
  NLMSG_ERROR,
  NLMSG_DONE,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLA_F_NESTED,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  attrU32,
  cString,
} from '../../src/kernel/netlink/codec.js';

test('attributes: u32, string, nests; lengths exclude the final padding and types keep the nest bit', () => {
  const bytes = new AttrWriter().u32(3, 0x10002).begin(2).string(7, 'a.o').u16(4, 9).end().bytes();
  // u32: 8 bytes; nest: 4 + string (4 + 4 "a.o\0") + u16 (4 + 2, padded to 8) = 20
  assert.equal(bytes.length, 8 + 20);
  assert.deepEqual([...bytes.subarray(8, 12)], [20, 0, 2, NLA_F_NESTED >> 8]);
  const top = parseAttrs(bytes);
  assert.equal(attrU32(top.get(3)), 0x10002);
  const inner = parseAttrList(top.get(2)!);
  assert.deepEqual(
    inner.map(([t]) => t),
    [7, 4],
  );
  assert.equal(cString(inner[0]![1]), 'a.o');
  assert.equal(inner[1]![1].length, 2);
});

test('a nest left open and an oversized attribute are refused', () => {
  assert.throws(() => new AttrWriter().begin(1).bytes(), /still open/);
  assert.throws(() => new AttrWriter().attr(1, new Uint8Array(70000)), /does not fit 16 bits/);
});

test('messages: header fields survive encode and split; a lying length is an error', () => {
  const a = encodeMessage(44, 0x605, 7, new Uint8Array([1, 2, 3]));
  const b = encodeMessage(3, 2, 7, new Uint8Array(4));
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  const ms = splitMessages(both);
  assert.deepEqual(
    ms.map((m) => [m.type, m.flags, m.seq, m.payload.length]),
    [
      [44, 0x605, 7, 3],
      [3, 2, 7, 4],
    ],
  );
  const bad = a.slice();
  bad[0] = 200;
  assert.throws(() => splitMessages(bad), /claims 200 bytes/);
});

test('extended ACK: the kernel sentence and offset are read after a capped echo', () => {
  const tlvs = new AttrWriter().string(NLMSGERR_ATTR_MSG, 'Filter already exists.').u32(NLMSGERR_ATTR_OFFS, 36).bytes();
  const payload = new Uint8Array(4 + 16 + tlvs.length);
  const dv = new DataView(payload.buffer);
  dv.setInt32(0, -17, true); // -EEXIST
  dv.setUint32(4, 64, true); // the echoed header's length (ignored: capped)
  payload.set(tlvs, 20);
  const ack = parseAck({ type: NLMSG_ERROR, flags: NLM_F_ACK_TLVS | NLM_F_CAPPED, seq: 1, pid: 0, payload });
  assert.deepEqual(ack, { errno: 17, message: 'Filter already exists.', offset: 36 });
  assert.deepEqual(parseAck({ type: NLMSG_ERROR, flags: 0, seq: 1, pid: 0, payload: new Uint8Array(20) }), {
    errno: 0,
  });
});

test("NLMSG_DONE carries the dump's own error (and its sentence), which ends the dump as a failure", () => {
  const ok = new Uint8Array(4);
  assert.deepEqual(parseDone({ type: NLMSG_DONE, flags: 0, seq: 1, pid: 0, payload: ok }), { errno: 0 });
  const tlvs = new AttrWriter().string(NLMSGERR_ATTR_MSG, 'Dump failed.').bytes();
  const payload = new Uint8Array(4 + tlvs.length);
  new DataView(payload.buffer).setInt32(0, -90, true); // -EMSGSIZE
  payload.set(tlvs, 4);
  assert.deepEqual(parseDone({ type: NLMSG_DONE, flags: NLM_F_ACK_TLVS, seq: 1, pid: 0, payload }), {
    errno: 90,
    message: 'Dump failed.',
  });
  // Old kernels' DONE may be empty.
  assert.deepEqual(parseDone({ type: NLMSG_DONE, flags: 0, seq: 1, pid: 0, payload: new Uint8Array(0) }), { errno: 0 });
});
