/**
 * The intermediate form libpcap's code generator works in, rebuilt for bpfkit: a filter is a graph of
 * blocks, each a run of straight-line statements ending in one conditional jump (or a return). A
 * primitive is a fragment whose true and false exits are still open; `and`/`or`/`not` only patch exits,
 * so combining is O(1) however long an expression is (exits are kept in linked lists, not arrays).
 */
import { BPF_JMP, BPF_JEQ, BPF_K, BPF_LD, BPF_IMM } from '../cbpf/insn.js';

/** One straight-line classic instruction (load, store, ALU, register transfer). */
export interface Stmt {
  code: number;
  k: number;
  /** Jump offsets of a jump inside a block (only protochain's loop has them; such programs are not optimized). */
  jt?: number;
  jf?: number;
}

/** A node of the filter graph: statements then a jump on `jcode`/`k`, or (when `ret` is set) a return. */
export interface Block {
  id: number;
  stmts: Stmt[];
  jcode: number;
  k: number;
  jt: Block | null;
  jf: Block | null;
  ret?: number;
  /**
   * The comparison of a relation (`ip[6:2] & 0x1fff != 0`): libpcap threads jumps before it simplifies a
   * relation's statements, so the value such a test reads is never the same, for that decision, as a
   * primitive's load of the same bytes (see optimize.ts).
   */
  relation?: boolean;
}

interface ExitNode {
  block: Block;
  side: 'jt' | 'jf';
  next: ExitNode | null;
}

interface ExitList {
  first: ExitNode | null;
  last: ExitNode | null;
}

/** A filter under construction: its entry block and its unpatched true and false exits. */
export interface Frag {
  head: Block;
  t: ExitList;
  f: ExitList;
}

let nextId = 1;

/** A fresh block: `stmts`, then jump on `jcode` with constant `k`; both exits open. */
export function block(stmts: Stmt[], jcode: number, k: number): Frag {
  const b: Block = { id: nextId++, stmts, jcode, k: k >>> 0, jt: null, jf: null };
  const t: ExitNode = { block: b, side: 'jt', next: null };
  const f: ExitNode = { block: b, side: 'jf', next: null };
  return { head: b, t: { first: t, last: t }, f: { first: f, last: f } };
}

/** A return block (a leaf of the graph). */
export function retBlock(k: number): Block {
  return { id: nextId++, stmts: [], jcode: 0, k: 0, jt: null, jf: null, ret: k >>> 0 };
}

function concat(a: ExitList, b: ExitList): ExitList {
  if (!a.first) return b;
  if (!b.first) return a;
  a.last!.next = b.first;
  return { first: a.first, last: b.last };
}

function patch(list: ExitList, to: Block): void {
  for (let e = list.first; e; e = e.next) e.block[e.side] = to;
}

/** `a and b`: b runs where a was true. */
export function and(a: Frag, b: Frag): Frag {
  patch(a.t, b.head);
  return { head: a.head, t: b.t, f: concat(a.f, b.f) };
}

/** `a or b`: b runs where a was false. */
export function or(a: Frag, b: Frag): Frag {
  patch(a.f, b.head);
  return { head: a.head, t: concat(a.t, b.t), f: b.f };
}

/** `not a`: the exits trade places. */
export function not(a: Frag): Frag {
  return { head: a.head, t: a.f, f: a.t };
}

/** Always true (libpcap's `ld #0; jeq #0`). */
export function always(): Frag {
  return block([{ code: BPF_LD | BPF_IMM, k: 0 }], BPF_JMP | BPF_JEQ | BPF_K, 0);
}

/** Always false (libpcap's `ld #1; jeq #0`). */
export function never(): Frag {
  return block([{ code: BPF_LD | BPF_IMM, k: 1 }], BPF_JMP | BPF_JEQ | BPF_K, 0);
}

/** Close a fragment: true exits return `accept` (the snapshot length), false exits return 0. */
export function finish(f: Frag, accept: number): Block {
  const yes = retBlock(accept);
  const no = retBlock(0);
  patch(f.t, yes);
  patch(f.f, no);
  return f.head;
}
