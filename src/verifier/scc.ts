/**
 * The program's loops as Linux 6.18 finds them (compute_scc): strongly connected components of each
 * function's instruction graph. A component counts when it has two or more instructions, an instruction
 * that jumps to itself, or a call of a helper that calls a callback (its callback's exit comes back to the
 * call: an implicit loop). The walk keeps, per loop and chain of call sites into it, whether paths were
 * pruned there against states of the unfinished loop (walk.ts: the kernel's bpf_scc_visit and backedges).
 */
import type { Instruction } from '../isa/instruction.js';
import { callsCallback, successor } from './cfg.js';
import type { State } from './state.js';

/**
 * Component number (1-based) of each slot, 0 outside any loop. Iterative Tarjan over the slots (no
 * recursion to overflow on a long program).
 */
export function computeSccs(insns: readonly Instruction[], index: Int32Array): Int32Array {
  const slots = index.length;
  const scc = new Int32Array(slots);
  const order = new Int32Array(slots).fill(-1);
  const low = new Int32Array(slots);
  const onStack = new Uint8Array(slots);
  const stack: number[] = [];
  const valid = (s: number) => (s >= 0 && s < slots && index[s]! >= 0 ? s : -1);
  const succ = (pc: number, k: number) => valid(successor(insns[index[pc]!]!, k));
  let counter = 0;
  let next = 1;
  // The DFS: each frame is a slot and the next of its two successors to look at.
  const dfsPc: number[] = [];
  const dfsK: number[] = [];
  for (const root of insns) {
    if (order[root.pc] !== -1) continue;
    dfsPc.push(root.pc);
    dfsK.push(0);
    order[root.pc] = low[root.pc] = counter++;
    stack.push(root.pc);
    onStack[root.pc] = 1;
    while (dfsPc.length) {
      const top = dfsPc.length - 1;
      const v = dfsPc[top]!;
      const k = dfsK[top]!;
      if (k < 2) {
        dfsK[top] = k + 1;
        const w = succ(v, k);
        if (w < 0) continue;
        if (order[w] === -1) {
          order[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          dfsPc.push(w);
          dfsK.push(0);
        } else if (onStack[w]) low[v] = Math.min(low[v]!, order[w]!);
        continue;
      }
      dfsPc.pop();
      dfsK.pop();
      if (dfsPc.length) {
        const u = dfsPc[dfsPc.length - 1]!;
        low[u] = Math.min(low[u]!, low[v]!);
      }
      if (low[v] !== order[v]) continue;
      // v is a component's root: pop it. It is a loop with two or more members, a self jump, or a
      // callback-calling helper's call.
      const members: number[] = [];
      for (;;) {
        const w = stack.pop()!;
        onStack[w] = 0;
        members.push(w);
        if (w === v) break;
      }
      const insn = insns[index[v]!]!;
      const loop = members.length > 1 || succ(v, 0) === v || succ(v, 1) === v || callsCallback(insn);
      if (!loop) continue;
      for (const w of members) scc[w] = next;
      next++;
    }
  }
  return scc;
}

/**
 * compute_scc_callchain: the loop a state at `pc` is in, named with the call sites that lead to it — the
 * first frame, outermost first, whose instruction (the next frame's call site, or `pc` for the innermost)
 * is in a loop. Undefined when no frame is.
 */
export function sccCallchain(scc: Int32Array, st: State, pc: number): string | undefined {
  const frames = st.frames;
  const sites: number[] = [];
  for (let i = 0; i < frames.length; i++) {
    const at = i < frames.length - 1 ? frames[i + 1]!.callsite : pc;
    const id = at >= 0 && at < scc.length ? scc[at]! : 0;
    if (id) return `${sites.join(',')}:${id}`;
    sites.push(at);
  }
  return undefined;
}
