/**
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY: in the kernel each slot holds a perf event fd (one per CPU, opened by
 * userspace) and bpf_perf_event_output appends a sample to that event's ring. In the VM, userspace opens
 * slots with `open()` (all of them by default, or one) and records queue up until `consume()`; output to
 * a slot nobody opened fails with ENOENT, exactly as with an empty kernel slot. An index beyond
 * max_entries is E2BIG.
 */
import { VmMap, E, type MapOptions } from './base.js';
import type { MapSpec } from '../../elf/spec.js';

export interface PerfRecord {
  /** The slot (CPU) the record was written to. */
  cpu: number;
  data: Uint8Array;
}

export class PerfEventArrayMap extends VmMap {
  private readonly open: Uint8Array;
  private records: PerfRecord[] = [];
  /** Records dropped because the per-slot limit was reached (the kernel counts lost samples too). */
  lost = 0;
  /** Per-slot backlog limit, so a program in a loop cannot eat the host's memory. */
  limit = 1 << 16;

  constructor(spec: MapSpec, opts: MapOptions) {
    super(spec, opts);
    this.open = new Uint8Array(spec.maxEntries);
  }

  /** Append a record to slot `index`; 0 or -errno. */
  output(index: number, data: Uint8Array): number {
    if (index >>> 0 >= this.maxEntries) return -E.E2BIG;
    if (!this.open[index]) return -E.ENOENT;
    if (this.records.length >= this.limit) {
      this.lost++;
      return -E.ENOSPC;
    }
    this.records.push({ cpu: index, data });
    return 0;
  }

  /** Start receiving samples on one slot, or on every slot (like opening a perf event per CPU). */
  openSlots(index?: number): void {
    if (index === undefined) this.open.fill(1);
    else this.open[index] = 1;
  }
  /** Stop receiving on one slot, or on all. */
  closeSlots(index?: number): void {
    if (index === undefined) this.open.fill(0);
    else this.open[index] = 0;
  }

  /** Take every record written so far, in the order written. */
  consume(): PerfRecord[] {
    const out = this.records;
    this.records = [];
    return out;
  }

  override lookup(): Uint8Array | undefined {
    this.fail('ENOTSUPP', 'lookup', 'perf event arrays are read with consume()');
  }
  override update(): void {
    this.fail('ENOTSUPP', 'update', 'the VM opens every perf event slot itself');
  }
  override delete(): boolean {
    this.fail('ENOTSUPP', 'delete');
  }
  nextKey(): Uint8Array | undefined {
    return undefined;
  }
}
