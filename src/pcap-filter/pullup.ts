/**
 * Pull-up: the reordering that makes `host a or host b or ...` as short as libpcap makes it (its
 * or_pullup/and_pullup). After `ip src == a` fails, the chain goes on to `ip dst == a`, then to host b's
 * `ip src == b`; pulling the second test of the source address up, right after the first, leaves A
 * holding the source address so its load goes as redundant, and the tests of one field end up together
 * (three hosts: three `jeq`s on one load, instead of a load per test).
 *
 * A chain is a run of blocks linked by their false branches (their true branches for and_pullup) that all
 * share one true target T. When a block of the chain tests the value A held coming into the chain head,
 * and blocks testing other values sit in between, that block (with the blocks right after it that test
 * the same value without reloading it) moves up to the head. It is only done when
 * the move changes no value anything reads:
 * - every chain block after the head has one predecessor, so no other path sees the new order;
 * - the moved block's statements only compute A from constants and packet loads (at offsets from X only
 *   if the skipped blocks leave X alone; no scratch memory) and leave A as it was on entry, so the blocks
 *   it now precedes see what they saw;
 * - where the moved block's false branch used to go, A is not read (A there now comes from another block);
 * - at T, nothing the skipped blocks define (other than A) is read.
 */
import { BPF_ABS, BPF_ALU, BPF_IMM, BPF_IND, BPF_K, BPF_LD, BPF_LEN, bpfClass, bpfMode, bpfSrc } from '../cbpf/insn.js';
import type { Block } from './blocks.js';

/** What the pull-up needs to know of the optimizer's dataflow, for the graph as it stands. */
export interface PullupFacts {
  /** The blocks in layout order (a topological order). */
  order: Block[];
  /** Predecessors of each block (each listed once). */
  preds: Map<Block, Block[]>;
  /** The value number A holds when a block ends. */
  exitA(b: Block): number;
  /** Bit mask of the registers read before being written from a block on (bit 16 is A). */
  liveIn(b: Block): number;
  /** Bit mask of the registers a block's statements write. */
  defs(b: Block): number;
}

const A_BIT = 1 << 16;
const X_BIT = 1 << 17;

const isJump = (b: Block): boolean => b.ret === undefined && b.jt !== b.jf;

/**
 * Statements that recompute A from nothing but constants and packet bytes at fixed offsets, or at
 * offsets from X when `xKept` (the skipped blocks leave X alone).
 */
function selfContained(b: Block, xKept: boolean): boolean {
  if (b.stmts.length === 0 || bpfClass(b.stmts[0]!.code) !== BPF_LD) return false;
  for (const s of b.stmts) {
    const cls = bpfClass(s.code);
    if (cls === BPF_LD) {
      const mode = bpfMode(s.code);
      if (mode !== BPF_ABS && mode !== BPF_IMM && mode !== BPF_LEN && !(mode === BPF_IND && xKept)) return false;
    } else if (cls !== BPF_ALU || bpfSrc(s.code) !== BPF_K) return false;
  }
  return bpfSrc(b.jcode) === BPF_K;
}

/**
 * Do every pull-up the graph allows, along false branches (`side` 'jf', libpcap's or_pullup) or true
 * branches ('jt', and_pullup). Blocks touched by one pull-up are left alone by the rest of this call,
 * since the facts describe the graph as it was. Returns whether anything moved.
 */
export function pullUp(facts: PullupFacts, side: 'jt' | 'jf'): boolean {
  const other = side === 'jf' ? 'jt' : 'jf';
  const touched = new Set<Block>();
  let moved = false;
  const single = (b: Block): boolean => (facts.preds.get(b)?.length ?? 0) === 1;
  // Blocks that a walk testing value `val` passed (they test it too) on its way to a pull-up that came to
  // nothing. From such a block the walk and every check after it go the same way (they depend on the block
  // and the value only, while nothing moves), so a later walk that reaches it with that value gives up
  // there. Without this a chain of n blocks testing one value (`ip[ip[ip[...]]]`: an IPv4 check per
  // level) was walked from each of its blocks, n^2/2 steps. Forgotten when something moves.
  let failedWith = new Map<Block, number>();
  for (const b of facts.order) {
    if (!isJump(b) || touched.has(b)) continue;
    const ins = facts.preds.get(b) ?? [];
    if (ins.length === 0 || ins.some((p) => !isJump(p) || touched.has(p))) continue;
    const val = facts.exitA(ins[0]!);
    if (ins.some((p) => facts.exitA(p) !== val)) continue;
    const shared = b[other];
    // Walk past the blocks that test the incoming value itself.
    const chain: Block[] = [...ins];
    // the blocks of the chain that test the incoming value (failedWith's)
    const same: Block[] = [];
    const giveUp = () => {
      for (const d of same) failedWith.set(d, val);
    };
    let prev: Block | null = null;
    let diff: Block = b;
    let ok = true;
    for (;;) {
      chain.push(diff);
      if (
        !isJump(diff) ||
        diff[other] !== shared ||
        touched.has(diff) ||
        (diff !== b && !single(diff)) ||
        (facts.exitA(diff) === val && failedWith.get(diff) === val)
      ) {
        ok = false;
        giveUp();
        break;
      }
      if (facts.exitA(diff) !== val) break;
      same.push(diff);
      prev = diff;
      diff = diff[side]!;
    }
    if (!ok) continue;
    // Then past blocks testing other values, to one that tests the incoming value again.
    let before = diff;
    let pull = diff[side]!;
    let skippedDefs = facts.defs(diff);
    for (;;) {
      chain.push(pull);
      if (!isJump(pull) || pull[other] !== shared || touched.has(pull) || !single(pull)) {
        ok = false;
        break;
      }
      if (facts.exitA(pull) === val) break;
      skippedDefs |= facts.defs(pull);
      before = pull;
      pull = pull[side]!;
    }
    if (!ok || !selfContained(pull, !(skippedDefs & X_BIT))) {
      giveUp();
      continue;
    }
    // Blocks right after it that test the same value without reloading it move with it.
    let last = pull;
    for (let n = pull[side]!; isJump(n) && n.stmts.length === 0 && n[other] === shared; n = n[side]!) {
      if (touched.has(n) || !single(n) || facts.exitA(n) !== val || bpfSrc(n.jcode) !== BPF_K) break;
      chain.push(n);
      last = n;
    }
    const after = last[side]!;
    if (facts.liveIn(after) & A_BIT || facts.liveIn(shared!) & skippedDefs & ~A_BIT) {
      giveUp();
      continue;
    }
    // Move it.
    before[side] = after;
    last[side] = diff;
    if (prev) prev[side] = pull;
    else
      for (const p of ins) {
        if (p.jt === b) p.jt = pull;
        if (p.jf === b) p.jf = pull;
      }
    for (const c of chain) touched.add(c);
    touched.add(after);
    moved = true;
    failedWith = new Map();
  }
  return moved;
}
