import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilterArgs, parseQdiscArgs, parseClassArgs, TC_ACT } from '../../src/tc/index.js';

test("the man page's filter lines parse into requests", () => {
  const r = parseFilterArgs('add dev em1 parent 1: bpf obj bpf.o sec mycls flowid 1:1'.split(' '));
  assert.equal(r.dev, 'em1');
  assert.equal(r.parent, 0x10000);
  assert.deepEqual(r.source, { kind: 'object', path: 'bpf.o', section: 'mycls' });
  assert.equal(r.classid, 0x10001);
  const d = parseFilterArgs(
    'replace dev v0 ingress prio 5 handle 0x7 protocol ip bpf da obj x.o verbose skip_hw'.split(' '),
  );
  assert.deepEqual(
    [d.verb, d.parent, d.prio, d.handle, d.protocol, d.directAction, d.verbose, d.skipHw],
    ['replace', 0xfffffff2, 5, 7, 0x800, true, true, true],
  );
  const b = parseFilterArgs([
    'add',
    'dev',
    'em1',
    'parent',
    '1:',
    'bpf',
    'bytecode',
    '1,6 0 0 4294967295,',
    'flowid',
    '1:1',
  ]);
  assert.deepEqual(b.source, { kind: 'bytecode', text: '1,6 0 0 4294967295,', where: 'bytecode' });
  const a = parseFilterArgs(
    'add dev em1 parent 1: bpf obj bpf.o flowid 1:1 action bpf obj bpf.o sec action-mark action bpf obj bpf.o sec action-rand ok'.split(
      ' ',
    ),
  );
  assert.deepEqual(a.actions, [
    { source: { kind: 'object', path: 'bpf.o', section: 'action-mark' } },
    { source: { kind: 'object', path: 'bpf.o', section: 'action-rand' }, verdict: TC_ACT.OK },
  ]);
});

test('bad filter lines name the word', () => {
  assert.throws(() => parseFilterArgs('add dev v0 ingress bpf'.split(' ')), /bpf needs obj FILE/);
  assert.throws(() => parseFilterArgs('add dev v0 bpf obj x.o'.split(' ')), /needs ingress, egress/);
  assert.throws(() => parseFilterArgs('add dev v0 ingress bpf obj x.o bogus'.split(' ')), /unknown option 'bogus'/);
  assert.throws(() => parseFilterArgs('add dev v0 ingress bpf obj'.split(' ')), /needs an object file/);
  assert.throws(() => parseFilterArgs('del dev v0 ingress handle 1'.split(' ')), /needs its prio/);
  assert.throws(() => parseFilterArgs('add dev v0 ingress prio 70000 bpf obj x.o'.split(' ')), /prio: '70000'/);
});

test('qdisc and class lines', () => {
  assert.deepEqual(parseQdiscArgs('add dev v0 clsact'.split(' ')), { verb: 'add', dev: 'v0', kind: 'clsact' });
  assert.deepEqual(parseQdiscArgs('add dev em1 handle ffff: ingress'.split(' ')), {
    verb: 'add',
    dev: 'em1',
    handle: 0xffff0000,
    kind: 'ingress',
  });
  const h = parseQdiscArgs('add dev v0 root handle 1: htb default 10'.split(' '));
  assert.equal(h.htbDefault, 0x10);
  assert.throws(() => parseQdiscArgs('add dev v0'.split(' ')), /needs a kind/);
  const c = parseClassArgs('add dev v0 parent 1: classid 1:2 htb rate 1mbit ceil 2mbit'.split(' '));
  assert.deepEqual([c.parent, c.classid, c.rate, c.ceil], [0x10000, 0x10002, 125000, 250000]);
});

test("htb's r2q reaches the request and a default or r2q that is not a number is refused, as tc refuses it", () => {
  // before: r2q was consumed and dropped (the kernel got 10), and 'default zz' became class 0
  const h = parseQdiscArgs('add dev v0 root handle 1: htb default 0x1f r2q 5'.split(' '));
  assert.deepEqual([h.htbDefault, h.htbR2q], [0x1f, 5]);
  assert.throws(
    () => parseQdiscArgs('add dev v0 root htb default zz'.split(' ')),
    /htb default: 'zz' is not a hex number/,
  );
  assert.throws(
    () => parseQdiscArgs('add dev v0 root htb r2q 0x10'.split(' ')),
    /htb r2q: '0x10' is not a decimal number/,
  );
  assert.throws(() => parseQdiscArgs('add dev v0 root htb r2q'.split(' ')), /'r2q' needs a number/);
});

test('action bpf with a second program or verdict is refused, not overridden by the last one', () => {
  const line = (tail: string) => `add dev v0 ingress bpf da obj f.o action bpf ${tail}`.split(' ');
  assert.deepEqual(parseFilterArgs(line('obj a.o pass')).actions, [
    { source: { kind: 'object', path: 'a.o' }, verdict: parseFilterArgs(line('obj a.o pass')).actions[0]!.verdict },
  ]);
  assert.throws(() => parseFilterArgs(line('obj a.o obj b.o')), /action bpf: 'obj' given after another program source/);
  assert.throws(() => parseFilterArgs(line('obj a.o pass drop')), /action bpf: verdict 'drop' given after another one/);
});
