/**
 * Run the same programs on the same frames in the VM and in the kernel (bpfkit's kernel engine, i.e.
 * BPF_PROG_TEST_RUN) and collect what each engine says: return values, packets after the run, contexts
 * and every map's contents. Tests assert both sides are equal.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadObjectFile } from '../../src/elf/index.js';
import { loadCollection } from '../../src/loader/index.js';
import { VerifierError } from '../../src/kernel/index.js';
import type { Collection } from '../../src/engine/types.js';
import { hex } from './packets.js';
import { MapType } from '../../src/uapi/types.js';

export interface Step {
  program: string;
  data: Uint8Array;
  ctx?: Uint8Array;
  /** The CPU the run happens on (RunOptions.cpu). */
  cpu?: number;
}

export interface Outcome {
  results: { program: string; retval: number; data: string; ctx?: string }[];
  maps: Record<string, string[]>;
  /** Ring buffer records the runs submitted, per map (both engines drain theirs after the runs). */
  events: Record<string, string[]>;
}

/** Every ring buffer's submitted records, oldest first, drained. */
export function drainRings(c: Collection): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, m] of c.maps) {
    if (m.type !== MapType.RINGBUF) continue;
    const take = (m as { consume?: () => Uint8Array[] }).consume;
    if (!take) throw new Error(`ring buffer map ${name} has no consume()`);
    out[name] = take.call(m).map(hex);
  }
  return out;
}

export function dumpMaps(c: Collection): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, m] of c.maps) {
    if (
      m.type === MapType.QUEUE ||
      m.type === MapType.STACK ||
      m.type === MapType.RINGBUF ||
      m.type === MapType.PERF_EVENT_ARRAY
    )
      continue;
    const rows: string[] = [];
    try {
      for (const k of m.keys()) {
        const v = m.lookup(k);
        // prog arrays and maps of maps hold handles (VM) or ids (kernel): compare which slots are set
        const handles =
          m.type === MapType.PROG_ARRAY || m.type === MapType.ARRAY_OF_MAPS || m.type === MapType.HASH_OF_MAPS;
        if (v) rows.push(`${hex(k)}=${handles ? 'set' : hex(v)}`);
      }
    } catch {
      continue; // ring buffers, perf event arrays: no keys
    }
    out[name] = rows.sort();
  }
  return out;
}

/** Kernel runs pin into bpffs: mount it at /sys/fs/bpf when it is not (as .ci/run does; root only). */
export function ensureBpffs(): void {
  const mounts = readFileSync('/proc/mounts', 'utf8');
  if (/ \/sys\/fs\/bpf bpf /.test(mounts)) return;
  spawnSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf'], { stdio: 'ignore' });
}

export async function runOn(engine: 'vm' | 'kernel', objPath: string, steps: Step[], cpus?: number): Promise<Outcome> {
  const spec = loadObjectFile(objPath);
  const pin = `/sys/fs/bpf/bpfkit-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  if (engine === 'kernel') {
    ensureBpffs();
    mkdirSync(pin, { recursive: true });
  }
  let c: Collection | undefined;
  try {
    // A kernel may refuse a helper upstream allows (this machine's refuses bpf_xdp_adjust_meta to XDP):
    // a program it refuses that the steps do not run is left out of the kernel's load (the whole object
    // otherwise), so it cannot stop the others; one the steps run refuses the load as before.
    let programs: string[] | undefined;
    for (;;) {
      try {
        c = await loadCollection(spec, {
          engine,
          vm: cpus ? { cpus } : {},
          kernel: { pinPath: pin, ...(programs ? { programs } : {}) },
        });
        break;
      } catch (err) {
        const refused = err instanceof VerifierError && /cannot use helper/.test(err.log) ? err.program : undefined;
        if (refused === undefined || steps.some((s) => s.program === refused) || programs?.includes(refused) === false)
          throw err;
        programs = (programs ?? spec.programs.map((p) => p.name)).filter((n) => n !== refused);
      }
    }
    const loaded = c;
    const results = steps.map((s) => {
      const r = loaded
        .program(s.program)
        .run({ data: s.data, ...(s.ctx ? { ctx: s.ctx } : {}), ...(s.cpu !== undefined ? { cpu: s.cpu } : {}) });
      return {
        program: s.program,
        retval: r.retval,
        data: hex(r.data),
        ...(s.ctx && r.ctx ? { ctx: hex(r.ctx) } : {}),
      };
    });
    return { results, maps: dumpMaps(loaded), events: drainRings(loaded) };
  } finally {
    c?.close();
    if (engine === 'kernel') rmSync(pin, { recursive: true, force: true });
  }
}

/** A __sk_buff with some fields set (the ones BPF_PROG_TEST_RUN accepts in ctx_in). */
export function skbCtx(fields: { mark?: number; priority?: number; cb?: number[] } = {}): Uint8Array {
  const b = new Uint8Array(192);
  const dv = new DataView(b.buffer);
  if (fields.mark) dv.setUint32(8, fields.mark, true);
  if (fields.priority) dv.setUint32(32, fields.priority, true);
  (fields.cb ?? []).forEach((v, i) => dv.setUint32(48 + 4 * i, v, true));
  return b;
}
