/**
 * pcap-filter: how long bpfkit takes to compile a 20-term expression (median, in-process) beside how long
 * `tcpdump -d` takes for the same expression (a whole process: libpcap's compile plus start-up, so an
 * upper bound for libpcap), and bpfkit's own `tcp port 80` run on examples/captures/http-demo.pcap by the
 * VM's JIT (converted to eBPF), the classic interpreter and the program compiled to JavaScript
 * (compileClassicToJs, what `pcap filter`, `run --filter` and `urls FILE --filter` use) beside the kernel
 * running the same program as a tc classifier (BPF_PROG_TEST_RUN's own timing; skipped without root) and
 * beside libpcap (tcpdump -r IN -w OUT on the frames repeated into a large file, against bpfkit's
 * `pcap filter` doing the same work, both as processes), in ns per packet.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { filterCaptureFile } from '../src/packet/filter-capture.js';
import { filterProgramsFor } from '../src/packet/record-filter.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileFilter, filterToEbpf } from '../src/pcap-filter/index.js';
import type { SockFilter } from '../src/cbpf/index.js';
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
    return vm.runRetval32(loaded, opts) >>> 0;
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
  const whole = await wholeFile('tcp port 80', frames);
  if (typeof whole === 'string') process.stdout.write(`whole file: skipped: ${whole}\n`);
  else {
    const cpu = (c: number | undefined, of: number | undefined) =>
      c === undefined || of === undefined
        ? ''
        : `  CPU ${c.toFixed(0).padStart(5)} ms ${(c / Math.max(of, 1)).toFixed(2)}x`;
    const row = (name: string, ms: number, c?: number) =>
      `  ${name.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms ${((ms * 1e6) / whole.records).toFixed(0).padStart(6)} ns/packet  ${(ms / whole.tcpdump).toFixed(2)}x${cpu(c, whole.tcpdumpCpu)}\n`;
    process.stdout.write(
      `whole file: ${whole.records} records, ${(whole.bytes / 1e6).toFixed(0)} MB (read, filter, write the kept ones; wall and CPU, best of 3):\n` +
        row('tcpdump -r IN -w OUT EXPR', whole.tcpdump, whole.tcpdumpCpu) +
        row('bpfkit pcap filter IN OUT EXPR', whole.cli, whole.cliCpu) +
        row('  the same in-process (no start-up)', whole.inProcess) +
        row('node start-up (node -e 0)', whole.node, whole.nodeCpu),
    );
  }
}

/**
 * CPU time (user + system, ms) of the children this process has waited for, from /proc/self/stat
 * (cutime, cstime; clock ticks of 10 ms): a child's CPU is the difference around its spawnSync. Undefined
 * off Linux.
 */
function childrenCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return undefined;
  }
}

/** Best of `n` wall times of `run`, in ms. */
async function best(n: number, run: () => unknown): Promise<number> {
  let b = Infinity;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await run();
    b = Math.min(b, performance.now() - t);
  }
  return b;
}

/**
 * libpcap beside bpfkit on a whole file, the frames repeated into a 400,000-record pcap: `tcpdump -r IN
 * -w OUT EXPR` and `bpfkit pcap filter IN OUT EXPR`, both whole processes (start-up included), bpfkit's
 * streamed filter in-process (filterCaptureFile, what the command runs), and node's own start-up. The
 * outputs are checked equal byte for byte.
 */
async function wholeFile(
  expr: string,
  frames: Uint8Array[],
): Promise<
  | {
      tcpdump: number;
      cli: number;
      inProcess: number;
      node: number;
      records: number;
      bytes: number;
      tcpdumpCpu?: number;
      cliCpu?: number;
      nodeCpu?: number;
    }
  | string
> {
  const records = 400_000;
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
    const theirs = join(dir, 'tcpdump.pcap');
    const ours = join(dir, 'bpfkit.pcap');
    const bytes = Buffer.concat(parts);
    writeFileSync(file, bytes);
    const bin = new URL('../../bin/bpfkit.js', import.meta.url).pathname;
    let failed: string | undefined;
    // The least CPU each command took (its best run), keyed by the command.
    const cpuOf = new Map<string, number>();
    const proc = (cmd: string, args: string[]) => () => {
      const before = childrenCpuMs();
      const r = spawnSync(cmd, args, { encoding: 'utf8' });
      const after = childrenCpuMs();
      if (r.error || r.status !== 0) failed ??= `${cmd} failed: ${r.error?.message ?? r.stderr.split('\n')[0]}`;
      if (before !== undefined && after !== undefined)
        cpuOf.set(args[0] ?? cmd, Math.min(cpuOf.get(args[0] ?? cmd) ?? Infinity, after - before));
    };
    // (interleaved, so that a burst of load elsewhere hits both)
    let tcpdump = Infinity;
    let cli = Infinity;
    for (let i = 0; i < 3; i++) {
      tcpdump = Math.min(tcpdump, await best(1, proc('tcpdump', ['-r', file, '-w', theirs, expr])));
      cli = Math.min(cli, await best(1, proc(process.execPath, [bin, 'pcap', 'filter', file, ours, expr])));
    }
    if (failed) return failed;
    if (!readFileSync(theirs).equals(readFileSync(ours)))
      return 'the outputs differ (a bug: see test/packet/filter-capture.test.ts)';
    const programFor = filterProgramsFor(expr);
    const inProcess = await best(3, () => filterCaptureFile(file, ours, programFor));
    const node = await best(3, proc(process.execPath, ['-e', '0']));
    const cpus = { tcpdumpCpu: cpuOf.get('-r'), cliCpu: cpuOf.get(bin), nodeCpu: cpuOf.get('-e') };
    return { tcpdump, cli, inProcess, node, records, bytes: bytes.length, ...cpus };
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
