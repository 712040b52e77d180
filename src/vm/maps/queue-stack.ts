/**
 * BPF_MAP_TYPE_QUEUE (FIFO) and STACK (LIFO): keyless maps of max_entries values. Push onto a full map is
 * E2BIG unless the flag is BPF_EXIST, which drops the oldest value to make room (for both kinds, as in the
 * kernel); other push flags are EINVAL; pop/peek of an empty map is ENOENT. The program face copies values
 * (the helpers take a buffer), so no slab is exposed.
 */
import { VmMap, E, type MapOptions } from './base.js';
import type { MapSpec } from '../../elf/spec.js';
import { MapType, UpdateFlag } from '../../uapi/types.js';

export class QueueStackMap extends VmMap {
  readonly lifo: boolean;
  private readonly store: Uint8Array;
  private first = 0; // index of the oldest value
  private count = 0;

  constructor(spec: MapSpec, opts: MapOptions) {
    super(spec, opts);
    this.lifo = spec.type === MapType.STACK;
    this.store = new Uint8Array(Math.max(1, spec.valueSize * spec.maxEntries));
  }

  get length(): number {
    return this.count;
  }

  progPush(vb: Uint8Array, vo: number, flags: number): number {
    if (flags & ~UpdateFlag.EXIST) return -E.EINVAL;
    if (this.count === this.maxEntries) {
      if (!(flags & UpdateFlag.EXIST)) return -E.E2BIG;
      this.first = (this.first + 1) % this.maxEntries;
      this.count--;
    }
    const at = ((this.first + this.count) % this.maxEntries) * this.valueSize;
    this.store.set(vb.subarray(vo, vo + this.valueSize), at);
    this.count++;
    return 0;
  }

  /** Copy the next value (front of a queue, top of a stack) to vb[vo..]; remove it when `remove`. */
  progTake(vb: Uint8Array, vo: number, remove: boolean): number {
    if (this.count === 0) return -E.ENOENT;
    const idx = this.lifo ? (this.first + this.count - 1) % this.maxEntries : this.first;
    vb.set(this.store.subarray(idx * this.valueSize, (idx + 1) * this.valueSize), vo);
    if (remove) {
      if (!this.lifo) this.first = (this.first + 1) % this.maxEntries;
      this.count--;
    }
    return 0;
  }

  override progUpdate(_kb: Uint8Array, _ko: number, vb: Uint8Array, vo: number, flags: number): number {
    return this.progPush(vb, vo, flags);
  }

  push(value: Uint8Array, flags: number = UpdateFlag.ANY): void {
    this.checkValue(value, 'push');
    this.check(this.progPush(value, 0, flags), 'push');
  }
  pop(): Uint8Array | undefined {
    const out = new Uint8Array(this.valueSize);
    return this.progTake(out, 0, true) < 0 ? undefined : out;
  }
  peek(): Uint8Array | undefined {
    const out = new Uint8Array(this.valueSize);
    return this.progTake(out, 0, false) < 0 ? undefined : out;
  }

  override lookup(): Uint8Array | undefined {
    return this.peek();
  }
  override update(_key: Uint8Array, value: Uint8Array, flags: number = UpdateFlag.ANY): void {
    this.push(value, flags);
  }
  override delete(): boolean {
    this.fail('EINVAL', 'delete', 'queue and stack maps have no keys (use pop)');
  }
  nextKey(): Uint8Array | undefined {
    return undefined;
  }
  /** Values from the next to be popped to the last (for dumps). */
  values(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < this.count; i++) {
      const k = this.lifo ? this.count - 1 - i : i;
      const idx = (this.first + k) % this.maxEntries;
      out.push(this.store.slice(idx * this.valueSize, (idx + 1) * this.valueSize));
    }
    return out;
  }
}
