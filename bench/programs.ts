/**
 * Programs benchmark: ns per packet for each example and for the HTTP filters of `bpfkit urls` (v1: the
 * seeds' design; full) on a fixed packet, in the VM (its three engines, and the per-packet path
 * `bpfkit run --pcap` takes on jit and wasm) beside the kernel's own figure for the same program
 * (BPF_PROG_TEST_RUN's duration with repeat, i.e. `bpftool prog run ... repeat N`), as ratios.
 * The kernel column needs root; without it only the VM figures are printed.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { loadObjectFile } from '../src/elf/index.js';
import { loadVmCollection } from '../src/vm/collection.js';
import type { Collection } from '../src/engine/types.js';
import type { EngineKind } from '../src/vm/interpreter.js';
import { preferredEngine } from '../src/vm/wasm/preference.js';

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

function vmFigure(obj: string, prog: string, engine: EngineKind, repeat: number): number {
  const c = loadVmCollection(loadObjectFile(obj), { execution: engine, cpus: 1 });
  const p = c.program(prog);
  const data = packet();
  p.run({ data, repeat: Math.max(1, repeat / 10) }); // warm up (compile, inline caches)
  const r = p.run({ data, repeat });
  return r.durationNs!;
}

/** What a capture replay costs per packet: one run() per packet (fresh packet, result copied out). */
function vmPerPacket(obj: string, prog: string, engine: EngineKind, n: number): number {
  const c = loadVmCollection(loadObjectFile(obj), { cpus: 1, execution: engine });
  const p = c.program(prog);
  const data = packet();
  for (let i = 0; i < n / 10; i++) p.run({ data });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) p.run({ data });
  return Number(process.hrtime.bigint() - t0) / n;
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
    return p.run({ data: packet(), repeat }).durationNs;
  } catch (err) {
    process.stdout.write(`  (kernel figure unavailable: ${(err as Error).message.split('\n')[0]})\n`);
    return undefined;
  } finally {
    c?.close();
    rmSync(pin, { recursive: true, force: true });
  }
}

export async function bench(): Promise<void> {
  const fmt = (n: number | undefined) => (n === undefined ? '—' : n < 10 ? n.toFixed(2) : n.toFixed(0));
  const cols: [string, number][] = [
    ['program', 17],
    ['jit', 7],
    ['wasm', 7],
    ['interp', 8],
    ['pkt jit', 9],
    ['pkt wasm', 10],
    ['kernel', 8],
    ['jit/k', 7],
    ['wasm/k', 8],
    ['pkt wasm/k', 12],
    ['default', 9],
    ['default/k', 11],
  ];
  const row = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(cols[0]![1]) : c.padStart(cols[i]![1]))).join('') + '\n';
  process.stdout.write(`ns per packet (fixed 81-byte IPv4/TCP packet to port 80, a GET)\n`);
  process.stdout.write(row(cols.map(([name]) => name)));
  for (const [name, obj, prog] of examples) {
    const jit = vmFigure(obj, prog, 'jit', 200_000);
    const wasm = vmFigure(obj, prog, 'wasm', 200_000);
    const interp = vmFigure(obj, prog, 'interpreter', 50_000);
    const pktJit = vmPerPacket(obj, prog, 'jit', 50_000);
    const pktWasm = vmPerPacket(obj, prog, 'wasm', 50_000);
    const kernel = await kernelFigure(obj, prog, 1_000_000);
    const ratio = (v: number) => (kernel ? `${(v / kernel).toFixed(1)}x` : '—');
    // the engine a collection gets when its loader does not choose one
    const dflt = preferredEngine(loadObjectFile(obj));
    process.stdout.write(
      row([
        name,
        fmt(jit),
        fmt(wasm),
        fmt(interp),
        fmt(pktJit),
        fmt(pktWasm),
        fmt(kernel),
        ratio(jit),
        ratio(wasm),
        ratio(pktWasm),
        dflt,
        ratio(dflt === 'wasm' ? wasm : jit),
      ]),
    );
  }
  process.stdout.write(
    'jit / wasm / interp: BPF_PROG_TEST_RUN-style repeat on one packet; pkt: one run() per packet (what bpfkit run --pcap pays); kernel: BPF_PROG_TEST_RUN duration (kernel JIT).\n',
  );
}
