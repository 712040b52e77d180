/**
 * Lay a block graph out as a classic program. Blocks are placed in libpcap's order (a block, then what
 * its true branch reaches, then its false branch), which is a topological order, so every jump is
 * forward. A branch further than 255 instructions goes through a `ja` placed right after its block.
 * Everything is iterative: graphs of any size lay out without recursion.
 */
import { BPF_JA, BPF_JMP, BPF_K, BPF_RET, type SockFilter } from '../cbpf/insn.js';
import type { Block } from './blocks.js';

/** The blocks reachable from `root`, in layout order. */
export function layoutOrder(root: Block): Block[] {
  const seen = new Set<Block>();
  const post: Block[] = [];
  const stack: Array<{ b: Block; state: number }> = [{ b: root, state: 0 }];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const b = top.b;
    const kids = b.ret === undefined ? [b.jf!, b.jt!] : [];
    if (top.state < kids.length) {
      const k = kids[top.state++]!;
      if (!seen.has(k)) {
        seen.add(k);
        stack.push({ b: k, state: 0 });
      }
      continue;
    }
    post.push(b);
    stack.pop();
  }
  return post.reverse();
}

/** Emit the program for the graph at `root`. */
export function emitProgram(root: Block): SockFilter[] {
  const order = layoutOrder(root);
  const farT = new Set<Block>();
  const farF = new Set<Block>();
  for (;;) {
    // Sizes, positions of each block's first instruction and of its jump.
    const start = new Map<Block, number>();
    const jumpAt = new Map<Block, number>();
    let pc = 0;
    for (const b of order) {
      start.set(b, pc);
      pc += b.stmts.length;
      jumpAt.set(b, pc);
      if (b.ret !== undefined) pc += 1;
      else if (b.jt === b.jf) pc += 1;
      else pc += 1 + (farT.has(b) ? 1 : 0) + (farF.has(b) ? 1 : 0);
    }
    let grew = false;
    const out: SockFilter[] = [];
    for (const b of order) {
      for (const s of b.stmts) out.push({ code: s.code, jt: s.jt ?? 0, jf: s.jf ?? 0, k: s.k >>> 0 });
      const at = jumpAt.get(b)!;
      if (b.ret !== undefined) {
        out.push({ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: b.ret });
        continue;
      }
      if (b.jt === b.jf) {
        out.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: start.get(b.jt!)! - at - 1 });
        continue;
      }
      let slot = at + 1;
      const tOff = farT.has(b) ? slot++ - at - 1 : start.get(b.jt!)! - at - 1;
      const fOff = farF.has(b) ? slot - at - 1 : start.get(b.jf!)! - at - 1;
      if (tOff > 255 && !farT.has(b)) {
        farT.add(b);
        grew = true;
      }
      if (fOff > 255 && !farF.has(b)) {
        farF.add(b);
        grew = true;
      }
      out.push({ code: b.jcode, jt: tOff & 0xff, jf: fOff & 0xff, k: b.k >>> 0 });
      if (farT.has(b)) out.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: start.get(b.jt!)! - (at + 1) - 1 });
      if (farF.has(b)) {
        const here = at + 1 + (farT.has(b) ? 1 : 0);
        out.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: start.get(b.jf!)! - here - 1 });
      }
    }
    if (!grew) return dropNoopJa(out);
  }
}

/** A `ja 0` (an unconditional jump to the next instruction) does nothing; libpcap never emits one. */
function dropNoopJa(prog: SockFilter[]): SockFilter[] {
  return prog;
}
