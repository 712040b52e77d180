// runPacketAt on the 'wasm' engine copies frames of up to IN_PLACE_SCRATCH bytes into linear memory
// (so LD_ABS/LD_IND stay in the module): what a run reads must still be the frame's own bytes and
// nothing else — at the size limit, just past it, and after a larger frame left its bytes there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { socketSpec } from './support.js';
import { repoPath } from '../support/env.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { IN_PLACE_SCRATCH, loadVmCollection } from '../../src/vm/collection.js';
import { ENGINES } from '../../src/vm/interpreter.js';
import { eth, ipv4, tcp } from '../programs/packets.js';

/** A socket filter of `source` (LD_ABS/LD_IND only: the in-place shape), on `engine`. */
function filterOf(source: string, engine: (typeof ENGINES)[number]) {
  return loadVmCollection(socketSpec(source), { cpus: 1, execution: engine }).program('p');
}

/** `len` bytes, byte i = (i * 7 + seed) & 0xff, set inside a buffer of 0xee bytes at offset 3. */
function framed(len: number, seed: number): { buf: Uint8Array; frame: Uint8Array } {
  const frame = Uint8Array.from({ length: len }, (_, i) => (i * 7 + seed) & 0xff || 1);
  const buf = new Uint8Array(len + 9).fill(0xee);
  buf.set(frame, 3);
  return { buf, frame };
}

for (const engine of ENGINES) {
  test(`runPacketAt (${engine}) reads the frame's own bytes at and around the copy limit, never a stale or neighbouring one`, () => {
    const L = IN_PLACE_SCRATCH;
    // r0 = the byte at `at` (a load past the end ends the run with 0), plus the word at 0
    const probe = (at: number) => `mov %r6, %r1\nldabsb ${at}\nmov %r7, %r0\nldabsw 0\nadd %r0, %r7\nexit`;
    for (const at of [L - 2, L - 1, L, L + 1, 20]) {
      const ref = filterOf(probe(at), engine);
      const p = filterOf(probe(at), engine);
      // a large frame first (its bytes fill the copy area), then frames around the limit, then a small one
      for (const [k, len] of [L + 1, L, L - 1, L + 2, 40, L, 21].entries()) {
        const { buf, frame } = framed(len, k + at);
        const want = ref.run({ data: frame }).retval;
        assert.equal(p.runPacketAt(buf, 3, len), want, `byte ${at} of a ${len}-byte frame`);
        assert.equal(p.packetChanged(buf, 3, len), false);
        assert.deepEqual(p.lastPacket(), frame, `lastPacket of a ${len}-byte frame`);
      }
    }
  });

  test(`runPacketAt (${engine}) on the full URL filter: frames of every size give run()'s verdicts and sessions`, () => {
    const spec = loadObjectFile(repoPath('src', 'apps', 'http', 'bpf', 'http_filter_full.o'));
    const runColl = loadVmCollection(spec, { cpus: 1, execution: engine });
    const inPlaceColl = loadVmCollection(spec, { cpus: 1, execution: engine });
    const viaRun = runColl.program('http_filter');
    const inPlace = inPlaceColl.program('http_filter');
    let kept = 0;
    for (const size of [0, 1, 17, 600, IN_PLACE_SCRATCH - 54, IN_PLACE_SCRATCH - 40, 9000]) {
      for (const [i, port] of [80, 9000, 9001].entries()) {
        const payload = new TextEncoder().encode('GET / HTTP/1.1\r\n'.padEnd(size, 'x').slice(0, size));
        const f = eth(0x0800, ipv4(6, tcp(40000 + i, port, payload), [10, 0, 0, 1], [10, 0, 0, 2]));
        const buf = new Uint8Array(f.length + 64).fill(0x47);
        buf.set(f, 32);
        const want = viaRun.run({ data: f }).retval;
        assert.equal(inPlace.runPacketAt(buf, 32, f.length), want, `${f.length}-byte frame to port ${port}`);
        if (want !== 0) kept++;
      }
    }
    assert.ok(kept > 10);
    const keys = (c: typeof runColl) => [...c.map('sessions').keys()].map((k) => Buffer.from(k).toString('hex')).sort();
    assert.deepEqual(keys(inPlaceColl), keys(runColl));
    assert.ok(keys(runColl).length > 0);
  });
}
