/**
 * pcap-filter: how long bpfkit takes to compile a 20-term expression (median, in-process) beside how long
 * `tcpdump -d` takes for the same expression (a whole process: libpcap's compile plus start-up, so an
 * upper bound for libpcap), and bpfkit's own `tcp port 80` run on examples/captures/http-demo.pcap by the
 * VM's JIT (converted to eBPF), the classic interpreter and the program compiled to JavaScript
 * (compileClassicToJs, what `pcap filter`, `run --filter` and `urls FILE --filter` use) beside the kernel
 * running the same program as a tc classifier (BPF_PROG_TEST_RUN's own timing; skipped without root) and
 * beside libpcap (tcpdump -r IN -w OUT on the frames repeated into a large file, against bpfkit's
 * `pcap filter` doing the same work), in ns per packet.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { filterRecords } from '../src/cli/commands/pcap-filter.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileFilter, filterToEbpf } from '../src/pcap-filter/index.js';
import type { ClassicJsFilter, SockFilter } from '../src/cbpf/index.js';
import { encodeProgram } from '../src/isa/codec.js';
import { loadProgram } from '../src/kernel/prog-load.js';
import { closeFd } from '../src/kernel/bpf-syscall.js';
import { TestRunner } from '../src/kernel/test-run.js';
import { ProgType } from '../src/uapi/types.js';
import {
  compileClassicToJs,
  convertClassic,
  prepareClassic,
  runClassic,
  writeClassicContext,
  resolveContext,
} from '../src/cbpf/index.js';
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
  const compiled = compileClassicToJs(prog);
  const js = time((f) => compiled(f));
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
  process.stdout.write(
    `  compiled to JavaScript ${js.toFixed(1).padStart(8)} ns/packet  ${(js / interp).toFixed(2)}x\n`,
  );
  const kernel = kernelNs(prog, frames);
  process.stdout.write(
    typeof kernel === 'number'
      ? `  kernel (tc, test run)  ${kernel.toFixed(0).padStart(8)} ns/packet  ${(kernel / interp).toFixed(2)}x\n`
      : `  kernel (tc, test run)  skipped: ${kernel}\n`,
  );
  const whole = wholeFileNs('tcp port 80', frames);
  process.stdout.write(
    typeof whole === 'string'
      ? `whole file: skipped: ${whole}\n`
      : `whole file, ${whole.records} records (read, filter, write the kept ones):\n` +
          `  tcpdump -r IN -w OUT    ${whole.tcpdump.toFixed(0).padStart(7)} ns/packet  1.00x\n` +
          `  bpfkit pcap filter      ${whole.bpfkit.toFixed(0).padStart(7)} ns/packet  ${(whole.bpfkit / whole.tcpdump).toFixed(2)}x\n`,
  );
}

/**
 * libpcap beside bpfkit on a whole file: `tcpdump -r IN -w OUT EXPR` (a process; best of 3) against
 * bpfkit's `pcap filter` work in-process (read, filter with the JavaScript-compiled program, write),
 * on the frames repeated into a 200,000-record pcap. tcpdump's figure includes its start-up (a few ms).
 */
function wholeFileNs(
  expr: string,
  frames: Uint8Array[],
): { tcpdump: number; bpfkit: number; records: number } | string {
  const records = 200_000;
  const parts: Buffer[] = [];
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(1, 20);
  parts.push(head);
  for (let i = 0; i < records; i++) {
    const f = frames[i % frames.length]!;
    const rec = Buffer.alloc(16 + f.length);
    rec.writeUInt32LE(i, 0);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    rec.set(f, 16);
    parts.push(rec);
  }
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-bench-pcap-${process.pid}-`));
  try {
    const file = join(dir, 'big.pcap');
    const out = join(dir, 'out.pcap');
    writeFileSync(file, Buffer.concat(parts));
    let tcpdump = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const r = spawnSync('tcpdump', ['-r', file, '-w', out, expr], { encoding: 'utf8' });
      if (r.error || r.status !== 0) return 'tcpdump did not run';
      tcpdump = Math.min(tcpdump, performance.now() - t);
    }
    let bpfkit = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const programs = new Map<number, ClassicJsFilter>();
      const filterFor = (lt: number): ClassicJsFilter => {
        let p = programs.get(lt);
        if (!p) programs.set(lt, (p = compileClassicToJs(compileFilter(expr, { linktype: lt }))));
        return p;
      };
      writeFileSync(out, filterRecords(readFileSync(file), file, filterFor).out);
      bpfkit = Math.min(bpfkit, performance.now() - t);
    }
    return { tcpdump: (tcpdump * 1e6) / records, bpfkit: (bpfkit * 1e6) / records, records };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
