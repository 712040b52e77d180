/**
 * pcap-filter: how long bpfkit takes to compile a 20-term expression (median, in-process) beside how long
 * `tcpdump -d` takes for the same expression (a whole process: libpcap's compile plus start-up, so an
 * upper bound for libpcap), and bpfkit's own `tcp port 80` run on examples/captures/http-demo.pcap by the
 * VM's JIT (converted to eBPF) beside the classic interpreter and beside the kernel running the same
 * program as a tc classifier (BPF_PROG_TEST_RUN's own timing; skipped without root), in ns per packet.
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { compileFilter, filterToEbpf } from '../src/pcap-filter/index.js';
import type { SockFilter } from '../src/cbpf/index.js';
import { encodeProgram } from '../src/isa/codec.js';
import { loadProgram } from '../src/kernel/prog-load.js';
import { closeFd } from '../src/kernel/bpf-syscall.js';
import { TestRunner } from '../src/kernel/test-run.js';
import { ProgType } from '../src/uapi/types.js';
import { convertClassic, prepareClassic, runClassic, writeClassicContext, resolveContext } from '../src/cbpf/index.js';
import { openCapture } from '../src/packet/index.js';
import { Vm, type LdAbsPacket } from '../src/vm/interpreter.js';

const EXPR = Array.from({ length: 20 }, (_, i) => (i % 2 ? `tcp port ${8000 + i}` : `host 10.0.${i}.1`)).join(' or ');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function bench(): Promise<void> {
  const ours: number[] = [];
  for (let i = 0; i < 60; i++) {
    const t = performance.now();
    compileFilter(EXPR);
    ours.push(performance.now() - t);
  }
  const theirs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const r = spawnSync('tcpdump', ['-d', '-y', 'EN10MB', EXPR], { encoding: 'utf8' });
    if (r.error) break;
    theirs.push(performance.now() - t);
  }
  const m = median(ours.slice(10));
  process.stdout.write(`20-term expression (${compileFilter(EXPR).length} instructions):\n`);
  const best = Math.min(...ours);
  process.stdout.write(
    `  bpfkit compileFilter   ${m.toFixed(2).padStart(8)} ms (median; best ${best.toFixed(2)} ms, the figure on a quiet machine)\n`,
  );
  if (theirs.length) {
    const t = median(theirs);
    process.stdout.write(`  tcpdump -d (process)   ${t.toFixed(2).padStart(8)} ms  (bpfkit ${(m / t).toFixed(2)}x)\n`);
  }

  const reader = await openCapture(new URL('../../examples/captures/http-demo.pcap', import.meta.url).pathname);
  const frames = (await reader.readAll()).map((p) => p.data.slice());
  await reader.close();
  const prog = compileFilter('tcp port 80');
  const prepared = prepareClassic(prog);
  const vm = new Vm({ engine: 'jit' });
  const loaded = vm.load(convertClassic(prog), { name: 'tcp80' });
  const addr = vm.memory.map(writeClassicContext(resolveContext(new Uint8Array(0))), { name: 'cbpf context' });
  const opts: { args: number[]; packet: LdAbsPacket } = {
    args: [addr],
    packet: { bytes: frames[0]!, data: 0, end: 0, mac: 0, net: 14 },
  };
  const time = (run: (f: Uint8Array) => number): number => {
    let best = Infinity;
    for (let rep = 0; rep < 5; rep++) {
      const t = performance.now();
      for (let r = 0; r < 200; r++) for (const f of frames) run(f);
      best = Math.min(best, ((performance.now() - t) * 1e6) / (200 * frames.length));
    }
    return best;
  };
  const interp = time((f) => runClassic(prepared, f).retval);
  const jit = time((f) => {
    opts.packet.bytes = f;
    opts.packet.end = f.length;
    return vm.runRetval(loaded, opts);
  });
  process.stdout.write(
    `bpfkit's tcp port 80 (${prog.length} instructions, libpcap's own count: 20) on ${frames.length} frames:\n`,
  );
  process.stdout.write(`  cBPF interpreter       ${interp.toFixed(0).padStart(8)} ns/packet  1.00x\n`);
  process.stdout.write(
    `  VM jit (as eBPF)       ${jit.toFixed(0).padStart(8)} ns/packet  ${(jit / interp).toFixed(2)}x\n`,
  );
  const kernel = kernelNs(prog, frames);
  process.stdout.write(
    typeof kernel === 'number'
      ? `  kernel (tc, test run)  ${kernel.toFixed(0).padStart(8)} ns/packet  ${(kernel / interp).toFixed(2)}x\n`
      : `  kernel (tc, test run)  skipped: ${kernel}\n`,
  );
}

/** The kernel's own time per packet for the filter loaded as SCHED_CLS (BPF_PROG_TEST_RUN, repeated). */
function kernelNs(prog: SockFilter[], frames: Uint8Array[]): number | string {
  let fd: number;
  try {
    fd = loadProgram({
      name: 'pcap_bench',
      type: ProgType.SCHED_CLS,
      insns: encodeProgram(filterToEbpf(prog)),
      license: 'GPL',
    }).fd;
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
  try {
    const runner = new TestRunner('pcap_bench');
    let total = 0;
    let n = 0;
    for (const f of frames) {
      if (f.length <= 14) continue;
      total += runner.run(fd, { data: f, repeat: 2000 }).durationNs;
      n++;
    }
    return total / Math.max(1, n);
  } finally {
    closeFd(fd);
  }
}
