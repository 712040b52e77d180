// VmProgram.runPacket (the per-packet entry `bpfkit urls` uses) gives run()'s retvals and map effects, and
// a packet resized in place keeps faulting past its end in the compiled engine's region caches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repoPath } from '../support/env.js';
import { asm, socketSpec } from './support.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { loadVmCollection } from '../../src/vm/collection.js';
import { ENGINES, Vm } from '../../src/vm/interpreter.js';
import { PacketBuffer } from '../../src/vm/contexts/packet-buffer.js';
import { VmError } from '../../src/vm/vm-error.js';
import { readsPacketOnlyByLdAbs } from '../../src/vm/packet-access.js';
import { assignPcs, makeInsn, type Instruction } from '../../src/isa/index.js';
import { ProgType } from '../../src/uapi/types.js';
import { eth, frames, ipv4, tcp } from '../programs/packets.js';

const text = (s: string) => new TextEncoder().encode(s);

/** Frames the full URL filter decides differently on: HTTP both ways, other TCP, non-TCP, and every truncation of one. */
function sample(): Uint8Array[] {
  const req = eth(
    0x0800,
    ipv4(6, tcp(40000, 80, text('GET /a HTTP/1.1\r\nHost: x\r\n\r\n')), [10, 0, 0, 1], [10, 0, 0, 2]),
  );
  const resp = eth(0x0800, ipv4(6, tcp(80, 40000, text('HTTP/1.1 200 OK\r\n\r\n')), [10, 0, 0, 2], [10, 0, 0, 1]));
  const fin = eth(0x0800, ipv4(6, tcp(40000, 80, new Uint8Array(0), 0x11), [10, 0, 0, 1], [10, 0, 0, 2]));
  const other = eth(0x0800, ipv4(6, tcp(5000, 9000, text('binary data')), [10, 0, 0, 3], [10, 0, 0, 4]));
  const out = [req, resp, other, frames.udpDns(), frames.arp(), frames.icmp(), frames.https(), resp, fin, req];
  for (let n = 0; n <= req.length; n++) out.push(req.subarray(0, n));
  return out;
}

for (const engine of ENGINES) {
  test(`runPacket (${engine}) returns run()'s retval and leaves the same map entries, packet after packet`, () => {
    const path = repoPath('src', 'apps', 'http', 'bpf', 'http_filter_full.o');
    const spec = loadObjectFile(path);
    const viaRun = loadVmCollection(spec, { cpus: 1, execution: engine });
    const viaPacket = loadVmCollection(spec, { cpus: 1, execution: engine });
    const a = viaRun.program('http_filter');
    const b = viaPacket.program('http_filter');
    let kept = 0;
    for (const [i, f] of sample().entries()) {
      const want = a.run({ data: f }).retval;
      assert.equal(b.runPacket(f), want, `frame ${i} (${f.length} bytes)`);
      if (want !== 0) kept++;
    }
    assert.ok(kept > 5, 'the sample exercises the keep path');
    const keys = (c: typeof viaRun) => [...c.map('sessions').keys()].map((k) => Buffer.from(k).toString('hex')).sort();
    assert.deepEqual(keys(viaPacket), keys(viaRun));
    assert.ok(keys(viaRun).length > 0, 'the filter tracked a session');
    // run() still works after runPacket on the same program (shared packet buffer and context).
    assert.equal(b.run({ data: sample()[0]! }).retval, a.run({ data: sample()[0]! }).retval);
  });

  test(`runPacketAt (${engine}) runs the URL filters on frames where they lie: same retvals, same maps, never a neighbour's byte`, () => {
    for (const name of ['http_filter_v1.o', 'http_filter_v2.o', 'http_filter_full.o']) {
      const spec = loadObjectFile(repoPath('src', 'apps', 'http', 'bpf', name));
      const viaRun = loadVmCollection(spec, { cpus: 1, execution: engine });
      const inPlace = loadVmCollection(spec, { cpus: 1, execution: engine });
      const a = viaRun.program('http_filter');
      const b = inPlace.program('http_filter');
      // Every frame inside one buffer, between bytes that would make a filter keep it if it read them
      // (an HTTP request's own bytes): a truncated frame must stay truncated.
      const filler = text('GET / HTTP/1.1\r\n');
      for (const [i, f] of sample().entries()) {
        const buf = new Uint8Array(filler.length + f.length + filler.length);
        buf.set(filler);
        buf.set(f, filler.length);
        buf.set(filler, filler.length + f.length);
        assert.equal(
          b.runPacketAt(buf, filler.length, f.length),
          a.run({ data: f }).retval,
          `${name} frame ${i} (${f.length} bytes)`,
        );
      }
      const keys = (c: typeof viaRun) =>
        [...(c.map('sessions')?.keys() ?? [])].map((k) => Buffer.from(k).toString('hex')).sort();
      if (name !== 'http_filter_v1.o') assert.deepEqual(keys(inPlace), keys(viaRun));
    }
  });

  test(`runPacketAt (${engine}) copies the frame for programs that look at the packet or context another way`, () => {
    // proto-count reads skb->len from its context and adds to a map value through a pointer: it runs on
    // a copy, and its counters come out as run()'s do.
    const spec = loadObjectFile(repoPath('examples', 'proto-count', 'proto-count.o'));
    const c = loadVmCollection(spec, { cpus: 1, execution: engine });
    const ref = loadVmCollection(spec, { cpus: 1, execution: engine });
    for (const f of sample()) {
      const buf = new Uint8Array(f.length + 8).fill(0xee);
      buf.set(f, 4);
      assert.equal(
        c.program('count_protocols').runPacketAt(buf, 4, f.length),
        ref.program('count_protocols').run({ data: f }).retval,
      );
    }
    const dump = (x: typeof c) =>
      [...x.map('proto_stats').entries()].map(
        ([k, v]) => Buffer.from(k).toString('hex') + Buffer.from(v).toString('hex'),
      );
    assert.deepEqual(dump(c), dump(ref));
  });

  test(`packet resized in place (${engine}): cached accesses fault past the new end, other caches survive`, () => {
    const vm = new Vm({ engine });
    const pb = new PacketBuffer(new Uint8Array(0));
    pb.mapInto(vm.memory);
    const ctx = new Uint8Array(8);
    const ctxAddr = vm.memory.map(ctx, { name: 'ctx' });
    // r0 = ctx[0] + packet[100] (r1 = ctx, r2 = packet data)
    const p = vm.load(asm('ldxb %r3, [%r1+0]\nldxb %r0, [%r2+100]\nadd %r0, %r3\nexit'));
    const big = new Uint8Array(200).map((_, i) => i);
    const small = new Uint8Array(50).fill(7);
    ctx[0] = 1;
    const run = () => vm.run(p, { args: [ctxAddr, pb.addr(pb.data)], packet: pb }).r0;
    pb.reset(big);
    const epoch = vm.memory.epoch;
    assert.equal(run(), 101n);
    pb.reset(small);
    assert.throws(run, (e: unknown) => e instanceof VmError && /runs past the end of region 'packet'/.test(e.message));
    pb.reset(big.map((v) => v ^ 0xff));
    ctx[0] = 2;
    assert.equal(run(), BigInt((100 ^ 0xff) + 2));
    assert.equal(vm.memory.epoch, epoch, 'a new packet in the same buffer does not change the memory layout');
    // A packet larger than the buffer moves it: still read correctly.
    const huge = new Uint8Array(9000).fill(3);
    pb.reset(huge);
    assert.equal(run(), 5n);
    pb.reset(small);
    assert.throws(run, (e: unknown) => e instanceof VmError && /runs past the end of region 'packet'/.test(e.message));
  });
}

test('which programs may run on a frame in place: packet loads, stack accesses and packet-blind helpers only', () => {
  const vm = new Vm();
  for (const id of [1, 2, 3, 5, 26]) vm.helpers.register(id, `h${id}`, (call) => call.ret(0));
  const ok = (text: string) => readsPacketOnlyByLdAbs(vm.load(asm(text)));
  assert.equal(ok('ldabsh 12\nstxdw [%r10-8], %r0\nldxdw %r0, [%r10-8]\ncall 5\nexit'), true);
  assert.equal(ok('ldindb %r1, 14\nmov %r2, %r10\nadd %r2, -8\ncall 1\nexit'), true);
  assert.equal(ok('ldxw %r0, [%r1+76]\nexit'), false, 'skb->data from the context');
  assert.equal(ok('mov %r2, %r10\nldxdw %r0, [%r2-8]\nexit'), false, 'a load through a copy of r10');
  assert.equal(ok('stw [%r1+0], 1\nmov %r0, 0\nexit'), false, 'a store through the context');
  assert.equal(ok('call 26\nexit'), false, 'skb_load_bytes reads the packet buffer');
  assert.equal(ok('mov %r2, 5\ncall %r2\nexit'), false, 'callx: which helper runs is only known at run time');
  // The URL filters have the classic shape.
  for (const name of ['http_filter_v1.o', 'http_filter_v2.o', 'http_filter_full.o']) {
    const spec = loadObjectFile(repoPath('src', 'apps', 'http', 'bpf', name));
    assert.equal(readsPacketOnlyByLdAbs(loadVmCollection(spec).program('http_filter').loaded), true, name);
  }
});

/** xorshift32, for a replayable fuzz. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

/**
 * A random loop-free socket filter of the in-place shape: ALU on r0-r9, LD_ABS/LD_IND at offsets in and
 * out of small frames (SKF_NET_OFF / SKF_LL_OFF ones too), loads and stores on the stack through r10,
 * prandom and the CPU id, forward conditional jumps.
 */
function inPlaceProgram(r: () => number): Instruction[] {
  const insns: Instruction[] = [];
  const n = 8 + (r() % 30);
  const reg = () => r() % 10;
  const pick = <T>(xs: T[]) => xs[r() % xs.length]!;
  for (let i = 0; i < n; i++) {
    const k = r() % 10;
    if (k < 3) {
      const code = pick([
        0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x77, 0xa7, 0xaf, 0xbf, 0xb7, 0x04, 0x0c,
        0x14, 0x24, 0x44, 0x54, 0x64, 0x74, 0xa4, 0xb4, 0xbc, 0xc7, 0xcf, 0x37, 0x3f, 0x97, 0x9f, 0x34, 0x94,
      ]);
      insns.push(
        makeInsn({
          code,
          dst: reg(),
          src: (code & 8) !== 0 ? (r() % 6 === 0 ? 10 : reg()) : 0,
          imm: (code & 8) !== 0 ? 0 : pick([0, 1, 3, 14, 255, -1, r() | 0]),
        }),
      );
    } else if (k < 5) {
      const code = pick([0x20, 0x28, 0x30]);
      const imm = pick([r() % 80, r() % 20, -0x100000 + (r() % 40), -0x200000 + (r() % 40), -1, 0x7ffffff0]);
      insns.push(makeInsn({ code, imm }));
    } else if (k < 6) {
      insns.push(makeInsn({ code: pick([0x40, 0x48, 0x50]), src: reg(), imm: pick([0, 2, 12, -14, r() % 60]) }));
    } else if (k < 8) {
      const size = pick([0x00, 0x08, 0x10, 0x18]);
      const off = -8 * (1 + (r() % 64));
      const which = r() % 3;
      if (which === 0) insns.push(makeInsn({ code: 0x61 | size, dst: reg(), src: 10, off }));
      else if (which === 1) insns.push(makeInsn({ code: 0x63 | size, dst: 10, src: reg(), off }));
      else insns.push(makeInsn({ code: 0x62 | size, dst: 10, off, imm: r() | 0 }));
    } else if (k < 9) {
      insns.push(makeInsn({ code: 0x85, imm: pick([7, 8]) }));
    } else {
      const code = pick([0x15, 0x55, 0x25, 0x35, 0xa5, 0x45, 0x16, 0x56, 0x2d, 0x6d, 0x1d, 0x5e]);
      const x = (code & 8) !== 0;
      insns.push(makeInsn({ code, dst: reg(), src: x ? reg() : 0, imm: x ? 0 : pick([0, 1, 8, 0x45]), off: 0 }));
      insns[insns.length - 1]!.off = -1; // fixed below: a forward jump
    }
  }
  insns.push(makeInsn({ code: 0x95 }));
  for (let i = 0; i < insns.length; i++)
    if (insns[i]!.off === -1 && (insns[i]!.code & 7) >= 5) insns[i]!.off = r() % (insns.length - i - 1);
  return assignPcs(insns);
}

for (const engine of ENGINES) {
  test(`runPacketAt (${engine}) in place matches a copied run on random programs and frames`, () => {
    const r = xorshift(90210);
    let inPlace = 0;
    let runs = 0;
    for (let n = 0; n < 300; n++) {
      const insns = inPlaceProgram(r);
      const spec = {
        endian: 'little' as const,
        license: 'GPL',
        kernelVersion: 0,
        maps: [],
        programs: [
          {
            name: 'p',
            section: 'socket',
            type: ProgType.SOCKET_FILTER,
            insns,
            mapRefs: [],
            license: 'GPL',
            kernelVersion: 0,
          },
        ],
      };
      let a;
      let b;
      try {
        a = loadVmCollection(spec, { cpus: 1, execution: engine, host: { randomSeed: 5 } }).program('p');
        b = loadVmCollection(spec, { cpus: 1, execution: engine, host: { randomSeed: 5 } }).program('p');
      } catch (err) {
        assert.ok(err instanceof VmError, String(err));
        continue;
      }
      if (readsPacketOnlyByLdAbs(b.loaded)) inPlace++;
      for (let f = 0; f < 6; f++) {
        const len = r() % 90;
        const frame = Uint8Array.from({ length: len }, () => r() & 0xff);
        const before = r() % 40;
        const buf = Uint8Array.from({ length: before + len + (r() % 40) }, () => r() & 0xff);
        buf.set(frame, before);
        const want = ((): string => {
          try {
            return String(a.run({ data: frame }).retval);
          } catch (err) {
            return (err as Error).message;
          }
        })();
        const got = ((): string => {
          try {
            return String(b.runPacketAt(buf, before, len));
          } catch (err) {
            return (err as Error).message;
          }
        })();
        assert.equal(got, want, `program ${n}, frame ${f} (${len} bytes at ${before})`);
        runs++;
      }
    }
    assert.ok(inPlace > 250, `most programs have the in-place shape (${inPlace})`);
    assert.ok(runs > 1500);
  });
}

for (const engine of ENGINES) {
  test(`runPacketAt32 (${engine}) is runPacketAt's retval as an int32, across the u32 range (a filter's -1 too)`, () => {
    // r0 = the frame's 32-bit word at 14 (LD_ABS: big-endian), so each frame picks its retval
    const load = () => loadVmCollection(socketSpec('ldabsw 14\nexit'), { cpus: 1, execution: engine }).program('p');
    const p = load();
    const copied = load();
    const buf = new Uint8Array(64);
    for (const v of [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x12345678, 0xdeadbeef]) {
      new DataView(buf.buffer).setUint32(3 + 14, v);
      assert.equal(copied.run({ data: buf.subarray(3, 43) }).retval, v);
      assert.equal(p.runPacketAt32(buf, 3, 40), v | 0, `runPacketAt32, retval ${v.toString(16)}`);
      assert.equal(p.runPacketAt(buf, 3, 40), v, `runPacketAt, retval ${v.toString(16)}`);
      assert.equal(p.runPacket(buf.subarray(3, 43)), v, `runPacket, retval ${v.toString(16)}`);
    }
  });
}
