/**
 * Programs benchmark: ns per packet for each example and for the HTTP filters of `bpfkit urls` (v1: the
 * seeds' design; full) on a fixed packet — in the VM's default engine for the object, on wasm and on jit
 * (BPF_PROG_TEST_RUN-style repeat: Vm.runRepeat), and on the per-packet path `bpfkit run --pcap` takes —
 * beside the kernel's own figure for the same program (BPF_PROG_TEST_RUN's duration with repeat, i.e.
 * `bpftool prog run ... repeat N`), as ratios. The per-packet path is measured twice: "path" runs the
 * program over the capture's frames already in memory through VmProgram.runPackets, as runCapture calls
 * it (what run --pcap pays per packet beyond reading the file), and "run --pcap" is runCapture itself on
 * a capture file of that packet (reading included). Reading the capture alone (no program) is printed
 * below the table. VM figures are CPU time (the kernel's test-run timer, too, leaves out the time the run
 * was scheduled away), each the best of a few trials after a warm-up, so that the figure is the
 * steady per-packet cost: what a scan pays once (the reader's chunk buffers, V8 optimising the parse
 * loop) is printed apart, as the first scan of the process. The kernel column needs root; without it
 * only the VM figures are printed.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadObjectFile } from '../src/elf/index.js';
import { loadVmCollection } from '../src/vm/collection.js';
import type { Collection } from '../src/engine/types.js';
import type { EngineKind } from '../src/vm/interpreter.js';
import type { VmProgram } from '../src/vm/collection.js';
import { preferredEngine } from '../src/vm/wasm/preference.js';
import { RUN_CHUNK, runCapture } from '../src/cli/commands/run.js';
import { DEFAULT_BATCH_RECORDS, RecordBatch } from '../src/packet/record-batch.js';

/** [row name, object, program]. */
const examples: [string, string, string][] = [
  ['proto-count', 'examples/proto-count/proto-count.o', 'count_protocols'],
  ['mark-stats', 'examples/mark-stats/mark-stats.o', 'cls_main'],
  ['port-demux', 'examples/port-demux/port-demux.o', 'lb_main'],
  ['tunnel-monitor', 'examples/tunnel-monitor/tunnel-monitor.o', 'tunnel_entry'],
  ['http v1 (seeds)', 'src/apps/http/bpf/http_filter_v1.o', 'http_filter'],
  ['http full', 'src/apps/http/bpf/http_filter_full.o', 'http_filter'],
];

/** Ethernet + IPv4 + TCP to port 80 with a small payload: every example does real work on it. */
function packet(): Uint8Array {
  const hex =
    '000000000000000000000000080045000043000140004006' +
    '26b20a0000010a000002' +
    '9c400050000003e8000007d05018ffff9fb10000' +
    '474554202f20485454502f312e310d0a486f73743a20780d0a0d0a';
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/**
 * CPU time since `u`, in ns: the process's own time, as the kernel's test-run timer counts only the time
 * the run was on a CPU (wall time on a shared machine would count other processes' turns).
 */
function cpuNs(u: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(u);
  return (d.user + d.system) * 1000;
}

/** The best of `trials` runs of `f`, each returning ns per packet. */
function best(trials: number, f: () => number): number {
  let b = Infinity;
  for (let i = 0; i < trials; i++) b = Math.min(b, f());
  return b;
}

function vmFigure(obj: string, prog: string, engine: EngineKind, repeat: number): number {
  const c = loadVmCollection(loadObjectFile(obj), { execution: engine, cpus: 1 });
  const p = c.program(prog);
  const data = packet();
  // Warm up until steady: compiles, inline caches, and V8's optimizing tier of a wasm module, which
  // runs on a background thread for up to a second on a loaded machine — that thread's CPU counts in
  // process.cpuUsage, and the kernel's figure, too, is taken from a program JITed before the test run.
  const warm = performance.now() + 400;
  do p.run({ data, repeat: Math.max(1, repeat / 10) });
  while (performance.now() < warm);
  return best(5, () => {
    const u = process.cpuUsage();
    p.run({ data, repeat });
    return cpuNs(u) / repeat;
  });
}

/** A pcap file's bytes: `n` copies of the packet (Ethernet). */
function captureBytes(n: number): Uint8Array {
  const data = packet();
  const rec = 16 + data.length;
  const out = new Uint8Array(24 + n * rec);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 1, true);
  for (let i = 0; i < n; i++) {
    const at = 24 + i * rec;
    dv.setUint32(at, i, true);
    dv.setUint32(at + 8, data.length, true);
    dv.setUint32(at + 12, data.length, true);
    out.set(data, at + 16);
  }
  return out;
}

/** captureBytes written to a temporary file. */
function captureOf(n: number): string {
  const path = join(tmpdir(), `bpfkit-bench-${process.pid}.pcap`);
  writeFileSync(path, captureBytes(n));
  return path;
}

/** The best and the median of the trials' figures, and the worst. */
interface Spread {
  best: number;
  median: number;
  worst: number;
}

function spread(v: number[]): Spread {
  const s = [...v].sort((a, b) => a - b);
  return { best: s[0]!, median: s[s.length >> 1]!, worst: s[s.length - 1]! };
}

/** What run --pcap's text output computes for every packet besides its line: whether the packet changed. */
const report = (_label: () => string, _retval: number, changed: () => boolean) => void changed();

/** Records runCapture runs at a time (a batch of the reader's). */
const RECORDS_PER_RUN = DEFAULT_BATCH_RECORDS;

/**
 * The per-packet path without reading: the frames of the capture, already in memory where a chunk of the
 * file holds them (after their record headers), run through VmProgram.runPackets as runCapture runs
 * them (the offsets of RECORDS_PER_RUN records at a time, as a batch of the reader's holds them, each
 * result reported as it reports it). The frames lie in an ordinary buffer, so each window of them is
 * copied into linear memory; runCapture's reader reads into linear memory, where they run without that
 * copy (~1 ns a record less: VmProgram.takeFrameChunk).
 */
function pathFigure(obj: string, prog: string, n: number, trials: number): Spread {
  const c = loadVmCollection(loadObjectFile(obj), { cpus: 1 });
  const p: VmProgram = c.program(prog);
  const mem = captureBytes(n);
  const rec = 16 + packet().length;
  const offs = new Int32Array(RECORDS_PER_RUN);
  const lens = new Int32Array(RECORDS_PER_RUN);
  let num = 0;
  let isChanged = false;
  const label = () => `#${num}`;
  const changed = () => isChanged;
  const onResult = (i: number, retval: number, ch: boolean) => {
    num = i;
    isChanged = ch;
    report(label, retval >>> 0, changed);
  };
  const all = () => {
    const u = process.cpuUsage();
    for (let first = 0; first < n; first += RECORDS_PER_RUN) {
      const count = Math.min(RECORDS_PER_RUN, n - first);
      for (let k = 0; k < count; k++) {
        offs[k] = 24 + (first + k) * rec + 16;
        lens[k] = rec - 16;
      }
      p.runPackets(mem, offs, lens, count, onResult);
    }
    return cpuNs(u) / n;
  };
  const warm = performance.now() + 300;
  do all();
  while (performance.now() < warm);
  return spread(Array.from({ length: trials }, all));
}

/**
 * What `bpfkit run --pcap FILE` pays per packet in the default engine (reading the capture included):
 * the steady spread, and the warm-up run (the first of this program: its compile, and for the first
 * program the process's first scan too, as one `bpfkit run --pcap` pays them).
 */
async function pcapFigure(
  obj: string,
  prog: string,
  capture: string,
  n: number,
  trials: number,
): Promise<Spread & { first: number }> {
  const c = loadVmCollection(loadObjectFile(obj), { cpus: 1 });
  const p = c.program(prog);
  const u0 = process.cpuUsage();
  await runCapture(capture, p, undefined, report); // warm up
  const first = cpuNs(u0) / n;
  const v: number[] = [];
  for (let i = 0; i < trials; i++) {
    const u = process.cpuUsage();
    await runCapture(capture, p, undefined, report);
    v.push(cpuNs(u) / n);
  }
  return { ...spread(v), first };
}

/** Reading the capture alone: the first scan of the process, then each way's steady figure. */
interface ReadFloor {
  first: number;
  /** the batch scan as runCapture reads (RUN_CHUNK reads on the main thread, no timestamps) */
  batch: Spread;
  /** the per-packet scan (forEachPacket, the default chunk size), an empty callback per record */
  perPacket: Spread;
}

/**
 * What reading the capture alone costs per packet (the floor under the run --pcap column): the first
 * scan of this process (fresh chunk buffers, the parse loop not yet optimised), made the way runCapture
 * reads, then the steady figures of the batch and the per-packet scans.
 */
async function readFigure(capture: string, n: number, trials: number): Promise<ReadFloor> {
  const { openCapture } = await import('../src/packet/capture-reader.js');
  const batch = new RecordBatch(DEFAULT_BATCH_RECORDS);
  batch.timestamps = false;
  batch.wireLengths = false;
  const batchScan = async () => {
    const u = process.cpuUsage();
    // (as runCapture reads without a filter: RUN_CHUNK at a time, each when it is needed, no timestamps
    // or wire lengths)
    const reader = await openCapture(capture, { chunkSize: RUN_CHUNK });
    const scan = reader.scan({ readAhead: true, syncReads: true });
    while (await scan.nextBatch(batch));
    await reader.close();
    return cpuNs(u) / n;
  };
  const packetScan = async () => {
    const u = process.cpuUsage();
    const reader = await openCapture(capture);
    await reader.forEachPacket(() => {});
    await reader.close();
    return cpuNs(u) / n;
  };
  const first = await batchScan();
  await batchScan(); // warm up
  await packetScan();
  const b: number[] = [];
  const pp: number[] = [];
  for (let i = 0; i < trials; i++) {
    b.push(await batchScan());
    pp.push(await packetScan());
  }
  return { first, batch: spread(b), perPacket: spread(pp) };
}

async function kernelFigure(obj: string, prog: string, repeat: number): Promise<number | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const pin = `/sys/fs/bpf/bpfkit-bench-${process.pid}`;
  let c: Collection | undefined;
  try {
    mkdirSync(pin, { recursive: true });
    const { loadKernelCollection } = await import('../src/kernel/collection.js');
    c = loadKernelCollection(loadObjectFile(obj), { pinPath: pin });
    const p = c.program(prog);
    p.run({ data: packet(), repeat: 1000 });
    let b = Infinity;
    for (let i = 0; i < 3; i++) b = Math.min(b, p.run({ data: packet(), repeat }).durationNs!);
    return b;
  } catch (err) {
    process.stdout.write(`  (kernel figure unavailable: ${(err as Error).message.split('\n')[0]})\n`);
    return undefined;
  } finally {
    c?.close();
    rmSync(pin, { recursive: true, force: true });
  }
}

/** The target for the repeat path: within 2x of the kernel, or within 20 ns when it runs under 20. */
function meetsTarget(vm: number, kernel: number): boolean {
  return vm <= 2 * kernel || (kernel < 20 && vm <= kernel + 20);
}

/** The target for the run --pcap path: within 3x of the kernel. */
const PCAP_TARGET = 3;

export async function bench(): Promise<void> {
  const fmt = (n: number | undefined) => (n === undefined ? '—' : n < 10 ? n.toFixed(2) : n.toFixed(0));
  const cols: [string, number][] = [
    ['program', 17],
    ['engine', 7],
    ['default', 9],
    ['wasm', 7],
    ['jit', 7],
    ['kernel', 8],
    ['default/k', 11],
    ['target', 8],
    ['path', 7],
    ['path/k', 8],
    ['run --pcap', 12],
    ['pcap/k', 8],
    ['(range)', 11],
    ['3x target', 11],
  ];
  const row = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(cols[0]![1]) : c.padStart(cols[i]![1]))).join('') + '\n';
  process.stdout.write(`ns per packet (fixed 81-byte IPv4/TCP packet to port 80, a GET)\n`);
  process.stdout.write(row(cols.map(([name]) => name)));
  const n = 200_000;
  const trials = 7;
  const capture = captureOf(n);
  let floor: ReadFloor | undefined;
  let firstPcap: number | undefined;
  try {
    floor = await readFigure(capture, n, trials);
    for (const [name, obj, prog] of examples) {
      const wasm = vmFigure(obj, prog, 'wasm', 100_000);
      const jit = vmFigure(obj, prog, 'jit', 100_000);
      const path = pathFigure(obj, prog, n, trials);
      const pcap = await pcapFigure(obj, prog, capture, n, trials);
      firstPcap ??= pcap.first;
      const kernel = await kernelFigure(obj, prog, 1_000_000);
      // the engine a collection gets when its loader does not choose one
      const dflt = preferredEngine(loadObjectFile(obj));
      const vm = dflt === 'wasm' ? wasm : jit;
      const ratio = (v: number) => (kernel ? `${(v / kernel).toFixed(1)}x` : '—');
      const target = kernel ? (meetsTarget(vm, kernel) ? 'met' : 'missed') : '—';
      const pcapTarget = kernel ? (pcap.best <= PCAP_TARGET * kernel ? 'met' : 'missed') : '—';
      process.stdout.write(
        row([
          name,
          dflt,
          fmt(vm),
          fmt(wasm),
          fmt(jit),
          fmt(kernel),
          ratio(vm),
          target,
          fmt(path.best),
          ratio(path.best),
          fmt(pcap.best),
          ratio(pcap.best),
          `${fmt(pcap.median)}-${fmt(pcap.worst)}`,
          pcapTarget,
        ]),
      );
    }
  } finally {
    rmSync(capture, { force: true });
  }
  const f = floor;
  process.stdout.write(
    'default / wasm / jit: BPF_PROG_TEST_RUN-style repeat on one packet (Vm.runRepeat); kernel: BPF_PROG_TEST_RUN duration (kernel JIT);\n' +
      'target: default within 2x of the kernel, or within 20 ns of it when the kernel takes under 20 ns;\n' +
      `path: the program over the ${n} frames of the capture already in memory, through VmProgram.runPackets as run --pcap\n` +
      '  calls it, default engine: what run --pcap pays per packet beyond reading the file;\n' +
      `run --pcap: the CLI's whole per-packet path (runCapture) over a ${n}-packet capture file of the same packet, default\n` +
      `  engine, reading included; (range): its median-worst over the ${trials} trials (the column is the best); 3x target: within 3x of the kernel.\n` +
      `reading the capture alone (no program): ${fmt(f.batch.best)} ns per packet in batches as run --pcap reads (median ${fmt(f.batch.median)},\n` +
      `  worst ${fmt(f.batch.worst)}), ${fmt(f.perPacket.best)} with a callback per packet (median ${fmt(f.perPacket.median)}); the first scan of this process paid ${fmt(f.first)}\n` +
      `  (fresh chunk buffers, the parse loop not yet optimised: once per run); the first run --pcap of this process (reading,\n` +
      `  compiling and warming up ${examples[0]![0]}: what one \`bpfkit run --pcap\` of ${n} packets pays per packet) ${fmt(firstPcap)}.\n` +
      `All figures CPU time per packet, best of ${trials} after a warm-up.\n`,
  );
}
