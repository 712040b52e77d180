/**
 * Assembles the `urls` pipeline for a mode and an engine: loads the eBPF filter object (committed beside
 * its C source in src/apps/http/bpf/) into the VM or the kernel, wraps it as a filter, and puts the
 * mode's userspace half behind it.
 */
import type { ClassicFilter } from './classic-filter.js';
import { FullPipeline, type FullFilter } from './full-pipeline.js';
import type { UrlPipeline } from './pipeline.js';
import type { UrlRecord } from './record.js';
import type { ParserLimits } from './http-parser.js';
import type { LoadedFilter } from './filter-engine.js';
import type { VmExecution } from '../../engine/options.js';

/** The sniffer's modes: `full` (reassembly, every request) or the classic designs `v1` and `v2`. */
export type Mode = 'full' | 'v1' | 'v2';
/** Where the eBPF filter runs: the VM, the kernel, nowhere (`none`), or as plain JavaScript (`js`, classic modes). */
export type EngineChoice = 'vm' | 'kernel' | 'none' | 'js';

/** Options of `buildPipeline`. */
export interface BuildOptions {
  mode: Mode;
  engine: EngineChoice;
  /** The VM's engine when `engine` is 'vm' (default: the VM's default). */
  vmEngine?: VmExecution;
  live: boolean;
  immediate: boolean;
  limits: ParserLimits;
  maxFlows: number;
  idleTimeoutSec: number;
  /** full mode's memory budget in bytes (default: memory-budget.ts's) */
  maxMemory?: number;
  /** full mode: called every thousand packets or so (the heap valve's check) */
  onPoll?(): void;
  /** Called once per request found. */
  onRecord(rec: UrlRecord): void;
  /** full mode: report HTTP over UDP (SSDP) */
  udp?: boolean;
  /** Called with each printed line of the classic modes. */
  onText(line: string): void;
  /** json output wants records; text output wants the classic modes' printed lines */
  json?: boolean;
}

/** A pipeline ready for packets, with the filter it loaded. */
export interface BuiltPipeline {
  pipeline: UrlPipeline;
  /** the loaded eBPF program (live mode attaches it to the socket) @internal */
  loaded: LoadedFilter | undefined;
  mode: Mode;
  /** Unload the filter. */
  close(): void;
}

/** Load the eBPF filter of a mode into the chosen engine and put that mode's userspace half behind it. */
export async function buildPipeline(o: BuildOptions): Promise<BuiltPipeline> {
  let loaded: LoadedFilter | undefined;
  // (the filter's loader, and the classic modes' modules, load only for the runs that use them)
  if (o.engine === 'vm' || o.engine === 'kernel') {
    const { loadFilterObject } = await import('./filter-engine.js');
    loaded = await loadFilterObject(o.mode, o.engine, o.vmEngine);
  }
  if (o.mode === 'full') {
    const filter: FullFilter | undefined = loaded?.full();
    const pipeline = new FullPipeline(
      {
        limits: o.limits,
        maxFlows: o.maxFlows,
        idleTimeoutSec: o.idleTimeoutSec,
        ...(o.maxMemory !== undefined ? { maxMemory: o.maxMemory } : {}),
        ...(o.onPoll ? { onPoll: o.onPoll } : {}),
        immediate: o.immediate,
        udp: o.udp === true,
        onRecord: o.onRecord,
      },
      filter,
    );
    return {
      pipeline,
      loaded,
      mode: o.mode,
      close: () => loaded?.close(),
    };
  }
  const [{ ClassicPipeline }, { JsClassicFilter }] = await Promise.all([
    import('./classic-pipeline.js'),
    import('./classic-filter.js'),
  ]);
  const version = o.mode === 'v1' ? 1 : 2;
  const filter: ClassicFilter = loaded ? loaded.classic() : new JsClassicFilter(version);
  const out = o.immediate ? { text: o.onText } : { text: () => {}, record: o.onRecord };
  const pipeline = new ClassicPipeline(version, filter, out, o.live ? () => Date.now() / 1000 : undefined);
  return {
    pipeline,
    loaded,
    mode: o.mode,
    close: () => loaded?.close(),
  };
}
