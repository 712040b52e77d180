/**
 * `npm run bench -- verifier`: bpfkit's verifier beside the kernel's on every repository program of a
 * modelled type. The kernel's figures come from its own log statistics (BPF_PROG_LOAD with log level 4:
 * `processed N insns ...` and `verification time N usec`); bpfkit's time is the fastest of three runs, since
 * the machines are shared. Needs root for the kernel column; without it only bpfkit's figures are printed.
 */
import { fileURLToPath } from 'node:url';
import { loadObjectFile } from '../src/elf/index.js';
import { loadKernelCollection } from '../src/kernel/index.js';
import { ProgType } from '../src/uapi/types.js';
import { verifyProgram } from '../src/verifier/index.js';

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

const OBJECTS = [
  'src/apps/http/bpf/http_filter_full.o',
  'src/apps/http/bpf/http_filter_v2.o',
  'src/apps/http/bpf/http_filter_v1.o',
  'examples/mark-stats/mark-stats.o',
  'examples/port-demux/port-demux.o',
  'examples/proto-count/proto-count.o',
  'examples/tunnel-monitor/tunnel-monitor.o',
  'test/fixtures/elf/calls.o',
  'test/programs/fixtures/helpers.o',
];

const MODELLED: number[] = [ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.SCHED_ACT, ProgType.XDP];

/** BPF_LOG_STATS: the kernel prints only its summary lines. */
const LOG_STATS = 4;

interface KernelFigures {
  processed: number;
  states: number;
  ms: number;
}

function kernelFigures(file: string, program: string): KernelFigures | string {
  const spec = loadObjectFile(repo(file));
  try {
    const c = loadKernelCollection(spec, {
      programs: [program],
      logLevel: LOG_STATS,
      pinPath: `/sys/fs/bpf/bpfkit-bench-${process.pid}`,
      privatePinPath: true,
    });
    const log = c.program(program).verifierLog;
    c.close();
    const processed = Number(/processed (\d+) insns/.exec(log)?.[1] ?? NaN);
    const states = Number(/total_states (\d+)/.exec(log)?.[1] ?? NaN);
    const usec = Number(/verification time (\d+) usec/.exec(log)?.[1] ?? NaN);
    return { processed, states, ms: usec / 1000 };
  } catch (err) {
    return (err as Error).message.split('\n')[0]!;
  }
}

export async function bench(): Promise<void> {
  const root = process.getuid?.() === 0;
  const rows: string[] = [];
  let worst = 0;
  for (const file of OBJECTS) {
    const spec = loadObjectFile(repo(file));
    for (const p of spec.programs) {
      if (!MODELLED.includes(p.type)) continue;
      let last = verifyProgram(spec, p);
      let best = last.ms;
      for (let i = 0; i < 2; i++) {
        last = verifyProgram(spec, p);
        best = Math.min(best, last.ms);
      }
      const k = root ? kernelFigures(file, p.name) : 'not root';
      const name = `${file.split('/').pop()}:${p.name}`.padEnd(40);
      const ours = `${last.accepted ? 'ok ' : 'REF'} ${String(last.stats.processed).padStart(6)} insns ${String(last.stats.totalStates).padStart(5)} states ${best.toFixed(1).padStart(7)} ms`;
      if (typeof k === 'string') {
        rows.push(`${name} bpfkit ${ours} | kernel: ${k}`);
        continue;
      }
      const ratio = best / Math.max(k.ms, 0.001);
      if (k.ms >= 1) worst = Math.max(worst, ratio);
      rows.push(
        `${name} bpfkit ${ours} | kernel ${String(k.processed).padStart(6)} insns ${String(k.states).padStart(5)} states ${k.ms.toFixed(1).padStart(7)} ms | ×${ratio.toFixed(1)}`,
      );
    }
  }
  for (const r of rows) process.stdout.write(`${r}\n`);
  if (root) process.stdout.write(`worst ratio (programs the kernel takes ≥ 1 ms on): ×${worst.toFixed(1)}\n`);
}
