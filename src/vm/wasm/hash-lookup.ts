/**
 * Hash and LRU hash maps in WebAssembly: bpf_map_lookup_elem, bpf_map_update_elem and
 * bpf_map_delete_elem on a HASH or LRU_HASH map whose key table and values live in linear memory
 * (HashMap.place put them there) run inside the module, on the very bytes KeyTable uses — the same hash
 * (KeyTable.hash), the same chains, the same LRU list and free stack, so userspace, the other engines and
 * get-next-key see exactly what the helper would have left.
 *
 * What runs here: a key and (for an update) a value in the current frame, update flags BPF_ANY /
 * BPF_NOEXIST / BPF_EXIST (BPF_F_LOCK included, as the helper takes it), a map programs may write, and
 * key plus value under the helper's per-byte charge (64 bytes). Everything else — per-CPU maps, a key
 * elsewhere, other flags, an insert that must grow the buckets, a bad r1 — calls the helper, before
 * anything was changed, so faults and results stay the interpreter's.
 */
import { STACK_SIZE } from '../../isa/index.js';
import { HELPER_BYTES_PER_INSN } from '../helper-abi.js';
import { E } from '../maps/base.js';
import { HashMap } from '../maps/hash.js';
import { TableField, HASH_MIX1, HASH_MIX2, HASH_MUL, HASH_SEED, type KeyTable } from '../maps/keytable.js';
import type { Memory } from '../memory.js';
import { MapType } from '../../uapi/types.js';
import { Body, Fn, L_FP, L_T, MAP_BYTES, MAP_SLOTS, MEM_MAPS, reg } from './body.js';
import type { FuncDef as ModuleFunc } from './module-writer.js';
import * as W from './opcodes.js';

/** The map table's kind of a hash map placed in linear memory (map-lookup.ts: 1 is an array). */
export const KIND_HASH = 2;
/** Helper numbers run here. */
export const MAP_UPDATE_ELEM = 2;
export const MAP_DELETE_ELEM = 3;

/** Flag bits of a hash entry's field 7 (the value size is above them, from bit 8). */
const LRU = 1;
const WRITABLE = 2;

/** What the update and delete functions return to mean "call the helper" (helpers return 0 or -errno). */
const SLOW = 1;

/**
 * The map-table entry of `m` if it is a hash map the module can walk: kind, key size, the values' VM
 * address and first tag, stride, the table's and the values' linear offsets, flags and value size.
 * Returns false (the entry stays 0) otherwise.
 */
export function writeHashEntry(
  cells: Int32Array,
  c: number,
  m: unknown,
  base: number,
  M: Memory,
  buf: ArrayBuffer,
): boolean {
  if (!(m instanceof HashMap) || m.valuesPerKey !== 1) return false;
  if (m.type !== MapType.HASH && m.type !== MapType.LRU_HASH) return false;
  const t: KeyTable = m.table;
  const block = t.block;
  const slab = m.slab;
  if (block === undefined || block.buffer !== buf || slab === undefined || slab.buffer !== buf) return false;
  if (m.keySize < 1 || m.keySize > STACK_SIZE || m.valueSize > STACK_SIZE) return false;
  cells[c] = KIND_HASH;
  cells[c + 1] = m.keySize;
  cells[c + 2] = base;
  cells[c + 3] = M.tagOf(base);
  cells[c + 4] = m.stride;
  cells[c + 5] = block.byteOffset;
  cells[c + 6] = slab.byteOffset;
  cells[c + 7] = (m.lru ? LRU : 0) | (m.progReadOnly ? 0 : WRITABLE) | (m.valueSize << 8);
  if (MAP_BYTES < 32) throw new Error('internal: a hash entry needs 8 cells of the map table');
  return true;
}

// ---- emitting the calls (compile.ts) ----

/** The inline lookup's hash part: r0 from the module's lookup, or `slow` (the helper) when it declines. */
export function emitHashLookup(b: Body, slow: () => void): void {
  b.op(W.BLOCK, W.VOID).op(W.BLOCK, W.VOID);
  b.get(reg(1)).get(reg(2)).get(reg(10)).get(L_FP).call(Fn.HashLookup).tee(L_T);
  b.i64(-1, -1).op(W.I64_EQ, W.BR_IF).u32(0);
  b.get(L_T).set(reg(0)).br(1);
  b.end();
  slow();
  b.end();
}

/**
 * bpf_map_update_elem / bpf_map_delete_elem through the module's functions, the helper (`slow`) when
 * they decline; false for other helpers.
 */
export function emitHashHelper(b: Body, id: number, slow: () => void): boolean {
  if (id !== MAP_UPDATE_ELEM && id !== MAP_DELETE_ELEM) return false;
  b.op(W.BLOCK, W.VOID).op(W.BLOCK, W.VOID);
  if (id === MAP_UPDATE_ELEM) {
    b.get(reg(1)).get(reg(2)).get(reg(3)).get(reg(4)).get(reg(10)).get(L_FP).call(Fn.HashUpdate);
  } else b.get(reg(1)).get(reg(2)).get(reg(10)).get(L_FP).call(Fn.HashDelete);
  b.tee(L_T).i64(SLOW, 0).op(W.I64_EQ, W.BR_IF).u32(0);
  b.get(L_T).set(reg(0)).br(1);
  b.end();
  slow();
  b.end();
  return true;
}

// ---- the module's functions ----

const I32s = (n: number): number[] => new Array<number>(n).fill(W.I32);

/** A table field's value (the table's header address in local `t`). */
function field(b: Body, t: number, f: TableField): Body {
  return b.get(t).mem(W.I32_LOAD, 2, 4 * f);
}

/** Address of element `s` (a local) of the table array `f`. */
function elem(b: Body, t: number, f: TableField, s: number): Body {
  return field(b, t, f).get(s).i32(2).op(W.I32_SHL, W.I32_ADD);
}

/** hashOf(key, ks) -> h: KeyTable.hash, four bytes at a time, then the tail bytes, then the avalanche. */
function hashOfBody(): Uint8Array {
  const KEY = 0;
  const KS = 1;
  const I = 2;
  const H = 3;
  const N = 4;
  const b = new Body();
  b.i32(HASH_SEED).set(H);
  b.get(KS).i32(~3).op(W.I32_AND).set(N);
  b.op(W.BLOCK, W.VOID, W.LOOP, W.VOID);
  b.get(I).get(N).op(W.I32_GE_U, W.BR_IF).u32(1);
  b.get(H).get(KEY).get(I).op(W.I32_ADD).mem(W.I32_LOAD, 0, 0).op(W.I32_XOR).i32(HASH_MUL).op(W.I32_MUL).tee(H);
  b.get(H).i32(15).op(W.I32_SHR_U, W.I32_XOR).set(H);
  b.get(I).i32(4).op(W.I32_ADD).set(I).br(0);
  b.end().end();
  b.op(W.BLOCK, W.VOID, W.LOOP, W.VOID);
  b.get(I).get(KS).op(W.I32_GE_U, W.BR_IF).u32(1);
  b.get(H).get(KEY).get(I).op(W.I32_ADD).mem(W.I32_LOAD8_U, 0, 0).op(W.I32_XOR).i32(HASH_MUL).op(W.I32_MUL).set(H);
  b.get(I).i32(1).op(W.I32_ADD).set(I).br(0);
  b.end().end();
  b.get(H).get(H).i32(16).op(W.I32_SHR_U, W.I32_XOR).i32(HASH_MIX1).op(W.I32_MUL).set(H);
  b.get(H).get(H).i32(13).op(W.I32_SHR_U, W.I32_XOR).i32(HASH_MIX2).op(W.I32_MUL).set(H);
  b.get(H).get(H).i32(16).op(W.I32_SHR_U, W.I32_XOR);
  return b.end().bytes();
}

/** find(table, key, ks, h) -> slot or -1: KeyTable.find's chain walk, keys compared a word, then a byte, at a time. */
function findBody(): Uint8Array {
  const T = 0;
  const KEY = 1;
  const KS = 2;
  const H = 3;
  const S = 4;
  const I = 5;
  const AT = 6;
  const b = new Body();
  b.get(T)
    .mem(W.I32_LOAD, 2, 4 * TableField.Mask)
    .get(H)
    .op(W.I32_AND)
    .set(I);
  elem(b, T, TableField.Buckets, I).mem(W.I32_LOAD, 2, 0).i32(1).op(W.I32_SUB).set(S);
  b.op(W.LOOP, W.VOID);
  b.get(S).i32(0).op(W.I32_LT_S).if().i32(-1).op(W.RETURN).end();
  elem(b, T, TableField.Hashes, S).mem(W.I32_LOAD, 2, 0).get(H).op(W.I32_EQ).if();
  // at = the slot's key
  field(b, T, TableField.Keys).get(S).get(KS).op(W.I32_MUL, W.I32_ADD).set(AT);
  b.i32(0).set(I);
  b.op(W.BLOCK, W.VOID); // mismatch
  b.op(W.BLOCK, W.VOID, W.LOOP, W.VOID);
  b.get(I).i32(4).op(W.I32_ADD).get(KS).op(W.I32_GT_U, W.BR_IF).u32(1);
  b.get(AT).get(I).op(W.I32_ADD).mem(W.I32_LOAD, 0, 0);
  b.get(KEY).get(I).op(W.I32_ADD).mem(W.I32_LOAD, 0, 0).op(W.I32_NE, W.BR_IF).u32(2);
  b.get(I).i32(4).op(W.I32_ADD).set(I).br(0);
  b.end().end();
  b.op(W.BLOCK, W.VOID, W.LOOP, W.VOID);
  b.get(I).get(KS).op(W.I32_GE_U, W.BR_IF).u32(1);
  b.get(AT).get(I).op(W.I32_ADD).mem(W.I32_LOAD8_U, 0, 0);
  b.get(KEY).get(I).op(W.I32_ADD).mem(W.I32_LOAD8_U, 0, 0).op(W.I32_NE, W.BR_IF).u32(2);
  b.get(I).i32(1).op(W.I32_ADD).set(I).br(0);
  b.end().end();
  b.get(S).op(W.RETURN);
  b.end(); // mismatch
  b.end(); // if the hash matched
  elem(b, T, TableField.Chain, S).mem(W.I32_LOAD, 2, 0).set(S).br(0);
  b.end();
  return b.i32(-1).end().bytes();
}

/** unlink(table, s): KeyTable.unlink. */
function unlinkBody(): Uint8Array {
  const T = 0;
  const S = 1;
  const P = 2;
  const N = 3;
  const b = new Body();
  elem(b, T, TableField.Prev, S).mem(W.I32_LOAD, 2, 0).set(P);
  elem(b, T, TableField.Next, S).mem(W.I32_LOAD, 2, 0).set(N);
  b.get(P).i32(0).op(W.I32_GE_S).if();
  elem(b, T, TableField.Next, P).get(N).mem(W.I32_STORE, 2, 0);
  b.else()
    .get(T)
    .get(N)
    .mem(W.I32_STORE, 2, 4 * TableField.Head)
    .end();
  b.get(N).i32(0).op(W.I32_GE_S).if();
  elem(b, T, TableField.Prev, N).get(P).mem(W.I32_STORE, 2, 0);
  b.else()
    .get(T)
    .get(P)
    .mem(W.I32_STORE, 2, 4 * TableField.Tail)
    .end();
  elem(b, T, TableField.Prev, S).i32(-1).mem(W.I32_STORE, 2, 0);
  elem(b, T, TableField.Next, S).i32(-1).mem(W.I32_STORE, 2, 0);
  return b.end().bytes();
}

/** linkTail(table, s): KeyTable.linkTail. */
function linkTailBody(): Uint8Array {
  const T = 0;
  const S = 1;
  const TAIL = 2;
  const b = new Body();
  b.get(T)
    .mem(W.I32_LOAD, 2, 4 * TableField.Tail)
    .set(TAIL);
  elem(b, T, TableField.Prev, S).get(TAIL).mem(W.I32_STORE, 2, 0);
  elem(b, T, TableField.Next, S).i32(-1).mem(W.I32_STORE, 2, 0);
  b.get(TAIL).i32(0).op(W.I32_GE_S).if();
  elem(b, T, TableField.Next, TAIL).get(S).mem(W.I32_STORE, 2, 0);
  b.else()
    .get(T)
    .get(S)
    .mem(W.I32_STORE, 2, 4 * TableField.Head)
    .end();
  b.get(T)
    .get(S)
    .mem(W.I32_STORE, 2, 4 * TableField.Tail);
  return b.end().bytes();
}

/** touch(table, s): KeyTable.touch. */
function touch(b: Body, t: number, s: number): void {
  b.get(t)
    .mem(W.I32_LOAD, 2, 4 * TableField.Tail)
    .get(s)
    .op(W.I32_NE)
    .if();
  b.get(t).get(s).call(Fn.HashUnlink);
  b.get(t).get(s).call(Fn.HashLinkTail);
  b.end();
}

/** remove(table, slot): KeyTable.remove. */
function removeBody(): Uint8Array {
  const T = 0;
  const SLOT = 1;
  const BKT = 2;
  const P = 3;
  const S = 4;
  const b = new Body();
  elem(b, T, TableField.Hashes, SLOT).mem(W.I32_LOAD, 2, 0);
  b.get(T)
    .mem(W.I32_LOAD, 2, 4 * TableField.Mask)
    .op(W.I32_AND)
    .set(BKT);
  b.i32(-1).set(P);
  elem(b, T, TableField.Buckets, BKT).mem(W.I32_LOAD, 2, 0).i32(1).op(W.I32_SUB).set(S);
  b.op(W.BLOCK, W.VOID, W.LOOP, W.VOID);
  b.get(S).i32(0).op(W.I32_LT_S, W.BR_IF).u32(1);
  b.get(S).get(SLOT).op(W.I32_EQ).if();
  b.get(P).i32(0).op(W.I32_LT_S).if();
  elem(b, T, TableField.Buckets, BKT);
  elem(b, T, TableField.Chain, S).mem(W.I32_LOAD, 2, 0).i32(1).op(W.I32_ADD).mem(W.I32_STORE, 2, 0);
  b.else();
  elem(b, T, TableField.Chain, P);
  elem(b, T, TableField.Chain, S).mem(W.I32_LOAD, 2, 0).mem(W.I32_STORE, 2, 0);
  b.end();
  b.br(2);
  b.end();
  b.get(S).set(P);
  elem(b, T, TableField.Chain, S).mem(W.I32_LOAD, 2, 0).set(S).br(0);
  b.end().end();
  b.get(T).get(SLOT).call(Fn.HashUnlink);
  // free[freeTop++] = slot
  b.get(T)
    .mem(W.I32_LOAD, 2, 4 * TableField.FreeTop)
    .set(P);
  elem(b, T, TableField.Free, P).get(SLOT).mem(W.I32_STORE, 2, 0);
  b.get(T)
    .get(P)
    .i32(1)
    .op(W.I32_ADD)
    .mem(W.I32_STORE, 2, 4 * TableField.FreeTop);
  b.get(T)
    .get(T)
    .mem(W.I32_LOAD, 2, 4 * TableField.Count)
    .i32(1)
    .op(W.I32_SUB);
  b.mem(W.I32_STORE, 2, 4 * TableField.Count);
  return b.end().bytes();
}

/** Local `at` = the linear address of `size` (a local) bytes at i64 parameter `p` in the current frame, else `decline`. */
function inFrame(
  b: Body,
  p: number,
  r10: number,
  fp: number,
  size: number,
  at: number,
  k: number,
  decline: () => void,
): void {
  b.get(p).i64(STACK_SIZE, 0).op(W.I64_ADD).get(r10).op(W.I64_SUB).tee(k);
  b.i64(STACK_SIZE, 0).get(size).op(W.I64_EXTEND_I32_U, W.I64_SUB, W.I64_GT_U).if();
  decline();
  b.end();
  b.get(fp).get(k).op(W.I32_WRAP_I64, W.I32_ADD).set(at);
}

/** Locals the three operations share (after their parameters): E, KEY, KS, T, S (i32) and K (i64). */
interface Frame {
  E: number;
  KEY: number;
  KS: number;
  T: number;
  S: number;
  K: number;
}

/**
 * The entry checks the three operations share: r1 (parameter 0) a placed hash map (its map-table entry
 * offset in E), the key r2 (parameter 1) in the current frame (its linear address in KEY, the key size
 * in KS, the table in T); else `decline`.
 */
function entry(b: Body, f: Frame, r10: number, fp: number, decline: () => void): void {
  b.get(0).i64(MAP_SLOTS, 0).op(W.I64_GE_U).if();
  decline();
  b.end();
  b.get(0).op(W.I32_WRAP_I64).i32(Math.log2(MAP_BYTES)).op(W.I32_SHL).tee(f.E);
  b.mem(W.I32_LOAD, 2, MEM_MAPS).i32(KIND_HASH).op(W.I32_NE).if();
  decline();
  b.end();
  b.get(f.E)
    .mem(W.I32_LOAD, 2, MEM_MAPS + 4)
    .set(f.KS);
  b.get(f.E)
    .mem(W.I32_LOAD, 2, MEM_MAPS + 20)
    .set(f.T);
  inFrame(b, 1, r10, fp, f.KS, f.KEY, f.K, decline);
}

/** S = the key's slot or -1 (its hash in `h` when given). */
function find(b: Body, f: Frame, h?: number): void {
  b.get(f.T).get(f.KEY).get(f.KS);
  b.get(f.KEY).get(f.KS).call(Fn.HashOf);
  if (h !== undefined) b.tee(h);
  b.call(Fn.HashFind).set(f.S);
}

/** The map-table entry's field i (E: the entry's offset). */
function entryField(b: Body, f: Frame, i: number): Body {
  return b.get(f.E).mem(W.I32_LOAD, 2, MEM_MAPS + 4 * i);
}

/**
 * lookup(r1, r2, r10, frame) -> r0: the value pointer with its element's tag (what the helper's retPtr
 * gives), 0 for a key not in the map (LRU maps: the element made the most recently used), or -1 when the
 * helper must run.
 */
function lookupBody(): Uint8Array {
  const f: Frame = { E: 4, KEY: 5, KS: 6, T: 7, S: 8, K: 9 };
  const b = new Body();
  const decline = (): void => void b.i64(-1, -1).op(W.RETURN);
  entry(b, f, 2, 3, decline);
  find(b, f);
  b.get(f.S).i32(0).op(W.I32_LT_S).if().i64(0, 0).op(W.RETURN).end();
  entryField(b, f, 7).i32(LRU).op(W.I32_AND).if();
  touch(b, f.T, f.S);
  b.end();
  entryField(b, f, 3).get(f.S).op(W.I32_ADD, W.I64_EXTEND_I32_U).i64(32, 0).op(W.I64_SHL);
  entryField(b, f, 2).get(f.S);
  entryField(b, f, 4).op(W.I32_MUL, W.I32_ADD, W.I64_EXTEND_I32_U, W.I64_OR);
  return b.end().bytes();
}

/** memory.copy (dest, src, n on the stack) and memory.fill (dest, byte, n). */
const memoryCopy = (b: Body): Body => b.op(0xfc).u32(10).op(0, 0);
const memoryFill = (b: Body): Body => b.op(0xfc).u32(11).op(0);

/**
 * update(r1, r2, r3, r4, r10, frame) -> r0: HashMap.progUpdate on a placed map — an existing key's value
 * written in place (and touched on LRU maps), a new key inserted (evicting the least recently used
 * element of a full LRU map), 0 or -errno as the helper returns; SLOW (1) when the helper must run.
 */
function updateBody(): Uint8Array {
  const f: Frame = { E: 6, KEY: 7, KS: 8, T: 9, S: 10, K: 15 };
  const VAL = 11;
  const VS = 12;
  const H = 13;
  const X = 14;
  const b = new Body();
  const decline = (): void => void b.i64(SLOW, 0).op(W.RETURN);
  const fail = (errno: number): void => void b.i64(-errno, -1).op(W.RETURN);
  entry(b, f, 4, 5, decline);
  entryField(b, f, 7).tee(X).i32(WRITABLE).op(W.I32_AND, W.I32_EQZ).if();
  decline();
  b.end();
  b.get(X).i32(8).op(W.I32_SHR_U).tee(VS).get(f.KS).op(W.I32_ADD).i32(HELPER_BYTES_PER_INSN).op(W.I32_GE_U).if();
  decline(); // (the helper charges the budget for them)
  b.end();
  // flags: BPF_ANY, BPF_NOEXIST, BPF_EXIST, with or without BPF_F_LOCK (4)
  b.get(3).i64(~4, -1).op(W.I64_AND).i64(2, 0).op(W.I64_GT_U).if();
  decline();
  b.end();
  inFrame(b, 2, 4, 5, VS, VAL, f.K, decline);
  find(b, f, H);
  const flag = (bit: number): Body => b.get(3).op(W.I32_WRAP_I64).i32(bit).op(W.I32_AND);
  const t = (tf: TableField): Body => field(b, f.T, tf);
  b.get(f.S).i32(0).op(W.I32_GE_S).if();
  flag(1).if();
  fail(E.EEXIST);
  b.end();
  b.get(X).i32(LRU).op(W.I32_AND).if();
  touch(b, f.T, f.S);
  b.end();
  b.else();
  flag(2).if();
  fail(E.ENOENT);
  b.end();
  // full: E2BIG, or (LRU) evict the head — once it is known the insert needs no growing of the buckets
  t(TableField.Count);
  t(TableField.Capacity).op(W.I32_GE_S).if();
  b.get(X).i32(LRU).op(W.I32_AND, W.I32_EQZ).if();
  fail(E.E2BIG);
  b.end();
  b.end();
  // the count after the insert: count + 1, or count when an element is evicted first
  t(TableField.Count);
  t(TableField.Count);
  t(TableField.Capacity).op(W.I32_LT_S, W.I32_ADD);
  t(TableField.Mask).i32(1).op(W.I32_ADD).op(W.I32_GT_S);
  t(TableField.Mask).i32(1).op(W.I32_ADD);
  t(TableField.MaxBuckets).op(W.I32_LT_S, W.I32_AND).if();
  decline(); // (KeyTable.grow is JavaScript's)
  b.end();
  t(TableField.Count);
  t(TableField.Capacity).op(W.I32_GE_S).if();
  b.get(f.T);
  t(TableField.Head).call(Fn.HashRemove);
  b.end();
  // a slot: the free stack's top, else the next fresh one
  t(TableField.FreeTop).i32(0).op(W.I32_GT_S).if();
  b.get(f.T);
  t(TableField.FreeTop)
    .i32(1)
    .op(W.I32_SUB)
    .tee(f.S)
    .mem(W.I32_STORE, 2, 4 * TableField.FreeTop);
  elem(b, f.T, TableField.Free, f.S).mem(W.I32_LOAD, 2, 0).set(f.S);
  b.else();
  t(TableField.Fresh).tee(f.S);
  t(TableField.Capacity).op(W.I32_GE_S).if();
  fail(E.E2BIG);
  b.end();
  b.get(f.T)
    .get(f.S)
    .i32(1)
    .op(W.I32_ADD)
    .mem(W.I32_STORE, 2, 4 * TableField.Fresh);
  b.end();
  // key, hash, chain, list, count
  t(TableField.Keys).get(f.S).get(f.KS).op(W.I32_MUL, W.I32_ADD).get(f.KEY).get(f.KS);
  memoryCopy(b);
  elem(b, f.T, TableField.Hashes, f.S).get(H).mem(W.I32_STORE, 2, 0);
  b.get(H);
  t(TableField.Mask).op(W.I32_AND).set(H); // (H is the bucket from here on)
  elem(b, f.T, TableField.Chain, f.S);
  elem(b, f.T, TableField.Buckets, H).mem(W.I32_LOAD, 2, 0).i32(1).op(W.I32_SUB).mem(W.I32_STORE, 2, 0);
  elem(b, f.T, TableField.Buckets, H).get(f.S).i32(1).op(W.I32_ADD).mem(W.I32_STORE, 2, 0);
  b.get(f.T).get(f.S).call(Fn.HashLinkTail);
  b.get(f.T);
  t(TableField.Count)
    .i32(1)
    .op(W.I32_ADD)
    .mem(W.I32_STORE, 2, 4 * TableField.Count);
  // a new element's value starts zeroed
  entryField(b, f, 6).get(f.S);
  entryField(b, f, 4).op(W.I32_MUL, W.I32_ADD).i32(0);
  entryField(b, f, 4);
  memoryFill(b);
  b.end();
  entryField(b, f, 6).get(f.S);
  entryField(b, f, 4).op(W.I32_MUL, W.I32_ADD).get(VAL).get(VS);
  memoryCopy(b);
  return b.i64(0, 0).end().bytes();
}

/** delete(r1, r2, r10, frame) -> r0: HashMap.progDelete on a placed map, 0 or -ENOENT; SLOW when the helper must run. */
function deleteBody(): Uint8Array {
  const f: Frame = { E: 4, KEY: 5, KS: 6, T: 7, S: 8, K: 9 };
  const b = new Body();
  const decline = (): void => void b.i64(SLOW, 0).op(W.RETURN);
  entry(b, f, 2, 3, decline);
  entryField(b, f, 7).i32(WRITABLE).op(W.I32_AND, W.I32_EQZ).if();
  decline();
  b.end();
  find(b, f);
  b.get(f.S).i32(0).op(W.I32_LT_S).if().i64(-E.ENOENT, -1).op(W.RETURN).end();
  b.get(f.T).get(f.S).call(Fn.HashRemove);
  return b.i64(0, 0).end().bytes();
}

const I64 = W.I64;
const I32 = W.I32;

/** The module's hash-map functions, in the order body.ts Fn numbers them (HashOf first). */
export function hashFuncs(): ModuleFunc[] {
  return [
    { type: { params: [I32, I32], results: [I32] }, locals: [{ count: 3, type: I32 }], body: hashOfBody() },
    { type: { params: I32s(4), results: [I32] }, locals: [{ count: 3, type: I32 }], body: findBody() },
    { type: { params: [I32, I32], results: [] }, locals: [{ count: 2, type: I32 }], body: unlinkBody() },
    { type: { params: [I32, I32], results: [] }, locals: [{ count: 1, type: I32 }], body: linkTailBody() },
    { type: { params: [I32, I32], results: [] }, locals: [{ count: 3, type: I32 }], body: removeBody() },
    {
      type: { params: [I64, I64, I64, I32], results: [I64] },
      locals: [
        { count: 5, type: I32 },
        { count: 1, type: I64 },
      ],
      body: lookupBody(),
    },
    {
      type: { params: [I64, I64, I64, I64, I64, I32], results: [I64] },
      locals: [
        { count: 9, type: I32 },
        { count: 1, type: I64 },
      ],
      body: updateBody(),
    },
    {
      type: { params: [I64, I64, I64, I32], results: [I64] },
      locals: [
        { count: 5, type: I32 },
        { count: 1, type: I64 },
      ],
      body: deleteBody(),
    },
  ];
}
