// bpf_skb_store_bytes, bpf_l3_csum_replace and bpf_l4_csum_replace inside the wasm engine's modules
// (src/vm/wasm/skb-store-bytes.ts, csum-replace.ts) against the interpreter: results (r0's both halves,
// r1-r5 after the call), packets after the run, skb->hash, instruction counts and faults, for every flag
// combination the helpers know and at the edges of the packet and of the frame — run by run, in the
// repeat loop and in the packet loop (runPackets, frames of varying length one after another).
// Each program reads its arguments from the packet, so one program per helper covers every case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadVmCollection, type VmCollection } from '../../src/vm/collection.js';
import { ENGINES } from '../../src/vm/interpreter.js';
import { VmError } from '../../src/vm/vm-error.js';
import { SKB_SIZE } from '../../src/vm/contexts/skb.js';
import { skbStoreBytes } from '../../src/vm/helpers/packet-helpers.js';
import { MEM_TOUCHED } from '../../src/vm/wasm/repeat-loop.js';
import {
  csumFrames,
  csumProgram,
  frame,
  LOAD_PROGRAM,
  loadFrames,
  rng,
  spec,
  storeFrames,
  storeProgram,
} from './packet-helper-cases.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A __sk_buff passed in, with a hash for BPF_F_INVALIDATE_HASH to clear. */
const CTX = new Uint8Array(SKB_SIZE);
new DataView(CTX.buffer).setUint32(68, 0x5eed1234, true);

/** One run of `f` (with the hash-carrying context when `ctx`), repeated `repeat` times: what it gave. */
function outcome(c: VmCollection, f: Uint8Array, ctx: boolean, repeat = 1): string {
  try {
    const r = c.program('p').run({ data: f, repeat, ...(ctx ? { ctx: CTX } : {}) });
    return `${r.retval.toString(16)} in ${r.instructions}: ${hex(r.data)}`;
  } catch (err) {
    if (!(err instanceof VmError)) throw err;
    return `${err.kind} at ${err.pc}: ${err.message}`;
  }
}

/** Every engine's outcomes of every frame (run, with the context, repeated) are the interpreter's. */
function agree(text: string, frames: Uint8Array[]): string[] {
  let reference: string[] | undefined;
  for (const engine of ['interpreter', ...ENGINES.filter((e) => e !== 'interpreter')] as const) {
    const c = loadVmCollection(spec(text), { cpus: 1, execution: engine });
    const got = frames.flatMap((f, i) => [
      `${i}: ${outcome(c, f, false)}`,
      `${i} ctx: ${outcome(c, f, true)}`,
      `${i} x3: ${outcome(c, f, i % 2 === 0, 3)}`,
    ]);
    c.close();
    if (reference === undefined) reference = got;
    else assert.deepEqual(got, reference, `${engine} differs from the interpreter`);
  }
  return reference!;
}

/** runPackets on 'wasm' over `frames` (laid out in one buffer) reports what run() per frame gives on the interpreter. */
function agreeBatched(text: string, frames: Uint8Array[]): void {
  const a = loadVmCollection(spec(text), { cpus: 1, execution: 'interpreter' });
  const want = frames.map((f, i) => {
    const r = a.program('p').run({ data: f });
    return `${i}: ${r.retval >>> 0} ${hex(r.data) !== hex(f) ? hex(r.data) : '-'}`;
  });
  a.close();
  const offs = new Int32Array(frames.length);
  const lens = new Int32Array(frames.length);
  let at = 8;
  for (const [i, f] of frames.entries()) {
    offs[i] = at;
    lens[i] = f.length;
    at += f.length + 8;
  }
  const src = new Uint8Array(at);
  for (const [i, f] of frames.entries()) src.set(f, offs[i]);
  const b = loadVmCollection(spec(text), { cpus: 1, execution: 'wasm' });
  const p = b.program('p');
  const got: string[] = [];
  // (twice: the first call compiles the program and runs its first frame alone)
  for (let round = 0; round < 2; round++) {
    got.length = 0;
    p.runPackets(src, offs, lens, frames.length, (i, retval, changed) => {
      got.push(`${i}: ${retval} ${changed ? hex(p.lastPacket()) : '-'}`);
    });
  }
  b.close();
  assert.deepEqual(got, want);
}

/** The kinds of outcome: r0's low 16 bits in hex (0, 15 for -EINVAL, d for -EFAULT) or the fault's kind. */
function kinds(out: string[]): Set<string> {
  return new Set(
    out.map((o) => {
      const [first, second] = o.slice(o.indexOf(': ') + 2).split(' ');
      return second === 'in' ? (parseInt(first!, 16) & 0xffff).toString(16) : first!;
    }),
  );
}

test('wasm l3_csum_replace: every size and flag, offsets at the packet’s edges, as the interpreter', () => {
  const out = agree(csumProgram(10), csumFrames(1, 400, false));
  // 0 (done), 0x15 (-EINVAL: lo ^ hi), 0xd (-EFAULT)
  for (const k of ['0', '15', 'd']) assert.ok(kinds(out).has(k), `some result ${k}`);
});

test('wasm l4_csum_replace: every size, BPF_F_PSEUDO_HDR, MARK_MANGLED_0, MARK_ENFORCE, IPV6, as the interpreter', () => {
  const frames = csumFrames(2, 600, true);
  const out = agree(csumProgram(11), frames);
  for (const k of ['0', '15', 'd']) assert.ok(kinds(out).has(k), `some result ${k}`);
  // some run wrote CSUM_MANGLED_0 (0xffff) where the sum came out 0
  const mangled = frames.some((f, i) => {
    const line = out[3 * i]!;
    const after = line.slice(line.lastIndexOf(' ') + 1);
    const off = new DataView(f.buffer).getUint32(0, true);
    return (
      (f[24]! & 0x20) !== 0 &&
      off + 2 <= f.length &&
      after.slice(2 * off, 2 * off + 4) === 'ffff' &&
      hex(f).slice(2 * off, 2 * off + 4) !== 'ffff'
    );
  });
  assert.ok(mangled, 'some result was marked mangled');
});

test('wasm skb_store_bytes: offsets, lengths, flags and sources at every edge, as the interpreter', () => {
  const out = agree(storeProgram(), storeFrames(3, 500, true));
  const k = kinds(out);
  for (const r of ['0', '15', 'd']) assert.ok(k.has(r), `some result ${r}`);
  assert.ok(
    [...k].some((x) => !/^[0-9a-f]+$/.test(x)),
    `some run faulted: ${[...k].join(' ')}`,
  );
});

test('wasm packet helpers in the packet loop: frames of every length one after another, as run() per frame', () => {
  agreeBatched(csumProgram(10), csumFrames(4, 600, false));
  agreeBatched(csumProgram(11), csumFrames(5, 600, true));
  agreeBatched(storeProgram(), storeFrames(6, 600, false));
  // (the packet's length comes from the LD_ABS mirror the loop rewrites per record, for skb_load_bytes too)
  agreeBatched(LOAD_PROGRAM, loadFrames(7, 600));
});

/** Whether a run of `f` with `repeat` on 'wasm' called into JavaScript (the repeat loop's MEM_TOUCHED cell). */
function touched(c: VmCollection, f: Uint8Array): boolean {
  c.program('p').run({ data: f, repeat: 4 });
  const cells = (c.vm as unknown as { st: { wasm: { cells: Int32Array } } }).st.wasm.cells;
  return cells[MEM_TOUCHED >> 2] !== 0;
}

test('wasm packet helpers: the common cases never leave the module; a host’s own helper is called', () => {
  const store = (flags: number, n = 2, kind = 0, src = -8) => {
    const f = frame(rng(9), 60, [
      [40, 0],
      [n, 0],
      [flags, 0],
    ]);
    new DataView(f.buffer).setInt32(24, src, true);
    new DataView(f.buffer).setUint32(28, kind, true);
    return f;
  };
  const c = loadVmCollection(spec(storeProgram()), { cpus: 1, execution: 'wasm' });
  assert.equal(touched(c, store(0)), false, 'store_bytes from the stack');
  assert.equal(touched(c, store(1, 63)), false, 'with BPF_F_RECOMPUTE_CSUM');
  assert.equal(touched(c, store(4)), false, '-EINVAL');
  assert.equal(touched(c, store(2)), true, 'BPF_F_INVALIDATE_HASH goes to the helper');
  assert.equal(touched(c, store(0, 2, 1, 0)), true, 'a source in the packet goes to the helper');
  // a host's own function under the number: called, whatever the module could do
  let calls = 0;
  c.vm.helpers.register(9, 'skb_store_bytes', (call) => {
    calls++;
    skbStoreBytes(call);
  });
  assert.equal(touched(c, store(0)), true);
  assert.ok(calls > 0);
  c.close();
  for (const [helper, flags] of [
    [10, 2],
    [10, 4],
    [11, 0x12],
    [11, 0x64],
  ] as const) {
    const l = loadVmCollection(spec(csumProgram(helper)), { cpus: 1, execution: 'wasm' });
    const f = frame(rng(10), 60, [
      [40, 0],
      [0x1234, 0],
      [0x4321, 0],
      [flags, 0],
    ]);
    assert.equal(touched(l, f), false, `helper ${helper} flags ${flags}`);
    l.close();
  }
});
