/**
 * A map in the kernel, with the same BpfMap face as the VM's maps. Each map keeps native scratch
 * buffers (attr, key, value, next key) so a lookup or update costs one copy in, one syscall and one copy
 * out, without allocating native memory per call.
 *
 * Per-CPU maps: `lookup` returns the bpf(2) buffer (one value per possible CPU, each padded to 8 bytes),
 * `lookupPerCpu` splits it; `update` takes one value (copied to every CPU) or the whole buffer — the same
 * rules as the VM's maps.
 */
import type { BpfMap } from '../engine/types.js';
import { MapError } from '../engine/errors.js';
import { MapType, UpdateFlag } from '../uapi/types.js';
import { RingBufferReader } from './attach/ring-buffer.js';
import { NativeBuffer, errnoName } from './libc.js';
import { freezeMap, isPerCpu, isQueueLike } from './map-ops.js';
import { Cmd, bpfRaw, closeFd, mapError } from './bpf-syscall.js';
import { possibleCpus } from './cpus.js';
import { track, untrack } from './lifecycle.js';
import { iterateEntries, iterateKeys } from '../engine/map-iteration.js';
import { BPF_ATTR, getU32, setAddress, setU32, setU64Number } from './abi/index.js';

const ELEM = BPF_ATTR.map_elem;
const BATCH = BPF_ATTR.batch;

export interface KernelMapInfo {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

const roundUp8 = (n: number) => (n + 7) & ~7;

/** A map in the kernel, behind the same BpfMap interface as the VM's maps. */
export class KernelMap implements BpfMap {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly cpus: number;
  /** Bytes of a value in bpf(2) buffers: valueSize, or 8-byte-padded values times the CPU count. */
  readonly bufferValueSize: number;
  private _fd: number;
  // Separate attrs: the kernel wants every byte past a command's last field zero.
  private readonly attr = new NativeBuffer(ELEM.size);
  private readonly batchAttr = new NativeBuffer(BATCH.size);
  private readonly key: NativeBuffer;
  private readonly nextKeyBuf: NativeBuffer;
  private readonly value: NativeBuffer;
  /** The consumer of a ring buffer map, mapped on the first consume(). */
  private ring: RingBufferReader | undefined;

  /** Maps are made by `loadKernelCollection`, `openPinnedMap`, `openMapById` and `mapFromFd`. @internal */
  constructor(fd: number, info: KernelMapInfo) {
    this._fd = fd;
    this.name = info.name;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.flags = info.flags;
    this.cpus = isPerCpu(info.type) ? possibleCpus() : 1;
    this.bufferValueSize = isPerCpu(info.type) ? roundUp8(info.valueSize) * this.cpus : info.valueSize;
    this.key = new NativeBuffer(Math.max(8, info.keySize));
    this.nextKeyBuf = new NativeBuffer(Math.max(8, info.keySize));
    this.value = new NativeBuffer(Math.max(8, this.bufferValueSize));
    track(this);
  }

  get fd(): number {
    if (this._fd < 0) throw new MapError('EBADF', this.name, 'use', 'the map is closed');
    return this._fd;
  }

  get closed(): boolean {
    return this._fd < 0;
  }

  // ---- element operations ----

  /** The per-operation hot path: every field rewritten in place, no BigInt, no allocation. */
  private elem(cmd: number, key: NativeBuffer | undefined, value: NativeBuffer | undefined, flags: number): number {
    const v = this.attr.view;
    const f = ELEM.fields;
    setU32(v, f.map_fd, this.fd);
    setAddress(v, f.key, key);
    setAddress(v, f.value, value); // next_key for GET_NEXT_KEY: the same slot of the union
    setU64Number(v, f.flags, flags >>> 0);
    return bpfRaw(cmd, this.attr);
  }

  private setKey(key: Uint8Array, op: string): void {
    if (key.length !== this.keySize)
      throw new MapError('EINVAL', this.name, op, `key is ${key.length} bytes, the map's keys are ${this.keySize}`);
    this.key.bytes.set(key);
  }

  /** The value under `key` (per-CPU maps: every CPU's, each padded to 8 bytes), or undefined. */
  lookup(key: Uint8Array): Uint8Array | undefined {
    this.setKey(key, 'lookup');
    const r = this.elem(Cmd.MAP_LOOKUP_ELEM, this.key, this.value, 0);
    if (r < 0) {
      if (errnoName(-r) === 'ENOENT') return undefined;
      throw mapError(-r, this.name, 'lookup');
    }
    return this.value.bytes.slice(0, this.bufferValueSize);
  }

  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    const buf = this.lookup(key);
    if (!buf) return undefined;
    if (this.cpus === 1 && !isPerCpu(this.type)) return [buf];
    const stride = roundUp8(this.valueSize);
    const out: Uint8Array[] = [];
    for (let c = 0; c < this.cpus; c++) out.push(buf.slice(c * stride, c * stride + this.valueSize));
    return out;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number = UpdateFlag.ANY): void {
    this.setKey(key, 'update');
    if (isPerCpu(this.type) && value.length === this.valueSize && value.length !== this.bufferValueSize) {
      return this.updatePerCpu(key, Array<Uint8Array>(this.cpus).fill(value), flags);
    }
    if (value.length !== this.bufferValueSize) {
      throw new MapError(
        'EINVAL',
        this.name,
        'update',
        `value is ${value.length} bytes, the map's values are ${this.bufferValueSize}`,
      );
    }
    this.value.bytes.set(value);
    const r = this.elem(Cmd.MAP_UPDATE_ELEM, this.key, this.value, flags);
    if (r < 0) throw mapError(-r, this.name, 'update');
  }

  /** Per-CPU maps: set one value per possible CPU. */
  updatePerCpu(key: Uint8Array, values: Uint8Array[], flags: number = UpdateFlag.ANY): void {
    if (!isPerCpu(this.type)) {
      if (values.length !== 1) throw new MapError('EINVAL', this.name, 'update', 'not a per-CPU map');
      return this.update(key, values[0]!, flags);
    }
    if (values.length !== this.cpus)
      throw new MapError(
        'EINVAL',
        this.name,
        'update',
        `wants ${this.cpus} values (one per CPU), got ${values.length}`,
      );
    const stride = roundUp8(this.valueSize);
    const buf = new Uint8Array(this.bufferValueSize);
    values.forEach((v, c) => {
      if (v.length !== this.valueSize)
        throw new MapError(
          'EINVAL',
          this.name,
          'update',
          `value is ${v.length} bytes, the map's values are ${this.valueSize}`,
        );
      buf.set(v, c * stride);
    });
    this.update(key, buf, flags);
  }

  /** Remove `key`; false when it was not there. */
  delete(key: Uint8Array): boolean {
    this.setKey(key, 'delete');
    const r = this.elem(Cmd.MAP_DELETE_ELEM, this.key, undefined, 0);
    if (r < 0) {
      if (errnoName(-r) === 'ENOENT') return false;
      throw mapError(-r, this.name, 'delete');
    }
    return true;
  }

  /** BPF_MAP_GET_NEXT_KEY: the key after `key` (the first when undefined); undefined at the end. */
  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    if (key) this.setKey(key, 'next key');
    const r = this.elem(Cmd.MAP_GET_NEXT_KEY, key ? this.key : undefined, this.nextKeyBuf, 0);
    if (r < 0) {
      if (errnoName(-r) === 'ENOENT') return undefined;
      throw mapError(-r, this.name, 'next key');
    }
    return this.nextKeyBuf.bytes.slice(0, this.keySize);
  }

  keys(): IterableIterator<Uint8Array> {
    return iterateKeys(this);
  }

  /** Every key with its value, walked with get-next-key as bpftool does. */
  entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    return iterateEntries(this);
  }

  // ---- queue / stack ----

  push(value: Uint8Array, flags: number = UpdateFlag.ANY): void {
    if (value.length !== this.valueSize)
      throw new MapError(
        'EINVAL',
        this.name,
        'push',
        `value is ${value.length} bytes, the map's values are ${this.valueSize}`,
      );
    this.value.bytes.set(value);
    const r = this.elem(Cmd.MAP_UPDATE_ELEM, undefined, this.value, flags);
    if (r < 0) throw mapError(-r, this.name, 'push');
  }

  /** Queue/stack maps: take the next value out (undefined when empty). */
  pop(): Uint8Array | undefined {
    return this.take(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, 'pop');
  }

  /** Queue/stack maps: the next value, left in place (undefined when empty). */
  peek(): Uint8Array | undefined {
    return this.take(Cmd.MAP_LOOKUP_ELEM, 'peek');
  }

  private take(cmd: number, op: string): Uint8Array | undefined {
    if (!isQueueLike(this.type)) throw new MapError('EINVAL', this.name, op, 'only queue and stack maps have no keys');
    const r = this.elem(cmd, undefined, this.value, 0);
    if (r < 0) {
      if (errnoName(-r) === 'ENOENT') return undefined;
      throw mapError(-r, this.name, op);
    }
    return this.value.bytes.slice(0, this.valueSize);
  }

  // ---- batch operations (BPF_MAP_*_BATCH, kernel 5.6+; hash and array maps) ----

  /** Every entry through BPF_MAP_LOOKUP_BATCH, `chunk` entries a syscall. */
  lookupBatch(chunk = 256): [Uint8Array, Uint8Array][] {
    const out: [Uint8Array, Uint8Array][] = [];
    this.eachBatch(chunk, (keys, values, count) => {
      for (let i = 0; i < count; i++) {
        out.push([
          keys.slice(i * this.keySize, (i + 1) * this.keySize),
          values.slice(i * this.bufferValueSize, (i + 1) * this.bufferValueSize),
        ]);
      }
    });
    return out;
  }

  /**
   * The keys whose value (on any CPU) holds a non-zero byte, read `chunk` entries a syscall and kept only
   * when non-zero: `bpfkit run` lists a 20M-entry array in a few hundred syscalls instead of 40M, in
   * little memory. Where batch lookups are refused (kernels before 5.6), every key is looked up.
   */
  nonZeroKeys(chunk = 65536): Uint8Array[] {
    const out: Uint8Array[] = [];
    const nonZero = (v: Uint8Array) => v.some((b) => b !== 0);
    try {
      this.eachBatch(chunk, (keys, values, count) => {
        const size = this.bufferValueSize;
        for (let i = 0; i < count; i++)
          if (nonZero(values.subarray(i * size, (i + 1) * size)))
            out.push(keys.slice(i * this.keySize, (i + 1) * this.keySize));
      });
      return out;
    } catch (err) {
      if (!(err instanceof MapError)) throw err;
    }
    out.length = 0;
    for (const k of this.keys()) {
      const vs = isPerCpu(this.type) ? this.lookupPerCpu(k) : [this.lookup(k)];
      if (vs?.some((v) => v && nonZero(v))) out.push(k);
    }
    return out;
  }

  /** BPF_MAP_LOOKUP_BATCH over the whole map; `visit` sees each chunk in the native buffers. */
  private eachBatch(chunk: number, visit: (keys: Uint8Array, values: Uint8Array, count: number) => void): void {
    const tokenSize = Math.max(8, this.keySize);
    const inTok = new NativeBuffer(tokenSize);
    const outTok = new NativeBuffer(tokenSize);
    const keys = new NativeBuffer(chunk * this.keySize);
    const values = new NativeBuffer(chunk * this.bufferValueSize);
    try {
      let first = true;
      for (;;) {
        const a = this.batchAttr;
        a.bytes.fill(0);
        const v = a.view;
        const f = BATCH.fields;
        setAddress(v, f.in_batch, first ? undefined : inTok);
        setAddress(v, f.out_batch, outTok);
        setAddress(v, f.keys, keys);
        setAddress(v, f.values, values);
        setU32(v, f.count, chunk);
        setU32(v, f.map_fd, this.fd);
        const r = bpfRaw(Cmd.MAP_LOOKUP_BATCH, a);
        const done = r < 0 && errnoName(-r) === 'ENOENT';
        if (r < 0 && !done) throw mapError(-r, this.name, 'lookup batch');
        visit(keys.bytes, values.bytes, getU32(v, f.count));
        if (done) return;
        inTok.bytes.set(outTok.bytes);
        first = false;
      }
    } finally {
      inTok.free();
      outTok.free();
      keys.free();
      values.free();
    }
  }

  /** BPF_MAP_UPDATE_BATCH: keys and values laid end to end; returns how many were written. */
  updateBatch(keys: Uint8Array[], values: Uint8Array[], flags: number = UpdateFlag.ANY): number {
    if (keys.length !== values.length)
      throw new MapError('EINVAL', this.name, 'update batch', `${keys.length} keys but ${values.length} values`);
    const kb = new NativeBuffer(keys.length * this.keySize);
    const vb = new NativeBuffer(values.length * this.bufferValueSize);
    try {
      keys.forEach((k, i) => {
        if (k.length !== this.keySize)
          throw new MapError('EINVAL', this.name, 'update batch', `key ${i} is ${k.length} bytes`);
        kb.bytes.set(k, i * this.keySize);
      });
      values.forEach((x, i) => {
        if (x.length !== this.bufferValueSize)
          throw new MapError('EINVAL', this.name, 'update batch', `value ${i} is ${x.length} bytes`);
        vb.bytes.set(x, i * this.bufferValueSize);
      });
      return this.batch(Cmd.MAP_UPDATE_BATCH, kb, vb, keys.length, flags, 'update batch');
    } finally {
      kb.free();
      vb.free();
    }
  }

  /** BPF_MAP_DELETE_BATCH; returns how many were deleted (stops at the first missing key: ENOENT). */
  deleteBatch(keys: Uint8Array[]): number {
    const kb = new NativeBuffer(keys.length * this.keySize);
    try {
      keys.forEach((k, i) => kb.bytes.set(k, i * this.keySize));
      return this.batch(Cmd.MAP_DELETE_BATCH, kb, undefined, keys.length, 0, 'delete batch');
    } finally {
      kb.free();
    }
  }

  private batch(
    cmd: number,
    keys: NativeBuffer,
    values: NativeBuffer | undefined,
    count: number,
    flags: number,
    op: string,
  ): number {
    if (count === 0) return 0;
    const a = this.batchAttr;
    a.bytes.fill(0);
    const v = a.view;
    const f = BATCH.fields;
    setAddress(v, f.keys, keys);
    setAddress(v, f.values, values);
    setU32(v, f.count, count);
    setU32(v, f.map_fd, this.fd);
    setU64Number(v, f.elem_flags, flags >>> 0);
    const r = bpfRaw(cmd, a);
    if (r < 0) throw mapError(-r, this.name, op);
    return getU32(v, f.count);
  }

  /**
   * Ring buffer maps: take every submitted record, oldest first (copies; discarded ones skipped), as the
   * VM's ring buffer does — so a test run's events read the same in both engines.
   */
  consume(): Uint8Array[] {
    if (this.type !== MapType.RINGBUF)
      throw new MapError('EINVAL', this.name, 'consume', 'only ring buffer maps have records to consume');
    this.ring ??= new RingBufferReader(this.fd, this.maxEntries, this.name);
    const out: Uint8Array[] = [];
    this.ring.drain((sample) => out.push(sample.slice()));
    return out;
  }

  /** Read-only for userspace from now on (BPF_MAP_FREEZE). */
  freeze(): void {
    freezeMap(this.fd, this.name);
  }

  /** Close the map's fd (the map lives on while pinned or used by a program). */
  close(): void {
    if (this._fd < 0) return;
    this.ring?.close();
    closeFd(this._fd);
    this._fd = -1;
    untrack(this);
    this.attr.free();
    this.batchAttr.free();
    this.key.free();
    this.nextKeyBuf.free();
    this.value.free();
  }
}
