/**
 * Stage 2's driver: a depth-first walk of every path, remembering states at prune points, ending paths
 * that a fully explored state covers, detecting loops that return to an identical state, and enforcing the
 * kernel's complexity limits (1,000,000 instructions processed, 8,192 pending branches).
 */
import type { Env } from './env.js';
import { covers, widen } from './prune.js';
import { Rejection } from './reject.js';
import type { LogMark, WalkLog } from './log-format.js';
import { type State, cloneState } from './state.js';
import { step } from './step.js';

/** The kernel's limit on instructions processed (BPF_COMPLEXITY_LIMIT_INSNS). */
export const INSN_LIMIT = 1_000_000;
const JMP_SEQ_LIMIT = 8192;
/** States kept per instruction: beyond this a path just goes on without leaving one (memory stays bounded). */
const MAX_STATES_PER_INSN = 64;

interface Node {
  st: State;
  parent: Node | undefined;
  branches: number;
}

interface Path {
  pc: number;
  st: State;
  node: Node | undefined;
  from?: number;
  /** Where the log stood when the path was put aside (level 1 rewinds to it). */
  mark?: LogMark;
}

/** Counters of one walk, for the log's last line and benchmarks. */
export interface WalkStats {
  processed: number;
  totalStates: number;
  peakStates: number;
  maxStatesPerInsn: number;
}

export { WalkLog } from './log-format.js';

function finish(node: Node | undefined, live: { n: number }): void {
  while (node) {
    node.branches--;
    if (node.branches > 0) return;
    live.n--;
    node = node.parent;
  }
}

/** Walk every path of the program from `initial`; throws Rejection at the first fault. */
export function walk(env: Env, initial: State, log: WalkLog, stats: WalkStats, limit = INSN_LIMIT, start = 0): void {
  const explored = new Map<number, Node[]>();
  const work: Path[] = [{ pc: start, st: initial, node: undefined }];
  const live = { n: 0 };
  const callbackEntries = new Set<number>();
  for (const insn of env.insns) if (insn.code === 0x18 && insn.src === 4) callbackEntries.add(insn.pc + insn.imm + 1);

  while (work.length) {
    const path = work.pop()!;
    let { pc, st } = path;
    let node = path.node;
    log.pathStart(pc, st, path.from, path.mark);
    for (;;) {
      if (++stats.processed > limit)
        throw new Rejection(pc, `BPF program is too large. Processed ${stats.processed} insn`);
      const idx = env.cfg.index.get(pc);
      if (idx === undefined) throw new Rejection(pc, `invalid insn idx ${pc} insn_cnt ${env.insns.length}`);
      const insn = env.insns[idx]!;

      if (env.cfg.prunePoints.has(pc) || callbackEntries.has(pc)) {
        const list = explored.get(pc) ?? [];
        const liveRegs = env.cfg.liveIn.get(pc) ?? 0x7ff;
        let pruned = false;
        for (const n of list) {
          if (n.branches > 0) {
            if (callbackEntries.has(pc)) {
              if (covers(n.st, st, liveRegs, false)) pruned = true;
            } else if (covers(n.st, st, liveRegs, true)) {
              throw new Rejection(pc, `infinite loop detected at insn ${pc}`);
            }
          } else if (covers(n.st, st, liveRegs, false)) pruned = true;
          if (pruned) break;
        }
        if (pruned) {
          log.safe(pc);
          finish(node, live);
          break;
        }
        if (callbackEntries.has(pc)) {
          const inProgress = list.filter((n) => n.branches > 0);
          const last = inProgress[inProgress.length - 1];
          const wide = last && widen(last.st, st);
          if (wide) st = wide;
        }
        if (list.length < MAX_STATES_PER_INSN) {
          const n: Node = { st: cloneState(st), parent: node, branches: 1 };
          list.push(n);
          explored.set(pc, list);
          node = n;
          stats.totalStates++;
          live.n++;
          if (live.n > stats.peakStates) stats.peakStates = live.n;
          if (list.length > stats.maxStatesPerInsn) stats.maxStatesPerInsn = list.length;
        }
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
      if (next.length === 0) {
        finish(node, live);
        break;
      }
      for (let i = 1; i < next.length; i++) {
        if (node) node.branches++;
        work.push({ pc: next[i]!.pc, st: next[i]!.st, node, from: pc, mark: log.mark() });
      }
      if (work.length > JMP_SEQ_LIMIT) throw new Rejection(pc, `The sequence of ${work.length} jumps is too complex.`);
      pc = next[0]!.pc;
      st = next[0]!.st;
    }
  }
}
