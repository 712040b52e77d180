// compileClassicToJs against the interpreter: the hand-written edge cases, seeded random programs the
// kernel accepts on random packets and contexts, and every compiled expression of the pcap-filter test
// list on the synthetic frames; the looped form (many jump targets) gives the same answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  ancillaryK,
  checkClassic,
  classicJsSource,
  compileClassicToJs,
  prepareClassic,
  runClassic,
  SKF_NET_OFF,
  type ClassicContext,
  type SockFilter,
} from '../../src/cbpf/index.js';
import { compileFilter } from '../../src/pcap-filter/index.js';
import { InputError } from '../../src/util/errors.js';
import { repoPath } from '../support/env.js';
import { ethernetFrames } from '../pcap-filter/frames.js';
import { randomPacket, randomProgram, rng } from './random-programs.js';

const s = (code: number, k = 0, jt = 0, jf = 0): SockFilter => ({ code, jt, jf, k: k >>> 0 });
const js = (prog: SockFilter[], p: Uint8Array, ctx?: ClassicContext) => compileClassicToJs(prog)(p, undefined, ctx);
const bytes = (...b: number[]) => Uint8Array.from(b);

test('compileClassicToJs: loads, out-of-bounds loads and division by zero return 0, A is 32-bit', () => {
  const p = bytes(1, 2, 3, 4, 5, 6);
  assert.equal(js([s(0x20, 0), s(0x16)], p), 0x01020304, 'ld [0]');
  assert.equal(js([s(0x20, 0), s(0x16)], bytes(0xff, 0xff, 0xff, 0xfe)), 0xfffffffe, 'ld is unsigned');
  assert.equal(js([s(0x28, 5), s(0x06, 9)], p), 0, 'ldh [5] is past the end');
  assert.equal(js([s(0x01, 0xffffffff), s(0x50, 2), s(0x16)], p), 2, 'x + k wraps to 1');
  assert.equal(js([s(0x00, 7), s(0x3c), s(0x06, 9)], p), 0, 'div x with x = 0');
  assert.equal(js([s(0x00, 7), s(0x9c), s(0x06, 9)], p), 0, 'mod x with x = 0');
  assert.equal(js([s(0x00, 0xffffffff), s(0x04, 2), s(0x16)], p), 1, 'add wraps');
  assert.equal(js([s(0x00, 0xffffffff), s(0x34, 7), s(0x16)], p), 613566756, 'unsigned division');
  assert.equal(js([s(0x00, 5), s(0x84), s(0x16)], p), 0xfffffffb, 'neg');
  assert.equal(compileClassicToJs([s(0x80), s(0x16)])(p, 1500), 1500, 'ld #len is the length given');
  assert.equal(js([s(0x00, 0x90000000), s(0x25, 0x80000000, 0, 1), s(0x06, 1), s(0x06, 2)], p), 1, 'jgt unsigned');
  assert.equal(js([s(0x30, SKF_NET_OFF + 1), s(0x16)], bytes(0xaa, 0xbb, 0xcc, 0xdd), { netOffset: 2 }), 0xdd);
  assert.equal(js([s(0x20, ancillaryK('MARK')), s(0x16)], p, { mark: 77 }), 77);
  assert.equal(js([s(0x02, 3), s(0x00, 9), s(0x60, 3), s(0x16)], p), 0, 'M[3] = A then A = M[3]');
});

test('compileClassicToJs refuses what the checker refuses, naming the instruction', () => {
  assert.throws(
    () => compileClassicToJs([s(0x00, 1)], 'f.bpf'),
    (e: unknown) => e instanceof InputError && /instruction 0: .*\(last-not-ret\)/.test(e.message),
  );
});

function randomContext(r: () => number): ClassicContext {
  const u = () => Math.floor(r() * 0x100000000);
  return {
    mark: u(),
    ifindex: u() & 0xff,
    pktType: u() & 7,
    rxhash: u(),
    queue: u() & 0xffff,
    cpu: u() & 3,
    vlanTci: u() & 0xffff,
    vlanPresent: r() < 0.5,
    vlanTpid: 0x8100,
    payOffset: u() & 0x7f,
    random: u(),
    netOffset: r() < 0.8 ? 14 : Math.floor(r() * 20),
    len: r() < 0.8 ? undefined : u() & 0xffff,
  };
}

test('compiled JavaScript returns what the interpreter returns: 3000 random accepted programs × 8 packets', () => {
  const r = rng(0x15c0de);
  let programs = 0;
  let kept = 0;
  while (programs < 3000) {
    const prog = randomProgram(r, 40);
    if (checkClassic(prog) !== undefined) continue;
    programs++;
    const prepared = prepareClassic(prog);
    const f = compileClassicToJs(prog);
    const looped = compileClassicToJs(prog, undefined, { loop: true });
    for (let n = 0; n < 8; n++) {
      const p = randomPacket(r);
      const ctx = randomContext(r);
      const want = runClassic(prepared, p, ctx).retval;
      const got = f(p, undefined, ctx);
      if (got !== want) {
        assert.fail(
          `program ${JSON.stringify(prog)} on ${Buffer.from(p).toString('hex')}: js ${got}, interpreter ${want}\n${classicJsSource(prog)}`,
        );
      }
      assert.equal(looped(p, undefined, ctx), want, `looped form of ${JSON.stringify(prog)}`);
      if (want !== 0) kept++;
    }
  }
  assert.ok(kept > 1000, `only ${kept} runs kept the packet: the programs exercise too little`);
});

test('every expression of the test list, compiled to JavaScript, keeps what the interpreter keeps', () => {
  const text = readFileSync(repoPath('test', 'pcap-filter', 'expressions.txt'), 'utf8');
  let section = '';
  const exprs: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\[(\w+)\]$/.exec(line);
    if (m) section = m[1]!;
    else if (section === 'EN10MB' && line.trim() && !line.startsWith('#')) exprs.push(line);
  }
  const frames = ethernetFrames().map((f) => ({ data: new Uint8Array(f.data), len: f.wireLen ?? f.data.length }));
  let compiled = 0;
  for (const expr of exprs) {
    for (const optimize of [true, false]) {
      let prog: SockFilter[];
      try {
        prog = compileFilter(expr, { optimize });
      } catch {
        continue; // refused expressions are the verdict test's business
      }
      compiled++;
      // (protochain's backward jumps run as tcpdump -r runs them: loops allowed)
      const prepared = prepareClassic(prog, undefined, { loops: true });
      const f = compileClassicToJs(prog, undefined, { loops: true });
      for (const [i, fr] of frames.entries()) {
        const want = runClassic(prepared, fr.data, { len: fr.len }).retval;
        assert.equal(f(fr.data, fr.len), want, `${expr} (optimize ${optimize}) frame ${i}`);
      }
    }
  }
  assert.ok(compiled > 300, `only ${compiled} programs compiled`);
});

test('a program with more jump targets than nest comfortably runs as a loop, with the same answers', () => {
  // ldb [0]; then 600 × (jeq #i, jt 0, jf 1; ret #i+1): each jf skips a return, 600 distinct targets.
  const prog: SockFilter[] = [s(0x30, 0)];
  for (let i = 0; i < 600; i++) prog.push(s(0x15, i, 0, 1), s(0x06, i + 1));
  prog.push(s(0x06, 0));
  assert.match(classicJsSource(prog), /switch \(pc\)/);
  const prepared = prepareClassic(prog);
  const f = compileClassicToJs(prog);
  for (let v = 0; v < 256; v++) {
    const p = bytes(v, 1, 2);
    assert.equal(f(p), runClassic(prepared, p).retval);
    assert.equal(f(p), v + 1);
  }
  assert.equal(f(bytes()), 0, 'empty packet: the load is out of bounds');
});

test('compileClassicToJs: libpcap shifts and protochain loops, as the interpreter with loops and tcpdump -r run them', () => {
  const p = bytes(1, 2, 3, 4);
  // A = 1, X = 40: the kernel shifts by 40 & 31 = 8; libpcap's userspace filter gives 0.
  const shl = [s(0x00, 1), s(0x01, 40), s(0x6c), s(0x16)];
  assert.equal(compileClassicToJs(shl)(p), 256, 'kernel rule: low five bits of X');
  assert.equal(compileClassicToJs(shl, undefined, { shifts: 'libpcap' })(p), 0, 'libpcap rule: 0');
  const shr = [s(0x00, 0x80000000), s(0x01, 33), s(0x7c), s(0x16)];
  assert.equal(compileClassicToJs(shr)(p), 0x40000000, 'kernel rule for rsh');
  assert.equal(compileClassicToJs(shr, undefined, { shifts: 'libpcap' })(p), 0, 'libpcap rule for rsh');
  // A backward ja: refused without loops (as the kernel refuses it), run with a budget with loops.
  const spin = [s(0x00, 0), s(0x04, 1), s(0x15, 10, 1, 0), s(0x05, -3 >>> 0), s(0x16)];
  assert.throws(() => compileClassicToJs(spin), InputError);
  assert.equal(compileClassicToJs(spin, undefined, { loops: true })(p), 10, 'counts to 10 through the loop');
  const forever = [s(0x00, 0), s(0x05, -2 >>> 0), s(0x06, 1)];
  assert.equal(compileClassicToJs(forever, undefined, { loops: true })(p), 0, 'the jump budget rejects');
  // protochain as compiled for Ethernet: the compiled form agrees with the interpreter on every frame.
  for (const expr of ['ip6 protochain 6', 'protochain 17', 'ip protochain 51']) {
    const prog = compileFilter(expr);
    const compiled = compileClassicToJs(prog, undefined, { loops: true });
    const prepared = prepareClassic(prog, undefined, { loops: true });
    for (const { data } of ethernetFrames()) {
      const frame = new Uint8Array(data);
      assert.equal(compiled(frame), runClassic(prepared, frame).retval, `${expr} on a ${frame.length}-byte frame`);
    }
  }
});
