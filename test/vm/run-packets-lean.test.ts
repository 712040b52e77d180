/**
 * The packet loop's lean mode (wasm/packet-loop.ts LEAN): records after one whose run wrote the packet
 * buffer's headroom, the frame or the __sk_buff — by a store of the module's own, or through a helper —
 * must still see a fresh packet buffer and context, exactly as one run() per frame does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureLayout, tcSpec } from './support.js';
import { loadVmCollection, type VmProgram } from '../../src/vm/collection.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { loopStats } from '../../src/vm/wasm/packet-batch.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Folds the headroom's first and last 8 bytes and most __sk_buff fields into r0, then `write` on frames whose first byte & 0x3f is 0x11. */
function program(write: string): string {
  const fields = [0, 4, 8, 16, 20, 24, 28, 32, 44, 48, 52, 68]
    .map((off) => `ldxw %r4, [%r6+${off}]\nmul %r0, 31\nadd %r0, %r4`)
    .join('\n');
  const writes = write.trim().split('\n').length;
  return `
mov %r6, %r1
ldxw %r2, [%r6+76]
ldxw %r3, [%r6+80]
ldxdw %r0, [%r2-8]
ldxdw %r4, [%r2-256]
xor %r0, %r4
${fields}
mov %r5, %r2
add %r5, 1
jgt %r5, %r3, +${writes + 3}
ldxb %r4, [%r2+0]
and %r4, 0x3f
jne %r4, 0x11, +${writes}
${write.trim()}
exit`;
}

/** Stores of the module's own into the packet buffer: the headroom and the frame's first byte. */
const PACKET_STORES = program(`
stw [%r2-4], 0x5a5a
stb [%r2+0], 0x33`);

/** Stores of the module's own into the context: its mark and cb[1]. */
const CONTEXT_STORES = program(`
stw [%r6+8], 7
stw [%r6+52], 9`);

/** A helper that writes the context: skb_vlan_push's accelerated tag. */
const HELPER = program(`
mov %r7, %r0
mov %r1, %r6
mov %r2, 0x0081
mov %r3, 5
call 18
mov %r0, %r7`);

function spec(text: string): ObjectSpec {
  return tcSpec(text);
}

/** Deterministic frames: short ones, host / multicast / other-host destinations, every 40th a writer. */
function frames(n: number): Uint8Array[] {
  let seed = 777;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xffff;
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = i % 17 === 0 ? rnd() % 15 : 14 + (rnd() % 120);
    const f = new Uint8Array(len).map(() => rnd() & 0xff);
    if (len > 0 && (f[0]! & 0x3f) === 0x11) f[0] = 0x12;
    if (len > 0 && i % 40 === 3) f[0] = 0x11;
    if (i % 11 === 0) f.fill(0, 0, Math.min(6, len));
    out.push(f);
  }
  return out;
}

function perFrame(p: VmProgram, fs: Uint8Array[]): string[] {
  return fs.map((f, i) => {
    const r = p.run({ data: f });
    return `${i}: ${r.retval >>> 0} ${hex(r.data) !== hex(f) ? hex(r.data) : '-'}`;
  });
}

function batched(p: VmProgram, fs: Uint8Array[]): string[] {
  const out: string[] = [];
  const { src, offs, lens } = captureLayout(fs);
  // (in windows, as runCapture calls it: lean mode is decided per loop call)
  for (let first = 0; first < fs.length; first += 700) {
    const count = Math.min(700, fs.length - first);
    p.runPackets(src, offs.subarray(first), lens.subarray(first), count, (i, retval, changed) => {
      out.push(`${first + i}: ${retval} ${changed ? hex(p.lastPacket()) : '-'}`);
    });
  }
  return out;
}

function compare(text: string): { changed: number } {
  const fs = frames(3000);
  const want = perFrame(loadVmCollection(spec(text), { execution: 'interpreter', cpus: 1 }).program('p'), fs);
  const got = batched(loadVmCollection(spec(text), { execution: 'wasm', cpus: 1 }).program('p'), fs);
  assert.deepEqual(got, want);
  return { changed: want.filter((e) => !e.endsWith(' -')).length };
}

for (const [what, text] of [
  ['the headroom and the frame', PACKET_STORES],
  ['the context', CONTEXT_STORES],
] as const) {
  test(`runPackets lean: stores into ${what}; the records after them start fresh`, () => {
    const before = { ...loopStats };
    const { changed } = compare(text);
    if (text === PACKET_STORES) assert.ok(changed > 50, `${changed} frames written`);
    // (the first window runs lean, until its first store crosses into JavaScript; then the loop scrubs every record)
    assert.ok(loopStats.lean - before.lean > 0, 'some records ran lean');
    assert.ok(loopStats.records - before.records > 2500, `${loopStats.records - before.records} records in the loop`);
  });
}

test('runPackets lean: a helper that writes the context; the records after it start fresh', () => {
  const before = { ...loopStats };
  compare(HELPER);
  assert.ok(loopStats.lean - before.lean > 2000, `${loopStats.lean - before.lean} records ran lean`);
});

test('runPackets lean: a program that only reads runs every record lean', () => {
  const before = { ...loopStats };
  compare(program('mov %r0, %r0'));
  assert.ok(loopStats.lean - before.lean > 2500, `${loopStats.lean - before.lean} records ran lean`);
});
