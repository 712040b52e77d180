/**
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY: in the kernel each slot holds a perf event fd (one per CPU, opened by
 * userspace) and bpf_perf_event_output appends a sample to that event's ring. In the VM, userspace opens
 * slots with `open()` (all of them by default, or one) and records queue up until `consume()`; output to
 * a slot nobody opened fails with ENOENT, exactly as with an empty kernel slot. An index beyond
 * max_entries is E2BIG.
 *
 * Which slots are open costs memory only for the slots opened or closed one by one: opening all of them
 * is a flag, not a table filled per slot (max_entries may be anything up to 2^32 - 1).
 */
import { VmMap, E, type MapOptions } from './base.js';
import type { MapSpec } from '../../elf/spec.js';

export interface PerfRecord {
  /** The slot (CPU) the record was written to. */
  cpu: number;
  data: Uint8Array;
}

export class PerfEventArrayMap extends VmMap {
  /** Every slot's state unless it is in `toggled`. */
  private allOpen = false;
  /** Slots whose state differs from `allOpen` (opened or closed one by one). */
  private readonly toggled = new Set<number>();
  private records: PerfRecord[] = [];
  /** Records dropped because the per-slot limit was reached (the kernel counts lost samples too). */
  lost = 0;
  /** Per-slot backlog limit, so a program in a loop cannot eat the host's memory. */
  limit = 1 << 16;

  constructor(spec: MapSpec, opts: MapOptions) {
    super(spec, opts);
  }

  /** Is slot `index` receiving samples? */
  isOpen(index: number): boolean {
    return this.allOpen !== this.toggled.has(index);
  }

  /** Append a record to slot `index`; 0 or -errno. */
  output(index: number, data: Uint8Array): number {
    if (index >>> 0 >= this.maxEntries) return -E.E2BIG;
    if (!this.isOpen(index)) return -E.ENOENT;
    if (this.records.length >= this.limit) {
      this.lost++;
      return -E.ENOSPC;
    }
    this.records.push({ cpu: index, data });
    return 0;
  }

  /** Start receiving samples on one slot, or on every slot (like opening a perf event per CPU). */
  openSlots(index?: number): void {
    this.setSlots(true, index);
  }
  /** Stop receiving on one slot, or on all. */
  closeSlots(index?: number): void {
    this.setSlots(false, index);
  }

  private setSlots(open: boolean, index: number | undefined): void {
    if (index === undefined) {
      this.allOpen = open;
      this.toggled.clear();
    } else if (index >>> 0 < this.maxEntries) {
      if (open === this.allOpen) this.toggled.delete(index >>> 0);
      else this.toggled.add(index >>> 0);
    }
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
