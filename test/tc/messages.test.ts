import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeBpfFilter,
  decodeFilter,
  encodeFilterKey,
  clsactParent,
  parseHandle,
  formatHandle,
  formatFilter,
  encodeQdisc,
  decodeQdisc,
  hookQdisc,
  encodeHtbClass,
  parseRate,
  xmitTicks,
  formatQdisc,
  TCA,
  TCA_BPF,
  TCA_ACT,
  TCA_ACT_BPF,
  TC_ACT,
  TC_H,
  TCA_HTB,
  writeBpfActions,
  isMissingActBpf,
  ACT_BPF_MISSING,
  encodeXdpAttach,
  decodeXdpState,
  XDP_FLAGS,
} from '../../src/tc/index.js';
import { AttrWriter, parseAttrs, parseAttrList, attrU32, cString } from '../../src/kernel/netlink/codec.js';

const tcmsg = (b: Uint8Array) => {
  const dv = new DataView(b.buffer, b.byteOffset, 20);
  return {
    ifindex: dv.getInt32(4, true),
    handle: dv.getUint32(8, true),
    parent: dv.getUint32(12, true),
    info: dv.getUint32(16, true),
  };
};

test('handles read and print as tc does', () => {
  assert.equal(parseHandle('1:'), 0x10000);
  assert.equal(parseHandle('1:10'), 0x10010);
  assert.equal(parseHandle('ffff:fff1'), TC_H.INGRESS);
  assert.equal(parseHandle('root'), TC_H.ROOT);
  assert.equal(clsactParent('ingress'), 0xfffffff2);
  assert.equal(clsactParent('egress'), 0xfffffff3);
  assert.deepEqual([0x10000, 0x10002, 5, TC_H.ROOT, 0].map(formatHandle), ['1:', '1:2', ':5', 'root', 'none']);
  assert.throws(() => parseHandle('1:2:3', 'classid'), /classid: '1:2:3' is not a tc handle/);
});

test('an eBPF filter message: tcmsg, kind, fd, name, classid, direct-action, skip_sw', () => {
  const b = encodeBpfFilter({
    ifindex: 4,
    parent: clsactParent('egress'),
    prio: 5,
    handle: 7,
    protocol: 0x0800,
    program: { kind: 'ebpf', fd: 9, label: 'bpf.o:[mycls]' },
    classid: 0x10002,
    directAction: true,
    skipSw: true,
  });
  assert.deepEqual(tcmsg(b), { ifindex: 4, handle: 7, parent: 0xfffffff3, info: (5 << 16) | 0x0008 });
  const a = parseAttrs(b.subarray(20));
  assert.equal(cString(a.get(TCA.KIND)!), 'bpf');
  const o = parseAttrs(a.get(TCA.OPTIONS)!);
  assert.equal(attrU32(o.get(TCA_BPF.FD)), 9);
  assert.equal(cString(o.get(TCA_BPF.NAME)!), 'bpf.o:[mycls]');
  assert.equal(attrU32(o.get(TCA_BPF.CLASSID)), 0x10002);
  assert.equal(attrU32(o.get(TCA_BPF.FLAGS)), 1);
  assert.equal(attrU32(o.get(TCA_BPF.FLAGS_GEN)), 2);
});

test('a classic filter carries OPS_LEN and the 8-byte instructions; decode gives them back', () => {
  const insns = [
    { code: 0x28, jt: 0, jf: 0, k: 12 },
    { code: 0x06, jt: 0, jf: 0, k: 0xffffffff },
  ];
  const b = encodeBpfFilter({ ifindex: 1, parent: 0x10000, program: { kind: 'classic', insns }, classid: 0x10001 });
  const o = parseAttrs(parseAttrs(b.subarray(20)).get(TCA.OPTIONS)!);
  assert.equal(new DataView(o.get(TCA_BPF.OPS_LEN)!.buffer, o.get(TCA_BPF.OPS_LEN)!.byteOffset).getUint16(0, true), 2);
  assert.equal(o.get(TCA_BPF.OPS)!.length, 16);
  const e = decodeFilter(b);
  assert.deepEqual(e.ops, insns);
  assert.equal(e.kind, 'bpf');
  assert.equal(e.protocol, 3);
  assert.equal(
    formatFilter({ ...e, chain: 0, handle: 1, genFlags: 8 }, { parent: 0x10000 }),
    "filter protocol all pref 0 bpf chain 0 handle 0x1 flowid 1:1 not_in_hw bytecode '2,40 0 0 12,6 0 0 4294967295'\n",
  );
});

test("show text: the head line and the filter line match iproute2's words", () => {
  const head = {
    ifindex: 2,
    parent: 0xfffffff2,
    handle: 0,
    prio: 49152,
    protocol: 3,
    kind: 'bpf',
    chain: 0,
    hasOptions: false,
  };
  assert.equal(formatFilter(head, { parent: 0xfffffff2 }), 'filter protocol all pref 49152 bpf chain 0 \n');
  assert.equal(
    formatFilter({ ...head, parent: 0x10000 }, {}),
    'filter parent 1: protocol all pref 49152 bpf chain 0 \n',
  );
  const f = {
    ...head,
    handle: 1,
    hasOptions: true,
    name: 'x.o:[classifier]',
    directAction: true,
    genFlags: 8,
    progId: 42,
    tag: 'f03f3c893109830e',
  };
  assert.equal(
    formatFilter(f, { parent: 0xfffffff2 }, () => ({ name: 'cls_main', jited: true })),
    'filter protocol all pref 49152 bpf chain 0 handle 0x1 x.o:[classifier] direct-action not_in_hw id 42 name cls_main tag f03f3c893109830e jited \n',
  );
});

test('delete keys: prio and protocol only when given', () => {
  assert.equal(tcmsg(encodeFilterKey({ ifindex: 3, parent: 0xfffffff2 })).info, 0);
  assert.equal(tcmsg(encodeFilterKey({ ifindex: 3, parent: 0xfffffff2, prio: 5 })).info, 5 << 16);
});

test('act_bpf nests: kind bpf, parms with the verdict, fd and name', () => {
  const w = new AttrWriter().begin(TCA_BPF.ACT);
  writeBpfActions(w, [
    { program: { kind: 'ebpf', fd: 11, label: 'bpf.o:[action-mark]' } },
    { program: { kind: 'classic', insns: [{ code: 6, jt: 0, jf: 0, k: 0 }] }, verdict: TC_ACT.OK },
  ]);
  const acts = parseAttrList(parseAttrs(w.end().bytes()).get(TCA_BPF.ACT)!);
  assert.deepEqual(
    acts.map(([n]) => n),
    [1, 2],
  );
  const verdictOf = (a: Uint8Array) => {
    const o = parseAttrs(parseAttrs(a).get(TCA_ACT.OPTIONS)!);
    const p = o.get(TCA_ACT_BPF.PARMS)!;
    return { o, verdict: new DataView(p.buffer, p.byteOffset, 20).getInt32(8, true) };
  };
  assert.equal(cString(parseAttrs(acts[0]![1]).get(TCA_ACT.KIND)!), 'bpf');
  const first = verdictOf(acts[0]![1]);
  assert.equal(first.verdict, TC_ACT.PIPE);
  assert.equal(attrU32(first.o.get(TCA_ACT_BPF.FD)), 11);
  assert.equal(cString(first.o.get(TCA_ACT_BPF.NAME)!), 'bpf.o:[action-mark]');
  const second = verdictOf(acts[1]![1]);
  assert.equal(second.verdict, TC_ACT.OK);
  assert.equal(second.o.get(TCA_ACT_BPF.OPS)!.length, 8);
});

test('a kernel without act_bpf is recognised by its sentence or errno, and said in one line', () => {
  assert.equal(isMissingActBpf('ENOENT', 'Failed to load TC action module.'), true);
  assert.equal(isMissingActBpf('EOPNOTSUPP', undefined), true);
  assert.equal(isMissingActBpf('EEXIST', 'Filter already exists.'), false);
  assert.match(ACT_BPF_MISSING, /not supported by this kernel \(CONFIG_NET_ACT_BPF\)/);
});

test('qdiscs: clsact at ffff: under ffff:fff1, HTB with its glob, decode and print', () => {
  const c = encodeQdisc(hookQdisc(3, 'clsact'));
  assert.deepEqual(tcmsg(c), { ifindex: 3, handle: 0xffff0000, parent: 0xfffffff1, info: 0 });
  const h = encodeQdisc({ ifindex: 3, kind: 'htb', parent: TC_H.ROOT, handle: 0x10000, htbDefault: 0x10 });
  const opts = parseAttrs(parseAttrs(h.subarray(20)).get(TCA.OPTIONS)!);
  const glob = new DataView(opts.get(TCA_HTB.INIT)!.buffer, opts.get(TCA_HTB.INIT)!.byteOffset, 20);
  assert.deepEqual([glob.getUint32(0, true), glob.getUint32(4, true), glob.getUint32(8, true)], [3, 10, 0x10]);
  const q = decodeQdisc(h);
  assert.equal(q.kind, 'htb');
  assert.equal(
    formatQdisc({ ...q, refcnt: 3 }),
    'qdisc htb 1: root refcnt 3 r2q 10 default 0x10 direct_packets_stat 0\n',
  );
  assert.equal(formatQdisc(decodeQdisc(c)), 'qdisc clsact ffff: parent ffff:fff1 \n');
});

test('HTB class: rates in bytes/s, burst as psched ticks (1mbit, 1600 bytes -> 200000 ticks as tc)', () => {
  assert.equal(parseRate('1mbit'), 125000);
  assert.equal(parseRate('10mbps'), 10e6);
  assert.throws(() => parseRate('fast'), /not a rate/);
  assert.equal(xmitTicks(125000, 1600), 200000);
  const b = encodeHtbClass({ ifindex: 3, parent: 0x10000, classid: 0x10002, rate: 125000 });
  assert.deepEqual(tcmsg(b), { ifindex: 3, handle: 0x10002, parent: 0x10000, info: 0 });
  const parms = parseAttrs(parseAttrs(b.subarray(20)).get(TCA.OPTIONS)!).get(TCA_HTB.PARMS)!;
  const dv = new DataView(parms.buffer, parms.byteOffset, 44);
  assert.deepEqual(
    [dv.getUint8(1), dv.getUint32(8, true), dv.getUint32(20, true), dv.getUint32(24, true), dv.getUint32(28, true)],
    [1, 125000, 125000, 200000, 200000],
  );
});

test('XDP attach message: ifinfomsg then IFLA_XDP { fd, flags }; a link without IFLA_XDP has none attached', () => {
  const b = encodeXdpAttach(7, 12, XDP_FLAGS.SKB_MODE);
  assert.equal(new DataView(b.buffer).getInt32(4, true), 7);
  const xdp = parseAttrs(parseAttrs(b.subarray(16)).get(43)!);
  assert.equal(new DataView(xdp.get(1)!.buffer, xdp.get(1)!.byteOffset, 4).getInt32(0, true), 12);
  assert.equal(attrU32(xdp.get(3)), 2);
  const off = parseAttrs(parseAttrs(encodeXdpAttach(7, -1, 0).subarray(16)).get(43)!);
  assert.equal(new DataView(off.get(1)!.buffer, off.get(1)!.byteOffset, 4).getInt32(0, true), -1);
  assert.equal(off.has(3), false);
  assert.deepEqual(decodeXdpState(new Uint8Array(16)), { attached: 'none', progId: 0 });
});

test("HTB's r2q goes into tc_htb_glob.rate2quantum (10 when not given, as tc)", () => {
  const glob = (h: Uint8Array) => {
    const opts = parseAttrs(parseAttrs(h.subarray(20)).get(TCA.OPTIONS)!);
    const b = opts.get(TCA_HTB.INIT)!;
    return new DataView(b.buffer, b.byteOffset, 20).getUint32(4, true);
  };
  assert.equal(glob(encodeQdisc({ ifindex: 3, kind: 'htb', parent: TC_H.ROOT, handle: 0x10000, htbR2q: 5 })), 5);
  assert.equal(glob(encodeQdisc({ ifindex: 3, kind: 'htb', parent: TC_H.ROOT, handle: 0x10000 })), 10);
});
