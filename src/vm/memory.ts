/**
 * The VM's memory: a flat 32-bit virtual address space into which the host maps regions (input memory,
 * stack frames, a context, a packet, map-value slabs, ring-buffer records). Pointers in registers are
 * u64 values whose upper 32 bits are zero, so a program's 32-bit load of `skb->data` from a context
 * yields a usable pointer, as the kernel's context rewriting does.
 *
 * Every access goes through a two-level page table (4 KiB pages, 4 MiB directory chunks) that maps a page
 * to the one region that owns it. Regions start on page boundaries and are separated by unmapped guard
 * gaps of at least 64 KiB, so a pointer that runs off one region (even by the largest 16-bit offset)
 * faults instead of landing in a neighbour. Address 0 and the first megabyte are never mapped, so a
 * NULL pointer (e.g. a failed map lookup) plus any offset faults.
 *
 * Regions of elements (map value slabs, ring-buffer records) are reached only through tagged pointers:
 * the helper or `lddw` that derives a pointer to one element puts that element's tag in the pointer's
 * upper 32 bits (`tagOf`), and every access through it must stay inside that element, however the
 * program moved the lower half (pointer arithmetic, offsets). A pointer without a tag (a forged integer,
 * or a value pointer whose upper half a 32-bit operation cleared) reaches no element at all, as the
 * kernel's verifier refuses both.
 *
 * Hot path: ld8/ld16/ld32/ld64 and st8..st64, taking the pointer register's two 32-bit halves and the
 * instruction's offset, so callers never build a 64-bit number. Faults throw VmError('access').
 */
import { VmError, hexAddr } from './vm-error.js';

export const PAGE_SHIFT = 12;
/** Regions start on page boundaries (4 KiB) and the page table maps each page to one region. */
export const PAGE_SIZE = 1 << PAGE_SHIFT;
const CHUNK_SHIFT = 22; // one directory entry covers 4 MiB = 1024 pages
const PAGES_PER_CHUNK = 1 << (CHUNK_SHIFT - PAGE_SHIFT);
/** Unmapped space kept between regions. */
export const GUARD_GAP = 64 * 1024;
/** Lowest address ever handed out; everything below faults. */
export const FIRST_BASE = 0x0010_0000;
const ADDRESS_LIMIT = 0x1_0000_0000;

/** How to map a region: its name in errors, writability, element stride, reserve and owner. */
export interface RegionOptions {
  /** Shown in errors: 'stack frame 0', 'input', 'packet', 'map flows values', ... */
  name: string;
  /** May the program store into it? (default true) */
  writable?: boolean;
  /**
   * Element size: an access must lie inside one element (`stride` bytes from a multiple of `stride` from
   * the region start), and inside the element its base pointer points into (or one past the end of).
   * Used for map value slabs: a pointer from a lookup reaches that value only. 0 = no elements (default).
   */
  stride?: number;
  /**
   * Elements of varying size (ring-buffer records): `confine(ptr, at, size)` gets the offsets of the
   * base pointer and of the access in the region and says whether the access stays in what the pointer
   * may reach. Takes the place of `stride`.
   */
  confine?: (ptr: number, at: number, size: number) => boolean;
  /**
   * Bytes of address space to reserve (>= bytes.length): a later `replace()` with up to this many bytes
   * keeps the same base address. Default: bytes.length.
   */
  reserve?: number;
  /**
   * Bytes of each element a pointer may reach from the element's start (a map's value size, where the
   * stride is rounded up to 8). Default: the stride.
   */
  extent?: number;
  /** Anything the host wants to find again from an address (e.g. the map a value slab belongs to). */
  owner?: unknown;
}

/** Records of a `confine` region start on multiples of this many bytes: the unit its tags count. */
const RECORD_ALIGN = 8;
/** Tags stay below the callback pointers' tag (interpreter-program FUNC_TAG, 0x40000000). */
const TAG_LIMIT = 0x4000_0000;

/** A mapped byte range of VM memory. */
export interface Region {
  /** Index in the page table (1-based; 0 means unmapped). */
  readonly index: number;
  /** First VM address of the region. */
  readonly base: number;
  /** Address space reserved from `base` (page-rounded). */
  readonly span: number;
  bytes: Uint8Array;
  view: DataView;
  /** bytes.length, cached. */
  size: number;
  writable: boolean;
  name: string;
  /** Element size (see RegionOptions.stride); -1 when `confine` decides instead; 0 when neither applies. */
  stride: number;
  /** Decides element bounds for regions of varying-size records (see RegionOptions.confine). */
  confine: ((ptr: number, at: number, size: number) => boolean) | undefined;
  /** Bytes of each element a pointer reaches (RegionOptions.extent). */
  extent: number;
  /** Tag of the region's first element (0 for regions without elements); element k has tagBase + k. */
  tagBase: number;
  /** Bytes per tag: the stride, or RECORD_ALIGN for regions of records. */
  unit: number;
  owner: unknown;
  /**
   * Mapped with `reserve` (a packet): its size changes in place by replace()/resize(), which bump
   * Memory.resizes instead of Memory.epoch, so cached regions of other kinds survive a new packet.
   */
  resizable: boolean;
}

/** What `view()` returns: the region's own bytes and where the requested range starts in them. */
export interface MemoryView {
  bytes: Uint8Array;
  offset: number;
  region: Region;
}

const UNMAPPED: Region = Object.freeze({
  index: 0,
  base: 0,
  span: 0,
  bytes: new Uint8Array(0),
  view: new DataView(new ArrayBuffer(0)),
  size: 0,
  writable: false,
  name: '(unmapped)',
  stride: 0,
  confine: undefined,
  extent: 0,
  tagBase: 0,
  unit: 0,
  owner: undefined,
  resizable: false,
});

/**
 * May an access of `size` bytes at offset `at` of an element region go through a base pointer at offset
 * `ptr`? Inside one element, and the element the pointer points into (a pointer one past an element's
 * end still belongs to it: C's end pointers). Regions of records ask their `confine`.
 */
function inElement(r: Region, ptr: number, at: number, size: number): boolean {
  const stride = r.stride;
  if (stride < 0) return (r.confine as (ptr: number, at: number, size: number) => boolean)(ptr, at, size);
  const e = at - (at % stride);
  return at + size <= e + r.extent && ptr >= e && ptr <= e + stride;
}

/** May an access of `size` bytes at offset `at` go through a pointer tagged `tag`? Inside its element only. */
function inTaggedElement(r: Region, tag: number, at: number, size: number): boolean {
  const k = tag - r.tagBase;
  if (r.tagBase === 0 || k < 0 || k * r.unit >= r.span) return false;
  const start = k * r.unit;
  if (r.stride < 0) return (r.confine as (ptr: number, at: number, size: number) => boolean)(start, at, size);
  return at >= start && at + size <= start + r.extent;
}

/**
 * A VM's flat 32-bit address space: regions of bytes mapped at page-aligned bases with guard gaps, every
 * access checked through a two-level page table. A bad access throws VmError naming the address and region.
 */
export class Memory {
  /** Region table; slot 0 is the UNMAPPED sentinel so a page-table miss needs no special case. */
  readonly regions: Region[] = [UNMAPPED];
  private readonly freeSlots: number[] = [];
  private readonly dir: (Int32Array | undefined)[] = new Array(ADDRESS_LIMIT >>> CHUNK_SHIFT).fill(undefined);
  /** Scratch results of ld64 (no allocation): the loaded value's halves. */
  lo = 0;
  hi = 0;
  /** The region of the last successful hot-path access (the compiled engine caches it per instruction). */
  last: Region = UNMAPPED;
  /** Bumped by every map/unmap and every replace of a region that is not resizable or moved, so cached regions can be dropped when the layout changes. */
  epoch = 0;
  /** Bumped when a resizable region (the packet) changed its bytes or size in place: only caches of resizable regions are stale. */
  resizes = 0;
  /**
   * Where the buffers of regions mapped once and reused (the packet buffer, contexts) come from: the
   * 'wasm' engine hands out its linear memory, so its modules reach them without calling out.
   */
  allocate: (size: number) => Uint8Array = (size) => new Uint8Array(size);
  /** The tag the next region of elements starts at (tags are never reused, so a stale pointer finds nothing). */
  private nextTag = 1;

  /**
   * Map bytes into the address space; returns the base address (page aligned, never 0). The region
   * aliases `bytes`: program stores change the caller's array and vice versa.
   */
  map(bytes: Uint8Array, opts: RegionOptions): number {
    const reserve = Math.max(opts.reserve ?? 0, bytes.length, 1);
    const span = Math.ceil(reserve / PAGE_SIZE) * PAGE_SIZE;
    const base = this.findGap(span);
    if (base < 0) throw new VmError('access', `address space exhausted mapping '${opts.name}' (${reserve} bytes)`);
    const index = this.freeSlots.length > 0 ? (this.freeSlots.pop() as number) : this.regions.length;
    const stride = opts.confine ? -1 : (opts.stride ?? 0);
    const unit = stride < 0 ? RECORD_ALIGN : stride;
    let tagBase = 0;
    if (unit > 0) {
      const units = Math.ceil(span / unit);
      if (this.nextTag + units > TAG_LIMIT)
        throw new VmError('access', `address space exhausted mapping '${opts.name}' (no pointer tags left)`);
      tagBase = this.nextTag;
      this.nextTag += units;
    }
    const region: Region = {
      index,
      base,
      span,
      bytes,
      view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      size: bytes.length,
      writable: opts.writable ?? true,
      name: opts.name,
      stride,
      confine: opts.confine,
      extent: stride > 0 ? Math.min(stride, opts.extent ?? stride) : 0,
      tagBase,
      unit,
      owner: opts.owner,
      resizable: opts.reserve !== undefined,
    };
    this.regions[index] = region;
    this.setPages(base, span, index);
    this.epoch++;
    return base;
  }

  /** Remove the region that starts at `base` (its addresses fault from now on). */
  unmap(base: number): void {
    const r = this.regionStartingAt(base);
    this.setPages(r.base, r.span, 0);
    this.regions[r.index] = UNMAPPED;
    this.freeSlots.push(r.index);
    if (this.last === r) this.last = UNMAPPED;
    this.epoch++;
  }

  /**
   * Give the region at `base` new bytes (a packet that grew or shrank). Keeps the base when the new
   * bytes fit the reserved span, else moves the region; returns the (possibly new) base.
   */
  replace(base: number, bytes: Uint8Array): number {
    const r = this.regionStartingAt(base);
    if (bytes.length <= r.span) {
      r.bytes = bytes;
      r.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      r.size = bytes.length;
      if (r.resizable) this.resizes++;
      else this.epoch++;
      return base;
    }
    const opts: RegionOptions = {
      name: r.name,
      writable: r.writable,
      stride: Math.max(0, r.stride),
      extent: r.extent,
      owner: r.owner,
      ...(r.confine ? { confine: r.confine } : {}),
      ...(r.resizable ? { reserve: r.span } : {}),
    };
    this.unmap(base);
    return this.map(bytes, opts);
  }

  /**
   * Set the size of the resizable region at `base` to the first `size` of its bytes (a new packet in the
   * same buffer): no new views, and only caches of resizable regions go stale (Memory.resizes).
   */
  resize(base: number, size: number): void {
    const r = this.regionStartingAt(base);
    if (!r.resizable || size > r.bytes.length)
      throw new VmError('internal', `region '${r.name}' cannot be resized to ${size} bytes in place`);
    if (r.size === size) return;
    r.size = size;
    this.resizes++;
  }

  /** The region containing `addr`, or undefined. */
  regionAt(addr: number): Region | undefined {
    if (!(addr >= 0 && addr < ADDRESS_LIMIT)) return undefined;
    const t = this.dir[addr >>> CHUNK_SHIFT];
    const r = this.regions[t === undefined ? 0 : t[(addr >>> PAGE_SHIFT) & (PAGES_PER_CHUNK - 1)]!] as Region;
    return r.index === 0 || addr - r.base >= r.size ? undefined : r;
  }

  /**
   * The upper half of a pointer to `addr` that a helper or `lddw` hands the program: the tag of the
   * element `addr` lies in (regions of elements), else 0. A record region's tag names the record that
   * starts at `addr`.
   */
  tagOf(addr: number): number {
    const r = this.regionAt(addr);
    if (!r || r.tagBase === 0) return 0;
    return r.tagBase + Math.floor((addr - r.base) / r.unit);
  }

  /**
   * A pointer argument (its register halves) as a 32-bit address for a helper, or -1 (which every access
   * rejects) for a value that is no pointer. Throws VmError('access') for a pointer into a region of
   * elements that has no tag or the tag of another element (`what` names the argument in the message).
   */
  pointer(lo: number, hi: number, what: string, pc: number): number {
    const a = lo >>> 0;
    const r = this.regionSpanning(a);
    if (hi === 0) {
      if (r === undefined || r.tagBase === 0) return a;
      throw new VmError(
        'access',
        `${what} (${hexAddr(a)}) points into region '${r.name}' but was not derived from a pointer to one of its elements`,
        { pc, address: a },
      );
    }
    if (r === undefined || r.tagBase === 0) return -1;
    const k = hi - r.tagBase;
    const o = a - r.base;
    if (k >= 0 && k * r.unit < r.span) {
      const start = k * r.unit;
      if (r.stride < 0 ? o >= start : o >= start && o <= start + r.extent) return a;
    }
    throw new VmError(
      'access',
      `${what} (${hexAddr(a)}) leaves the element of region '${r.name}' it was derived from`,
      { pc, address: a },
    );
  }

  /** All live regions (for diagnostics). */
  mapped(): Region[] {
    return this.regions.filter((r) => r.index !== 0);
  }

  /**
   * Bounds-checked access to `len` bytes at `addr` for helpers: the region's bytes and the offset of
   * `addr` in them. Throws VmError('access') like a program access would (pc -1: the helper's caller
   * adds its own pc).
   */
  view(addr: number, len: number, write: boolean, pc = -1): MemoryView {
    const r = this.check(addr, len, write, pc);
    return { bytes: r.bytes, offset: addr - r.base, region: r };
  }

  /** Copy `len` bytes out of VM memory. */
  read(addr: number, len: number, pc = -1): Uint8Array {
    if (len === 0) return new Uint8Array(0);
    const v = this.view(addr, len, false, pc);
    return v.bytes.slice(v.offset, v.offset + len);
  }

  /** Copy bytes into VM memory (the target must be writable). */
  write(addr: number, src: Uint8Array, pc = -1): void {
    if (src.length === 0) return;
    const v = this.view(addr, src.length, true, pc);
    v.bytes.set(src, v.offset);
  }

  /** A NUL-terminated string of at most `max` bytes (without the NUL), read within one region. */
  readCString(addr: number, max: number, pc = -1): Uint8Array {
    const r = this.check(addr, 1, false, pc);
    const start = addr - r.base;
    const end = Math.min(r.size, start + max);
    let i = start;
    while (i < end && r.bytes[i] !== 0) i++;
    return r.bytes.slice(start, i);
  }

  /**
   * The fault-free check of bpf_probe_read_*: the region holding `len` bytes at the pointer (lo, hi) when
   * a program access through that pointer could read them all, else undefined (the helper's -EFAULT). A
   * value whose upper half is no tag of the region (a kernel address, a forged number) reaches nothing.
   */
  probe(lo: number, hi: number, len: number): Region | undefined {
    const a = lo >>> 0;
    if (!(a + len <= ADDRESS_LIMIT)) return undefined;
    const r = this.regionAt(a);
    if (r === undefined || a - r.base + len > r.size) return undefined;
    const o = a - r.base;
    if (hi !== 0) return inTaggedElement(r, hi, o, len) ? r : undefined;
    return r.stride === 0 || inElement(r, o, o, len) ? r : undefined;
  }

  /** Check an access of `size` bytes at the 32-bit address `addr`; returns the region or throws. */
  check(addr: number, size: number, write: boolean, pc: number): Region {
    if (!(addr >= 0 && addr + size <= ADDRESS_LIMIT)) throw this.fault(addr, size, write, pc, UNMAPPED);
    const t = this.dir[addr >>> CHUNK_SHIFT];
    const r = this.regions[t === undefined ? 0 : t[(addr >>> PAGE_SHIFT) & (PAGES_PER_CHUNK - 1)]!] as Region;
    const o = addr - r.base;
    if (o + size > r.size || (write && !r.writable)) throw this.fault(addr, size, write, pc, r);
    // a helper's pointer argument is its own base pointer
    if (r.stride !== 0 && !inElement(r, o, o, size)) throw this.fault(addr, size, write, pc, r);
    return r;
  }

  // ---- hot path: the program's loads and stores. `lo`/`hi` are the pointer register's halves. ----

  private find(lo: number, hi: number, off: number, size: number, write: boolean, pc: number): Region {
    if (hi !== 0) return this.findTagged(lo, hi, off, size, write, pc);
    const a = (lo >>> 0) + off;
    if (a < 0 || a + size > ADDRESS_LIMIT) throw this.wildFault(lo, hi, off, size, write, pc);
    // Most accesses hit the region of the previous one: check it before walking the page table.
    const l = this.last;
    const lo2 = a - l.base;
    if (lo2 >= 0 && lo2 + size <= l.size && l.stride === 0 && (l.writable || !write)) return l;
    const t = this.dir[a >>> CHUNK_SHIFT];
    const r = this.regions[t === undefined ? 0 : t[(a >>> PAGE_SHIFT) & (PAGES_PER_CHUNK - 1)]!] as Region;
    const o = a - r.base;
    // an untagged pointer reaches no element of a region of elements
    if (o + size > r.size || (write && !r.writable) || r.stride !== 0) throw this.fault(a, size, write, pc, r, true);
    this.last = r;
    return r;
  }

  /** An access through a tagged pointer: only inside the element its tag names. */
  private findTagged(lo: number, hi: number, off: number, size: number, write: boolean, pc: number): Region {
    const a = (lo >>> 0) + off;
    if (hi < 0 || a < 0 || a + size > ADDRESS_LIMIT) throw this.wildFault(lo, hi, off, size, write, pc);
    const t = this.dir[a >>> CHUNK_SHIFT];
    const r = this.regions[t === undefined ? 0 : t[(a >>> PAGE_SHIFT) & (PAGES_PER_CHUNK - 1)]!] as Region;
    const o = a - r.base;
    if (r.tagBase !== 0 && o + size <= r.size && (r.writable || !write) && inTaggedElement(r, hi, o, size)) return r;
    if (r.tagBase !== 0 && (o + size > r.size || (write && !r.writable))) throw this.fault(a, size, write, pc, r);
    const home = this.regionOfTag(hi);
    if (home === undefined) throw this.wildFault(lo, hi, off, size, write, pc);
    const what = `${write ? 'write' : 'read'} of ${size} byte${size === 1 ? '' : 's'} at ${hexAddr(a)}`;
    const why = `leaves the ${home.stride > 0 ? 'element' : 'record'} of region '${home.name}' its pointer was derived from`;
    throw new VmError('access', `${what} ${why}${home.stride > 0 ? ` (element size ${home.stride})` : ''}`, {
      pc,
      address: a,
    });
  }

  /** The live region whose elements' tags include `tag`, if any. */
  private regionOfTag(tag: number): Region | undefined {
    for (const r of this.regions)
      if (r.tagBase !== 0 && tag >= r.tagBase && (tag - r.tagBase) * r.unit < r.span) return r;
    return undefined;
  }

  /** Load a byte from address (lo, hi) + off; `pc` names the instruction in a fault. */
  ld8(lo: number, hi: number, off: number, pc: number): number {
    const r = this.find(lo, hi, off, 1, false, pc);
    return r.bytes[(lo >>> 0) + off - r.base] as number;
  }
  /** Load a little-endian u16 from address (lo, hi) + off. */
  ld16(lo: number, hi: number, off: number, pc: number): number {
    const r = this.find(lo, hi, off, 2, false, pc);
    return r.view.getUint16((lo >>> 0) + off - r.base, true);
  }
  /** Returns the word as a signed int32 (the register-half representation). */
  ld32(lo: number, hi: number, off: number, pc: number): number {
    const r = this.find(lo, hi, off, 4, false, pc);
    return r.view.getInt32((lo >>> 0) + off - r.base, true);
  }
  /** Leaves the value in this.lo / this.hi (int32 halves). */
  ld64(lo: number, hi: number, off: number, pc: number): void {
    const r = this.find(lo, hi, off, 8, false, pc);
    const o = (lo >>> 0) + off - r.base;
    this.lo = r.view.getInt32(o, true);
    this.hi = r.view.getInt32(o + 4, true);
  }
  /** Store the low byte of `v` at address (lo, hi) + off. */
  st8(lo: number, hi: number, off: number, v: number, pc: number): void {
    const r = this.find(lo, hi, off, 1, true, pc);
    r.bytes[(lo >>> 0) + off - r.base] = v;
  }
  /** Store the low 16 bits of `v`, little-endian, at address (lo, hi) + off. */
  st16(lo: number, hi: number, off: number, v: number, pc: number): void {
    const r = this.find(lo, hi, off, 2, true, pc);
    r.view.setUint16((lo >>> 0) + off - r.base, v & 0xffff, true);
  }
  /** Store `v` as a little-endian 32-bit word at address (lo, hi) + off. */
  st32(lo: number, hi: number, off: number, v: number, pc: number): void {
    const r = this.find(lo, hi, off, 4, true, pc);
    r.view.setInt32((lo >>> 0) + off - r.base, v | 0, true);
  }
  /** Store the 64-bit value (vlo, vhi) little-endian at address (lo, hi) + off. */
  st64(lo: number, hi: number, off: number, vlo: number, vhi: number, pc: number): void {
    const r = this.find(lo, hi, off, 8, true, pc);
    const o = (lo >>> 0) + off - r.base;
    r.view.setInt32(o, vlo | 0, true);
    r.view.setInt32(o + 4, vhi | 0, true);
  }
  /** The region and offset of a read-modify-write (atomics): checked for write. */
  rmw(lo: number, hi: number, off: number, size: number, pc: number): Region {
    return this.find(lo, hi, off, size, true, pc);
  }

  // ---- internals ----

  private regionStartingAt(base: number): Region {
    const r = this.regionAt(base) ?? this.regionSpanning(base);
    if (!r || r.base !== base) throw new VmError('access', `no region is mapped at ${hexAddr(base)}`);
    return r;
  }

  /** Like regionAt, but also finds empty regions (size 0) by their reserved span. */
  private regionSpanning(addr: number): Region | undefined {
    if (!(addr >= 0 && addr < ADDRESS_LIMIT)) return undefined;
    const t = this.dir[addr >>> CHUNK_SHIFT];
    const idx = t === undefined ? 0 : (t[(addr >>> PAGE_SHIFT) & (PAGES_PER_CHUNK - 1)] as number);
    return idx === 0 ? undefined : this.regions[idx];
  }

  private setPages(base: number, span: number, index: number): void {
    for (let a = base; a < base + span; a += PAGE_SIZE) {
      const c = a >>> CHUNK_SHIFT;
      let t = this.dir[c];
      if (t === undefined) {
        if (index === 0) continue;
        t = this.dir[c] = new Int32Array(PAGES_PER_CHUNK);
      }
      t[(a >>> PAGE_SHIFT) & (PAGES_PER_CHUNK - 1)] = index;
    }
  }

  /** First-fit search for `span` bytes with a guard gap on both sides. */
  private findGap(span: number): number {
    const live = this.mapped().sort((a, b) => a.base - b.base);
    let candidate = FIRST_BASE;
    for (const r of live) {
      if (candidate + span + GUARD_GAP <= r.base) break;
      candidate = Math.max(candidate, r.base + r.span + GUARD_GAP);
    }
    return candidate + span <= ADDRESS_LIMIT - GUARD_GAP ? candidate : -1;
  }

  private wildFault(lo: number, hi: number, off: number, size: number, write: boolean, pc: number): VmError {
    const full = BigInt.asUintN(64, (BigInt(hi >>> 0) << 32n) + BigInt(lo >>> 0) + BigInt(off));
    return new VmError(
      'access',
      `${write ? 'write' : 'read'} of ${size} byte${size === 1 ? '' : 's'} at 0x${full.toString(16)} is outside the 32-bit address space of any region`,
      { pc, address: Number(full & 0xffffffffn) },
    );
  }

  private fault(addr: number, size: number, write: boolean, pc: number, r: Region, untagged = false): VmError {
    const what = `${write ? 'write' : 'read'} of ${size} byte${size === 1 ? '' : 's'} at ${hexAddr(addr)}`;
    let why: string;
    if (r.index === 0) why = 'is outside every mapped region';
    else if (addr - r.base + size > r.size) {
      why = `runs past the end of region '${r.name}' (${hexAddr(r.base)}..${hexAddr(r.base + r.size)}, ${r.size} bytes)`;
    } else if (write && !r.writable) why = `is to read-only region '${r.name}'`;
    else if (untagged)
      why = `is to region '${r.name}' through a pointer not derived from a pointer to one of its elements`;
    else if (r.stride > 0)
      why = `leaves the element of region '${r.name}' its pointer was derived from (element size ${r.stride})`;
    else why = `leaves the record of region '${r.name}' its pointer was derived from`;
    return new VmError('access', `${what} ${why}`, { pc, address: addr });
  }
}
