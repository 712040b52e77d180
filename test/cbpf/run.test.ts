// The interpreter's semantics by hand, then: for seeded random programs the kernel accepts, over random
// packets and contexts, the interpreter and the converted eBPF program (in both of the VM's engines)
// return the same value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ancillaryK,
  checkClassic,
  convertClassic,
  prepareClassic,
  resolveContext,
  runClassic,
  writeClassicContext,
  SKF_LL_OFF,
  SKF_NET_OFF,
  type ClassicContext,
  type SockFilter,
} from '../../src/cbpf/index.js';
import { ENGINES, Vm } from '../../src/vm/interpreter.js';
import { InputError } from '../../src/util/errors.js';
import { randomPacket, randomProgram, rng } from './random-programs.js';

const s = (code: number, k = 0, jt = 0, jf = 0): SockFilter => ({ code, jt, jf, k: k >>> 0 });
const run = (prog: SockFilter[], p: Uint8Array, ctx?: ClassicContext) =>
  runClassic(prepareClassic(prog), p, ctx).retval;
const bytes = (...b: number[]) => Uint8Array.from(b);

test('runClassic: loads, out-of-bounds loads drop, division by X = 0 drops, A is 32-bit', () => {
  const p = bytes(1, 2, 3, 4, 5, 6);
  assert.equal(run([s(0x20, 0), s(0x16)], p), 0x01020304, 'ld [0]');
  assert.equal(run([s(0x28, 4), s(0x16)], p), 0x0506, 'ldh [4]');
  assert.equal(run([s(0x28, 5), s(0x06, 9)], p), 0, 'ldh [5] is past the end: return 0');
  assert.equal(run([s(0x01, 2), s(0x50, 1), s(0x16)], p), 4, 'ldb [x + 1]');
  assert.equal(run([s(0x01, 0xffffffff), s(0x50, 2), s(0x16)], p), 2, 'x + k wraps to 1');
  assert.equal(run([s(0xb1, 0), s(0x87), s(0x16)], p), 4, 'ldx 4*([0]&0xf); txa');
  assert.equal(run([s(0x00, 7), s(0x3c), s(0x06, 9)], p), 0, 'div x with x = 0 returns 0');
  assert.equal(run([s(0x00, 7), s(0x9c), s(0x06, 9)], p), 0, 'mod x with x = 0 returns 0');
  assert.equal(run([s(0x00, 0xffffffff), s(0x04, 2), s(0x16)], p), 1, 'add wraps at 32 bits');
  assert.equal(run([s(0x00, 1), s(0x01, 33), s(0x6c), s(0x16)], p), 2, 'lsh x uses x & 31');
  assert.equal(run([s(0x00, 5), s(0x84), s(0x16)], p), 0xfffffffb, 'neg');
  assert.equal(run([s(0x80), s(0x16)], p, { len: 1500 }), 1500, 'ld #len is skb->len');
  assert.equal(run([s(0x00, 0x90000000), s(0x25, 0x80000000, 0, 1), s(0x06, 1), s(0x06, 2)], p), 1, 'jgt is unsigned');
});

test('runClassic: SKF_NET_OFF / SKF_LL_OFF bases and ancillary fields from the context', () => {
  const p = bytes(0xaa, 0xbb, 0xcc, 0xdd);
  assert.equal(run([s(0x30, SKF_NET_OFF + 1), s(0x16)], p, { netOffset: 2 }), 0xdd);
  assert.equal(run([s(0x30, SKF_LL_OFF + 0), s(0x16)], p, { macOffset: 1 }), 0xbb);
  assert.equal(run([s(0x30, SKF_NET_OFF + 2), s(0x06, 9)], p, { netOffset: 2 }), 0, 'past the end');
  const anc = (name: Parameters<typeof ancillaryK>[0], ctx: ClassicContext) =>
    run([s(0x20, ancillaryK(name)), s(0x16)], p, ctx);
  assert.equal(anc('MARK', { mark: 77 }), 77);
  assert.equal(anc('IFINDEX', { ifindex: 3 }), 3);
  assert.equal(anc('PROTOCOL', { protocol: 0x86dd }), 0x86dd);
  assert.equal(anc('VLAN_TAG_PRESENT', { vlanPresent: true }), 1);
  assert.equal(anc('RANDOM', { random: 42 }), 42);
  assert.equal(run([s(0x00, 6), s(0x01, 3), s(0x20, ancillaryK('ALU_XOR_X')), s(0x16)], p), 5, 'A ^= X');
  // A netlink message body: attributes {len 8, type 1}, {len 8, type 2}; NLATTR finds type 2 at offset 8.
  const nl = bytes(8, 0, 1, 0, 0, 0, 0, 0, 8, 0, 2, 0, 0, 0, 0, 0);
  assert.equal(run([s(0x01, 2), s(0x00, 0), s(0x20, ancillaryK('NLATTR')), s(0x16)], nl), 8);
  assert.equal(run([s(0x01, 5), s(0x00, 0), s(0x20, ancillaryK('NLATTR')), s(0x16)], nl), 0);
});

test('prepareClassic and convertClassic refuse what the kernel refuses, naming rule and instruction', () => {
  assert.throws(
    () => prepareClassic([s(0x00, 1)]),
    (e: unknown) => e instanceof InputError && /instruction 0: .*\(last-not-ret\)/.test(e.message),
  );
  assert.throws(() => convertClassic([s(0x60, 2), s(0x06)]), /instruction 0: M\[2\] is read before/);
});

/** The converted program's retval in the VM for one packet. */
function vmRetval(vm: Vm, prog: ReturnType<Vm['load']>, p: Uint8Array, ctx: ClassicContext): number {
  const c = resolveContext(p, ctx);
  const block = writeClassicContext(c);
  const addr = vm.memory.map(block, { name: 'cbpf context', writable: false });
  try {
    return vm.run(prog, {
      args: [addr],
      packet: { bytes: p, data: 0, end: p.length, mac: c.macOffset, net: c.netOffset },
    }).retval;
  } finally {
    vm.memory.unmap(addr);
  }
}

function randomContext(r: () => number): ClassicContext {
  const u = () => Math.floor(r() * 0x100000000);
  return {
    mark: u(),
    ifindex: u() & 0xff,
    pktType: u() & 7,
    rxhash: u(),
    queue: u() & 0xffff,
    cpu: u() & 3,
    hatype: 1,
    vlanTci: u() & 0xffff,
    vlanPresent: r() < 0.5,
    vlanTpid: 0x8100,
    payOffset: u() & 0x7f,
    random: u(),
    netOffset: r() < 0.8 ? 14 : Math.floor(r() * 20),
    len: r() < 0.8 ? undefined : u() & 0xffff,
  };
}

for (const engine of ENGINES) {
  test(`converted programs (${engine}) return what the interpreter returns: 1500 random accepted programs × 8 packets`, () => {
    const r = rng(0xc0ffee ^ engine.length);
    const vm = new Vm({ engine: engine });
    let programs = 0;
    let kept = 0;
    let runs = 0;
    while (programs < 1500) {
      const prog = randomProgram(r, 32);
      if (checkClassic(prog) !== undefined) continue;
      let ebpf;
      try {
        ebpf = convertClassic(prog);
      } catch (e) {
        if (e instanceof InputError && /netlink helper/.test(e.message)) continue;
        throw e;
      }
      programs++;
      const prepared = prepareClassic(prog);
      const loaded = vm.load(ebpf, { name: `cbpf${programs}` });
      for (let n = 0; n < 8; n++) {
        const p = randomPacket(r);
        const ctx = randomContext(r);
        const want = runClassic(prepared, p, ctx).retval;
        const got = vmRetval(vm, loaded, p, ctx);
        assert.equal(
          got,
          want,
          `program ${JSON.stringify(prog)} on ${Buffer.from(p).toString('hex')} ctx ${JSON.stringify(ctx)}`,
        );
        runs++;
        if (want !== 0) kept++;
      }
    }
    assert.ok(kept > runs / 10 && kept < runs, `${kept} of ${runs} runs keep the packet`);
  });
}
