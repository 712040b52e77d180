/**
 * Where the compiled engine puts a program's basic blocks.
 *
 * - Every program can use the *switch* layout: blocks are the cases of one `switch` in a loop and a jump
 *   sets pc and loops. It handles anything (loops, local calls, callbacks, entry at any pc) but V8 sees
 *   one big loop whose header merges every register from every block: slow to optimize (~160 ms for an
 *   850-instruction filter) and a dispatch per taken jump.
 * - Programs whose control flow is a DAG (no back edges: what clang emits for filters, loops unrolled)
 *   and that make no local calls and take no function pointers can use the *flat* layout: the blocks in a
 *   topological order, jumps as `break` out of labeled blocks. Every jump then goes forward, so the
 *   label of block k can open at the top of the function and close right before block k; labels nest
 *   because they all start at the same place. V8 gets straight-line code with forward branches only.
 */
import { BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, OP_LDDW } from '../isa/index.js';
import { SEMANTICS, slotsOfCode } from './insn-semantics.js';
import type { LoadedProgram } from './interpreter-program.js';

/** Block leaders: entry, jump/call targets, and the instruction after anything that ends a block. */
export function leaders(p: LoadedProgram): Uint8Array {
  const n = p.slots;
  const lead = new Uint8Array(n + 1);
  lead[0] = 1;
  for (let pc = 0; pc < n; pc++) {
    switch (SEMANTICS[p.code[pc] as number]?.kind) {
      case 'lddw':
        if (p.src[pc] === BPF_PSEUDO_FUNC) lead[p.imm[pc] as number] = 1; // a callback's entry
        pc++;
        break;
      case 'jump':
      case 'ja':
        lead[pc + 1] = 1;
        lead[jumpTarget(p, pc)] = 1;
        break;
      case 'call':
        lead[pc + 1] = 1;
        if (p.src[pc] === BPF_PSEUDO_CALL) lead[pc + (p.imm[pc] as number) + 1] = 1;
        break;
      case 'callx':
      case 'exit':
      case 'packet': // LD_ABS / LD_IND may end the program
        lead[pc + 1] = 1;
        break;
      default:
    }
  }
  return lead;
}

/** Target pc of the jump at `pc` (JA32 / gotol takes its offset from imm). */
export function jumpTarget(p: LoadedProgram, pc: number): number {
  const sem = SEMANTICS[p.code[pc] as number];
  return sem?.kind === 'ja' && sem.wide ? pc + (p.imm[pc] as number) + 1 : pc + (p.off[pc] as number) + 1;
}

/** Dense block numbers by first pc (-1 elsewhere); slot n (falling off the end) gets the last number. */
export function blockIndex(p: LoadedProgram, lead = leaders(p)): Int32Array {
  const bi = new Int32Array(p.slots + 1).fill(-1);
  let b = 0;
  for (let pc = 0; pc < p.slots; pc++) {
    if (lead[pc]) bi[pc] = b++;
    if (p.code[pc] === OP_LDDW) pc++;
  }
  bi[p.slots] = b;
  return bi;
}

/** A basic block: its slots [start, end), instruction count, and where control can go next. */
export interface Block {
  start: number;
  end: number;
  count: number;
  /** Last instruction's slot. */
  last: number;
  /** Successor pcs: the jump target (if any) then the fall-through pc (if control can fall through). */
  succ: number[];
  /** Fall-through pc (end) when the last instruction can continue to the next slot, else -1. */
  fall: number;
}

export function basicBlocks(p: LoadedProgram, lead = leaders(p)): Block[] {
  const n = p.slots;
  const blocks: Block[] = [];
  for (let pc = 0; pc < n;) {
    const start = pc;
    let count = 0;
    let last = pc;
    do {
      count++;
      last = pc;
      pc += slotsOfCode(p.code[pc] as number);
    } while (pc < n && !lead[pc]);
    const kind = SEMANTICS[p.code[last] as number]?.kind;
    const succ: number[] = [];
    let fall = pc;
    if (kind === 'exit') fall = -1;
    else if (kind === 'jump' || kind === 'ja') {
      succ.push(jumpTarget(p, last));
      if (kind === 'ja') fall = -1; // goto
    }
    if (fall >= 0) succ.push(fall);
    blocks.push({ start, end: pc, count, last, succ, fall });
  }
  return blocks;
}

/** More labels than this nest too deeply for V8's parser: such programs keep the switch layout. */
export const MAX_FLAT_BLOCKS = 2000;

/**
 * The blocks in an order where every jump goes forward (topological, and otherwise as close to program
 * order as possible, so fall-throughs stay adjacent), or undefined when the program needs the switch
 * layout: local calls, function pointers, a cycle, or too many blocks.
 */
export function flatOrder(p: LoadedProgram, blocks: Block[]): Block[] | undefined {
  if (blocks.length > MAX_FLAT_BLOCKS) return undefined;
  for (let pc = 0; pc < p.slots; pc++) {
    const kind = SEMANTICS[p.code[pc] as number]?.kind;
    if (kind === 'lddw') {
      if (p.src[pc] === BPF_PSEUDO_FUNC) return undefined;
      pc++;
    } else if (kind === 'call' && p.src[pc] === BPF_PSEUDO_CALL) return undefined;
  }
  const byStart = new Map<number, number>();
  blocks.forEach((b, i) => byStart.set(b.start, i));
  const indegree = new Int32Array(blocks.length);
  for (const b of blocks) {
    for (const s of b.succ) {
      const k = byStart.get(s);
      if (k !== undefined) indegree[k]!++;
    }
  }
  // Kahn's algorithm; among ready blocks always the lowest pc (a binary min-heap of block numbers).
  const heap: number[] = [];
  const push = (v: number) => {
    heap.push(v);
    for (let i = heap.length - 1; i > 0;) {
      const up = (i - 1) >> 1;
      if (heap[up]! <= v) break;
      heap[i] = heap[up]!;
      heap[up] = v;
      i = up;
    }
  };
  const pop = (): number => {
    const top = heap[0]!;
    const v = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= heap.length) break;
        const c = l + 1 < heap.length && heap[l + 1]! < heap[l]! ? l + 1 : l;
        if (heap[c]! >= v) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = v;
    }
    return top;
  };
  for (let i = 0; i < blocks.length; i++) if (indegree[i] === 0) push(i);
  const order: Block[] = [];
  while (heap.length > 0) {
    const i = pop();
    const b = blocks[i]!;
    order.push(b);
    for (const s of b.succ) {
      const k = byStart.get(s);
      if (k !== undefined && --indegree[k]! === 0) push(k);
    }
  }
  // Blocks left over sit on a cycle. The entry must come first (nothing may jump back to it).
  if (order.length !== blocks.length || order[0]?.start !== 0) return undefined;
  return order;
}

/** Instructions on the longest path through a flat order (the most one run can execute). */
export function longestPath(order: Block[]): number {
  let max = 0;
  for (const n of longestFrom(order).values()) max = Math.max(max, n);
  return max;
}

/** For each block start of a flat order, the instructions on the longest path from there to an exit. */
export function longestFrom(order: Block[]): Map<number, number> {
  const longest = new Map<number, number>();
  for (let k = order.length - 1; k >= 0; k--) {
    const b = order[k]!;
    let after = 0;
    for (const s of b.succ) after = Math.max(after, longest.get(s) ?? 0);
    longest.set(b.start, b.count + after);
  }
  return longest;
}
