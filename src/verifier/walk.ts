/**
 * Stage 2's driver: a depth-first walk of every path, remembering states at prune points, ending paths
 * that a fully explored state covers, detecting loops that return to an identical state, and enforcing the
 * kernel's complexity limits (1,000,000 instructions processed, 8,192 pending branches).
 */
import type { Env } from './env.js';
import { type Checkpoint, Precision, type Segment } from './precision.js';
import { callsCallback } from './cfg.js';
import { iterArgActive, iterDepthsDiffer, isIterNextCall } from './iter-kfunc.js';
import { Compare, covers } from './prune.js';
import { computeSccs, sccCallchain } from './scc.js';
import { OP_MAY_GOTO } from './fields.js';
import { Rejection } from './reject.js';
import type { LogMark, WalkLog } from './log-format.js';
import { type Reg, type State, cloneState, forEachReg } from './state.js';
import { step } from './step.js';

/** The kernel's limit on instructions processed (BPF_COMPLEXITY_LIMIT_INSNS). */
export const INSN_LIMIT = 1_000_000;
const JMP_SEQ_LIMIT = 8192;

interface Node extends Checkpoint {
  st: State;
  /** The instruction it was remembered at (a list holds one hash bucket, explored_state). */
  pc: number;
  parent: Node | undefined;
  branches: number;
  /** Paths this state pruned, and new states added at its instruction that it did not cover. */
  hits: number;
  misses: number;
  /** Remembered states above this one on its path (the kernel's dfs_depth). */
  depth: number;
  /**
   * Stack slots (a bit per slot, 64 per frame) the walk from this state on read before writing them whole
   * (REG_LIVE_READ: final once the state is finished), and those written whole on the way to it.
   */
  read: Uint32Array;
  written: Uint32Array;
  /** The loop it is in, with the call sites into it (sccCallchain), or undefined. */
  scc: string | undefined;
}

/**
 * A path pruned against a state of an unfinished loop (the kernel's bpf_scc_backedge): what the covering
 * state's continuation relies on is not final yet, so it is passed on again when the loop is done.
 */
interface Backedge {
  /** The pruned path's segment, instruction and state where it was pruned (for backtracking). */
  seg: Segment;
  pc: number;
  st: State;
  live: number;
  /** Its last remembered state and the slots it wrote whole since (for read marks). */
  node: Node | undefined;
  written: Uint32Array;
  /** The state that covered it. */
  equal: Node;
}

/** A loop, by its call chain, while it is walked (the kernel's bpf_scc_visit). */
interface Visit {
  /** The first state remembered in it: when that one is fully explored, so is the loop. */
  entry: Node | undefined;
  backedges: Backedge[];
}

/** propagate_backedges gives up (marks every scalar precise) after this many rounds. */
const MAX_BACKEDGE_ITERS = 64;

/** Words of a stack-slot bitset: 64 slots in each of 8 frames. */
const SLOT_WORDS = 16;
const slotBit = (a: Uint32Array, frame: number, k: number): boolean =>
  (a[2 * frame + (k >> 5)]! & (1 << (k & 31))) !== 0;
const setSlotBit = (a: Uint32Array, frame: number, k: number): void => {
  a[2 * frame + (k >> 5)]! |= 1 << (k & 31);
};

/** The kernel's env->jmps_processed and the insn/jump counts when the last state was remembered. */
interface Counters {
  jmps: number;
  prevJmps: number;
  prevInsns: number;
  processed: () => number;
  /** Set by visitState: remember the current state at this instruction. */
  addNew: boolean;
  /** Set by visitState when it prunes: the state that covered, and whether in a loop (a backedge). */
  hit: Node | undefined;
  loop: boolean;
  /** History entries of the current segment (the kernel remembers a state after 40, to bound them). */
  histCount: number;
  /** Set by visitState at a may_goto: the loop's unfinished state there, one iteration up (find_prev_entry). */
  loopEntry: State | undefined;
  /** Set by visitState: the states of the bucket it went through (the kernel's states_cnt). */
  statesCnt: number;
}

const PRUNED = 0;
const KEEP_GOING = 1;
const isJmpClass = (code: number): boolean => (code & 7) === 5 || (code & 7) === 6;

/**
 * The kernel's is_state_visited at a prune point: PRUNED when a state covers `st`, a throw for a loop
 * back to an identical state, else KEEP_GOING. Decides too whether `st` is worth remembering
 * (counters.addNew), with the kernel's heuristics: a new state only after 2 jumps and 8 instructions since
 * the last one (20 and 100 inside a loop, where each iteration's state differs), and a remembered state
 * that keeps missing is dropped. Both only cost pruning, never soundness: a path not pruned is walked in
 * full.
 */
function visitState(
  list: Node[] | undefined,
  pc: number,
  st: State,
  liveRegs: number,
  callsCallback: boolean,
  c: Counters,
  mayGoto: boolean,
  incomplete: (n: Node) => boolean,
  iterNext: boolean,
  liveAt: Uint16Array,
): typeof PRUNED | typeof KEEP_GOING {
  const processed = c.processed();
  // A may_goto, a callback-calling helper's call and an iterator's _next are forced checkpoints
  // (mark_force_checkpoint): each iteration's state is remembered there.
  const forceAt = callsCallback || mayGoto || iterNext;
  const force = forceAt || c.histCount > 40;
  c.loopEntry = undefined;
  c.addNew = force || (c.jmps - c.prevJmps >= 2 && processed - c.prevInsns >= 8);
  c.statesCnt = 0;
  if (!list) return KEEP_GOING;
  // Newest first, as the kernel's list (a new state goes to its head): the order decides which state
  // prunes and which ones count misses.
  for (let i = list.length - 1; i >= 0; i--) {
    const n = list[i]!;
    c.statesCnt++;
    // The bucket's states at other instructions (or called from elsewhere) are only counted.
    if (n.pc !== pc) continue;
    if (n.branches > 0) {
      const depth = n.st.mayGotoDepth ?? 0;
      const curDepth = st.mayGotoDepth ?? 0;
      // find_prev_entry: the newest unfinished state here on the path (one iteration up), not an older one
      // (an outer loop's earlier pass, whose scalars a later decision has not made precise).
      if (mayGoto && !c.loopEntry && sameCallsites(n.st, st)) c.loopEntry = n.st;
      // is_state_visited at a may_goto: another iteration within the ranges of an unfinished one adds
      // nothing (that one's walk covers it).
      if (mayGoto && depth !== curDepth && covers(n.st, st, liveRegs, Compare.Ranges)) {
        n.hits++;
        c.hit = n;
        c.loop = true;
        return PRUNED;
      }
      if (iterNext) {
        // An open-coded iterator's loop converges at its _next: another iteration within the ranges of an
        // unfinished one's state, its iterator still ACTIVE, adds nothing (the iterator eventually gives
        // NULL for good). Nor is an identical state there a loop.
        if (covers(n.st, st, liveRegs, Compare.Ranges) && iterArgActive(st)) {
          n.hits++;
          c.hit = n;
          c.loop = true;
          return PRUNED;
        }
      } else if (callsCallback) {
        // Another call of the callback within the ranges of an unfinished one's state adds nothing: the
        // iterations converged. (An unfinished state's precision marks are not final: every scalar counts.)
        // Nor is an identical state a loop: the callback may be called again and again.
        if (covers(n.st, st, liveRegs, Compare.Ranges)) {
          n.hits++;
          c.hit = n;
          c.loop = true;
          return PRUNED;
        }
      } else if (
        depth === curDepth &&
        (n.st.callbackUnroll ?? 0) === (st.callbackUnroll ?? 0) &&
        sameFrameShape(n.st, st) &&
        !iterDepthsDiffer(n.st, st) &&
        covers(n.st, st, liveRegs, Compare.Exact)
      ) {
        // Only within one call of a callback: each call's walk of its body is a new iteration.
        throw new Rejection(pc, `infinite loop detected at insn ${pc}`);
      }
      if (!force && c.jmps - c.prevJmps < 20 && processed - c.prevInsns < 100) c.addNew = false;
    } else {
      // A state of a loop that paths were pruned against while it was unfinished may miss marks those
      // paths' continuations add (incomplete_read_marks): until the loop is done it is compared by ranges,
      // and a path it covers is one more backedge.
      const loop = incomplete(n);
      if (covers(n.st, st, liveRegs, loop ? Compare.Ranges : Compare.Covers, n.read, liveAt)) {
        n.hits++;
        c.hit = n;
        c.loop = loop;
        return PRUNED;
      }
    }
    if (c.addNew) n.misses++;
    // Unfinished states at a forced checkpoint stay longer: evicting them early hinders convergence.
    const keep = forceAt && n.branches > 0 ? 64 : 3;
    if (n.misses > n.hits * keep + keep) list.splice(i, 1);
  }
  return KEEP_GOING;
}

/**
 * find_prev_entry: the newest unfinished state at `pc` with the same call sites as `st` and fewer
 * remembered states above it than `depth` — the same loop, one iteration up.
 */
function findPrevEntry(list: Node[] | undefined, pc: number, st: State, depth: number): State | undefined {
  if (!list) return undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const n = list[i]!;
    if (n.pc === pc && n.branches > 0 && n.depth < depth && sameCallsites(n.st, st)) return n.st;
  }
  return undefined;
}

/** same_callsites: the same frames, called from the same instructions. */
function sameCallsites(a: State, b: State): boolean {
  if (a.frames.length !== b.frames.length) return false;
  for (let i = 0; i < a.frames.length; i++) if (a.frames[i]!.callsite !== b.frames[i]!.callsite) return false;
  return true;
}

/**
 * clear_singular_ids, before a state is remembered: a scalar id no other register or spilled slot shares
 * links nothing, so it is dropped (fewer ids to pair when states are compared, as in the kernel).
 */
function clearSingularIds(st: State): void {
  const count = new Map<number, number>();
  const note = (r: Reg): Reg => {
    if (r.kind === 'scalar' && r.id) count.set(r.id, (count.get(r.id) ?? 0) + 1);
    return r;
  };
  forEachReg(st, note);
  let single = false;
  for (const n of count.values()) if (n === 1) single = true;
  if (!single) return;
  forEachReg(st, (r) => (r.kind === 'scalar' && r.id && count.get(r.id) === 1 ? { ...r, id: 0 } : r));
}

/** states_maybe_looping: only a state in the same frame can be the one a loop returns to. */
const sameFrameShape = (a: State, b: State): boolean =>
  a.frames.length === b.frames.length &&
  a.frames[a.frames.length - 1]!.callsite === b.frames[b.frames.length - 1]!.callsite;

interface Path {
  pc: number;
  st: State;
  node: Node | undefined;
  from?: number;
  /** The path's history since its last remembered state (precision tracking). */
  seg: Segment;
  /** Where the log stood when the path was put aside (level 1 rewinds to it). */
  mark?: LogMark;
  /** Stack slots written whole since the path's last remembered state. */
  written: Uint32Array;
}

/** Counters of one walk, for the log's last line and benchmarks. */
export interface WalkStats {
  processed: number;
  totalStates: number;
  peakStates: number;
  maxStatesPerInsn: number;
}

export { WalkLog } from './log-format.js';

/** A path ended: its remembered states lose a branch; each one fully explored is `done` (update_branch_counts). */
function finish(node: Node | undefined, live: { n: number }, done: (n: Node) => void): void {
  while (node) {
    node.branches--;
    if (node.branches > 0) return;
    live.n--;
    done(node);
    node = node.parent;
  }
}

/** Walk every path of the program from `initial`; throws Rejection at the first fault. */
export function walk(env: Env, initial: State, log: WalkLog, stats: WalkStats, limit = INSN_LIMIT, start = 0): void {
  const explored = new Map<number, Node[]>();
  const precision = new Precision(env.insns, env.cfg.index, (target) => env.globals.has(target), log);
  const outer = env.precision;
  env.precision = precision;
  try {
    walkPaths(env, initial, log, stats, limit, start, explored, precision);
  } finally {
    env.precision = outer;
  }
}

/** Each verification's counters (by its stats object, which all its walks share). */
const carriedCounters = new WeakMap<WalkStats, Counters>();

function walkPaths(
  env: Env,
  initial: State,
  log: WalkLog,
  stats: WalkStats,
  limit: number,
  start: number,
  explored: Map<number, Node[]>,
  precision: Precision,
): void {
  const work: Path[] = [
    {
      pc: start,
      st: initial,
      node: undefined,
      seg: { first: start, hist: undefined, parent: undefined, prev: -1 },
      written: new Uint32Array(SLOT_WORDS),
    },
  ];
  // Stack slot liveness by read marks (the kernel's mark_reg_read, before Linux 6.18's static stack
  // liveness): a read marks the slot read in every remembered state above, up to the one whose segment
  // wrote it whole; a fully explored state's unread slots do not count when pruning.
  const cursor: { node: Node | undefined; written: Uint32Array } = { node: undefined, written: work[0]!.written };
  const markReadFrom = (start: Node | undefined, written: Uint32Array, frame: number, k: number): boolean => {
    if (frame >= 8 || k >= 64 || slotBit(written, frame, k)) return false;
    let changed = false;
    for (let n = start; n; n = n.parent) {
      if (n.st.frames.length <= frame || slotBit(n.read, frame, k)) return changed;
      setSlotBit(n.read, frame, k);
      changed = true;
      if (slotBit(n.written, frame, k)) return changed;
    }
    return changed;
  };
  const markRead = (frame: number, k: number): void => {
    markReadFrom(cursor.node, cursor.written, frame, k);
  };
  // propagate_liveness: what the covering state's continuation read, the pruned path's would read.
  const inheritReads = (hit: Node, start: Node | undefined, written: Uint32Array): boolean => {
    let changed = false;
    const words = Math.min(2 * hit.st.frames.length, SLOT_WORDS);
    for (let w = 0; w < words; w++)
      for (let bits = hit.read[w]!; bits !== 0; bits &= bits - 1)
        if (markReadFrom(start, written, w >> 1, ((w & 1) << 5) | (31 - Math.clz32(bits & -bits)))) changed = true;
    return changed;
  };
  env.stackRead = markRead;
  env.stackWrite = (frame, k) => {
    if (frame < 8 && k < 64) setSlotBit(cursor.written, frame, k);
  };
  const live = { n: 0 };
  const { index, prunePoints, liveIn, slots } = env.cfg;
  const insns = env.insns;
  // Per slot: 1 a prune point, 2 a call of a helper that calls a callback (a forced checkpoint, where the
  // callback's loop converges: check_cfg's mark_calls_callback).
  const visitAt = Uint8Array.from(prunePoints);
  for (const insn of insns) if (callsCallback(insn)) visitAt[insn.pc]! |= 2;
  // 4: an iterator's _next call, a forced checkpoint too (mark_force_checkpoint), where its loop converges.
  let iterNexts = false;
  for (const insn of insns)
    if (isIterNextCall(env.kernelBtf, insn)) {
      visitAt[insn.pc]! |= 5;
      iterNexts = true;
    }
  // The jump and instruction counts go on from one walk to the next (the main program's, then each
  // global function's): the kernel keeps them in env and never resets them.
  let counters = carriedCounters.get(stats);
  if (!counters) {
    counters = {
      jmps: 0,
      prevJmps: 0,
      prevInsns: 0,
      processed: () => stats.processed,
      addNew: false,
      hit: undefined,
      loop: false,
      histCount: 0,
      loopEntry: undefined,
      statesCnt: 0,
    };
    carriedCounters.set(stats, counters);
  }
  // explored_state: the remembered states live in prog-length buckets, by the instruction xor the
  // innermost frame's call site (-1 for the entry), newest last here.
  const bucketOf = (pc: number, s: State): number => ((pc ^ s.frames[s.frames.length - 1]!.callsite) >>> 0) % slots;
  // Loops whose iterations are pruned against their own unfinished states — may_goto, a loop of callback
  // calls, an open-coded iterator — leave those states' marks incomplete until the loop is done. As the
  // kernel does (incomplete_read_marks, propagate_backedges), each loop and call chain into it is a visit:
  // its first remembered state is its entry, a path pruned against one of its unfinished states (or
  // against a finished one while the visit has such paths) is a backedge, and the visit's states are
  // compared by ranges while it has backedges. When the entry is fully explored the backedges take the
  // covering states' marks again until nothing changes, and the loop's states count by their marks.
  // (Without such a loop no path is ever pruned as a backedge: no visits are needed.)
  const loops = iterNexts || insns.some((i) => i.code === OP_MAY_GOTO || callsCallback(i));
  const scc = loops ? computeSccs(insns, index) : undefined;
  const visits = new Map<string, Visit>();
  const incomplete = (n: Node): boolean => n.scc !== undefined && (visits.get(n.scc)?.backedges.length ?? 0) > 0;
  const propagateBackedges = (visit: Visit): void => {
    for (let round = 0; ; round++) {
      if (round > MAX_BACKEDGE_ITERS) {
        for (const b of visit.backedges) precision.forceAllFrom(b.seg, b.pc, b.st);
        break;
      }
      let changed = false;
      for (const b of visit.backedges) {
        if (precision.propagateFrom(b.seg, b.pc, b.st, b.equal.st, b.live)) changed = true;
        if (inheritReads(b.equal, b.node, b.written)) changed = true;
      }
      if (!changed) break;
    }
    visit.backedges = [];
  };
  // maybe_exit_scc: the loop's entry is fully explored, so is the loop.
  const done = (n: Node): void => {
    if (n.scc === undefined) return;
    const visit = visits.get(n.scc);
    if (!visit || visit.entry !== n) return;
    visit.entry = undefined;
    propagateBackedges(visit);
  };

  while (work.length) {
    const path = work.pop()!;
    let { pc, st } = path;
    let node = path.node;
    cursor.node = node;
    cursor.written = path.written;
    precision.seg = path.seg;
    log.pathStart(pc, st, path.from, path.mark);
    // The instruction the kernel's log shows last when the limit stops it (the limit is checked before
    // an instruction is printed): the one processed before on this path, or the jump the path left from.
    let shown = path.from ?? pc;
    for (;;) {
      if (++stats.processed > limit)
        throw new Rejection(shown, `BPF program is too large. Processed ${stats.processed} insn`);
      const idx = pc >= 0 && pc < slots ? index[pc]! : -1;
      if (idx < 0) throw new Rejection(pc, `invalid insn idx ${pc} insn_cnt ${insns.length}`);
      const insn = insns[idx]!;
      precision.begin(pc, idx, st);

      const at = visitAt[pc]!;
      if (at !== 0) {
        const liveRegs = liveIn[pc]!;
        counters.histCount = precision.histCount;
        const mayGoto = insn.code === OP_MAY_GOTO;
        const iterNext = (at & 4) !== 0;
        const bucket = bucketOf(pc, st);
        const visit = visitState(
          explored.get(bucket),
          pc,
          st,
          liveRegs,
          (at & 2) !== 0,
          counters,
          mayGoto,
          incomplete,
          iterNext,
          liveIn,
        );
        env.loopEntry = mayGoto ? counters.loopEntry : undefined;
        if (visit === PRUNED) {
          // What the covering state's continuation relied on, this path relies on too.
          precision.arrive();
          const hit = counters.hit!;
          precision.propagate(hit.st, liveRegs);
          inheritReads(hit, cursor.node, cursor.written);
          if (counters.loop && hit.scc !== undefined) {
            // add_scc_backedge: the covering state's marks are not final; pass them on again later.
            let visit = visits.get(hit.scc);
            if (!visit) visits.set(hit.scc, (visit = { entry: undefined, backedges: [] }));
            visit.backedges.push({
              seg: { ...precision.seg },
              pc,
              st,
              live: liveRegs,
              node,
              written: cursor.written,
              equal: hit,
            });
          }
          log.safe(pc);
          finish(node, live, done);
          break;
        }
        if (counters.statesCnt > stats.maxStatesPerInsn) stats.maxStatesPerInsn = counters.statesCnt;
        const before = node;
        if (counters.addNew) {
          const list = explored.get(bucket) ?? [];
          // No cap on the states kept at an instruction: the kernel's (BPF_COMPLEXITY_LIMIT_STATES, 64 in
          // a bucket) binds only a loader without CAP_BPF; a privileged one keeps every state, and a dropped
          // checkpoint changes which later paths are pruned (a loop of callbacks unrolled past 64 calls).
          clearSingularIds(st);
          const seg = precision.seg;
          const n: Node = {
            st: cloneState(st),
            pc,
            parent: node,
            branches: 1,
            hits: 0,
            misses: 0,
            depth: node ? node.depth + 1 : 0,
            read: new Uint32Array(SLOT_WORDS),
            written: cursor.written,
            scc: scc ? sccCallchain(scc, st, pc) : undefined,
            first: seg.first,
            last: seg.prev,
            hist: seg.hist,
          };
          precision.checkpointed(n);
          // maybe_enter_scc: the first state remembered in a loop is its entry.
          if (n.scc !== undefined) {
            const visit = visits.get(n.scc);
            if (!visit) visits.set(n.scc, { entry: n, backedges: [] });
            else visit.entry ??= n;
          }
          list.push(n);
          explored.set(bucket, list);
          node = n;
          cursor.node = n;
          cursor.written = new Uint32Array(SLOT_WORDS);
          stats.totalStates++;
          live.n++;
          counters.prevJmps = counters.jmps;
          counters.prevInsns = stats.processed;
          if (live.n > stats.peakStates) stats.peakStates = live.n;
        }
        // process_iter_next_call widens the next iteration against the loop's entry one iteration up:
        // find_prev_entry from the state just remembered here (or from the path, when none was).
        if (iterNext)
          env.loopEntry = findPrevEntry(
            explored.get(bucket),
            pc,
            st,
            node ? node.depth + (node !== before ? 0 : 1) : 0,
          );
      }
      precision.arrive();
      if (isJmpClass(insn.code)) counters.jmps++;

      // A callback's exit goes back to its helper's call, widened against the state there one iteration up.
      if (insn.code === 0x95) {
        const f = st.frames[st.frames.length - 1]!;
        const caller: State = { frames: st.frames.slice(0, -1), refs: st.refs, lock: st.lock };
        if (st.rcu) caller.rcu = true;
        if (st.preempt) caller.preempt = st.preempt;
        env.loopEntry = f.callback
          ? findPrevEntry(explored.get(bucketOf(f.callsite, caller)), f.callsite, caller, node ? node.depth + 1 : 0)
          : undefined;
      }

      log.before(insn, st);
      let next;
      try {
        next = step(env, st, insn);
      } catch (err) {
        if (err instanceof Rejection) log.fault(insn, st);
        throw err;
      }
      log.after(next[0]?.st);
      precision.leave();
      if (next.length === 0) {
        finish(node, live, done);
        break;
      }
      for (let i = 1; i < next.length; i++) {
        if (node) node.branches++;
        work.push({
          pc: next[i]!.pc,
          st: next[i]!.st,
          node,
          from: pc,
          mark: log.mark(),
          seg: { ...precision.seg },
          written: cursor.written.slice(),
        });
      }
      if (work.length > JMP_SEQ_LIMIT) throw new Rejection(pc, `The sequence of ${work.length} jumps is too complex.`);
      shown = pc;
      pc = next[0]!.pc;
      st = next[0]!.st;
    }
  }
}
