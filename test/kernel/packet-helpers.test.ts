/**
 * bpf_skb_store_bytes, bpf_l3_csum_replace and bpf_l4_csum_replace in the kernel (BPF_PROG_TEST_RUN on a
 * tc program) and in the VM's wasm engine, which runs them inside its modules (src/vm/wasm
 * skb-store-bytes.ts, csum-replace.ts): the same r0 and the same packet after the run, over frames that
 * put the arguments at the edges (test/vm/packet-helper-cases.ts) — every checksum size and flag, odd and
 * out-of-range offsets, results that come out 0 with and without BPF_F_MARK_MANGLED_0, stores at the
 * packet's end and past it, every store flag, flags and a size-0 `from` with an upper half (u64
 * arguments: -EINVAL).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needs } from '../support/env.js';
import { loadKernelCollection } from '../../src/kernel/collection.js';
import { loadVmCollection } from '../../src/vm/collection.js';
import { csumFrames, csumProgram, kernelStoreProgram, spec, storeFrames } from '../vm/packet-helper-cases.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Each frame's r0 and packet after the run, in the kernel and on wasm; returns the kernel's. */
function agree(t: { diagnostic(s: string): void }, text: string, frames: Uint8Array[]): string[] {
  const kernel = loadKernelCollection(spec(text));
  const vm = loadVmCollection(spec(text), { cpus: 1, execution: 'wasm' });
  const want: string[] = [];
  const got: string[] = [];
  try {
    for (const [i, f] of frames.entries()) {
      const k = kernel.program('p').run({ data: f });
      const v = vm.program('p').run({ data: f });
      want.push(`${i}: ${k.retval.toString(16)} ${hex(k.data)}`);
      got.push(`${i}: ${v.retval.toString(16)} ${hex(v.data)}`);
    }
  } finally {
    kernel.close();
    vm.close();
  }
  assert.deepEqual(got, want);
  const results = new Set(want.map((w) => w.split(' ')[1]));
  t.diagnostic(`${frames.length} frames, results ${[...results].join(' ')}`);
  return want;
}

test('l3/l4_csum_replace: the kernel’s results and packets, on wasm', (t) => {
  if (!needs(t, { root: true })) return;
  for (const [helper, l4] of [
    [10, false],
    [11, true],
  ] as const) {
    const frames = csumFrames(20 + helper, 500, l4);
    const out = agree(t, csumProgram(helper, true), frames);
    // 0 (done), 0x15 (-EINVAL: lo ^ hi), 0xd (-EFAULT)
    for (const r of ['0', '15', 'd'])
      assert.ok(
        out.some((o) => o.split(' ')[1] === r),
        `helper ${helper}: some result ${r}`,
      );
  }
});

test('skb_store_bytes: the kernel’s results and packets, on wasm', (t) => {
  if (!needs(t, { root: true })) return;
  const frames = storeFrames(30, 600, false);
  const out = agree(t, kernelStoreProgram(), frames);
  for (const r of ['0', '15', 'd'])
    assert.ok(
      out.some((o) => o.split(' ')[1] === r),
      `some result ${r}`,
    );
});
