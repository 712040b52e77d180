// The URL filters as bpfkit urls loads them: in the VM, full mode's filter runs on capture time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFilterObject } from '../../src/apps/http/filter-engine.js';
import { tcpFrame, SYN, ACK } from '../support/tcp-frames.js';
import { FrameView, frameOf } from '../../src/packet/frame.js';

test('full mode in the VM: bpf_ktime_get_ns reads the capture clock (1 s at the first frame, never going back)', async () => {
  const f = await loadFilterObject('full', 'vm');
  try {
    const full = f.full();
    const t0 = 1_700_000_000.25;
    // Each SYN inserts its session with the time the filter read; the third goes back in time, the clock does not.
    const at = [t0, t0 + 2.5, t0 + 1];
    for (let i = 0; i < at.length; i++) {
      const frame = tcpFrame({ sport: 40001 + i, dport: 80, seq: 1, flags: SYN });
      // (the frame inside a larger buffer, as the capture reader hands it)
      const buf = new Uint8Array(frame.length + 10);
      buf.set(frame, 5);
      assert.equal(full.keep(new FrameView().set(buf, 5, frame.length, 1, at[i]!)), true);
    }
    const sessions = f.sessions!;
    const stamps = [...sessions.keys()]
      .map((k) => Number(Buffer.from(sessions.lookup(k)!).readBigUInt64LE(0)))
      .sort((a, b) => a - b);
    assert.deepEqual(stamps, [1e9, 3.5e9, 3.5e9]);
    const ack = tcpFrame({ sport: 40001, dport: 80, seq: 2, ack: 1, flags: ACK });
    assert.equal(full.keep(frameOf(ack, 1, t0 + 3)), true, 'a tracked session is kept');
    // A frame that does not read the clock still moves it: a SYN after it, stamped earlier, reads its time.
    assert.equal(full.keep(frameOf(ack, 1, t0 + 7.125)), true);
    const syn = tcpFrame({ sport: 40009, dport: 80, seq: 1, flags: SYN });
    assert.equal(full.keep(frameOf(syn, 1, t0 + 4)), true);
    const key = [...sessions.keys()].find(
      (k) => !stamps.includes(Number(Buffer.from(sessions.lookup(k)!).readBigUInt64LE(0))),
    );
    assert.equal(Number(Buffer.from(sessions.lookup(key!)!).readBigUInt64LE(0)), 8.125e9);
  } finally {
    f.close();
  }
});
