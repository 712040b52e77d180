// VmProgram.frameWindow: frames a capture loop placed in the program's window (in the 'wasm' engine's
// linear memory) run where they lie — each run must read that frame's bytes and nothing else, as a
// copied run does: at the frame's ends, with other frames around it, and after the window was rewritten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { socketSpec } from './support.js';
import { loadVmCollection } from '../../src/vm/collection.js';
import { ENGINES } from '../../src/vm/interpreter.js';

/** A socket filter of `source`. */
function filterOf(source: string, engine: (typeof ENGINES)[number]) {
  return loadVmCollection(socketSpec(source), { cpus: 1, execution: engine }).program('p');
}

// r0 = the byte at `at` (a load past the frame's end ends the run with 0) + the frame's first word
const probe = (at: number) => `mov %r6, %r1\nldabsb ${at}\nmov %r7, %r0\nldabsw 0\nadd %r0, %r7\nexit`;

test('frameWindow: runs on frames in the window read each frame where it lies, its own bytes only', () => {
  for (const at of [0, 3, 38, 39, 40, 41, 100]) {
    const ref = filterOf(probe(at), 'wasm');
    const p = filterOf(probe(at), 'wasm');
    const win = p.frameWindow(4096);
    assert.ok(win !== null, 'the wasm engine gives a window');
    assert.equal(p.frameWindow(1024), win, 'the same window while it is large enough');
    assert.equal(p.frameWindow(8192), null);
    for (let round = 0; round < 3; round++) {
      // frames of 40 bytes side by side (each one's neighbours hold other bytes), rewritten each round
      for (let i = 0; i < win.length; i++) win[i] = (i * 13 + round * 101 + at) & 0xff || 1;
      for (let off = 0; off + 40 <= win.length; off += 40 + round) {
        const frame = win.slice(off, off + 40);
        assert.equal(p.runPacketAt(win, off, 40), ref.run({ data: frame }).retval, `byte ${at} of the frame at ${off}`);
        assert.equal(p.packetChanged(win, off, 40), false);
      }
    }
  }
});

for (const engine of ENGINES.filter((e) => e !== 'wasm'))
  test(`frameWindow (${engine}): no window off the wasm engine`, () => {
    assert.equal(filterOf(probe(0), engine).frameWindow(4096), null);
  });

test('frameWindow: no window for a program that reads the packet through pointers (runPacketAt copies it)', () => {
  const direct =
    'ldxw %r2, [%r1+76]\nldxw %r3, [%r1+80]\nmov %r0, %r2\nadd %r0, 1\njgt %r0, %r3, out\nldxb %r0, [%r2+0]\nout:\nexit';
  assert.equal(filterOf(direct, 'wasm').frameWindow(4096), null);
});
