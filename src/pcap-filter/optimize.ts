/**
 * The optimizer: the effects of libpcap's optimize.c (so programs stay its size, and always-false ones
 * are refused as libpcap refuses them), by bpfkit's own method over the block graph:
 * - value numbering: every load and computation gets a number; packet bytes do not change, so a value
 *   loaded on every path into a block is not loaded again (redundant-load removal);
 * - constant folding of arithmetic on known values;
 * - jump threading: an edge whose target's test is already decided on that edge (by the tests passed to
 *   get there, e.g. `ether type == 0x800` after it was found equal to 0x86dd, or by a constant) goes
 *   straight to the branch the test would take, when skipping the block changes no value used later;
 * - dead-code removal: statements whose results nobody reads (as in libpcap, this includes packet loads,
 *   so a load past the packet's end that is folded away no longer rejects the packet), blocks whose
 *   branches agree, unreachable blocks, and duplicate blocks merged.
 * It repeats until nothing changes. Everything is iterative; very large graphs skip threading.
 */
import {
  BPF_ALU,
  BPF_SUB,
  BPF_JMP,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JSET,
  BPF_K,
  BPF_X,
  BPF_LD,
  BPF_LDX,
  BPF_ST,
  BPF_STX,
  BPF_MISC,
  BPF_IMM,
  BPF_ABS,
  BPF_IND,
  BPF_MEM,
  BPF_LEN,
  BPF_MSH,
  bpfClass,
  bpfMode,
  bpfOp,
  bpfSrc,
  bpfSize,
  bpfMiscOp,
  BPF_TAX,
  BPF_NEG,
} from '../cbpf/insn.js';
import type { Block, Stmt } from './blocks.js';
import { layoutOrder } from './emit.js';
import { foldAlu } from './fold.js';
import { pullUp, type PullupFacts } from './pullup.js';
import { FilterSyntaxError } from './errors.js';

const REG_A = 16;
const REG_X = 17;
const NREGS = 18;
const THREADING_LIMIT = 4000;
const MAX_PASSES = 200;
const FLATTEN_AT = 8;

/** Value numbers: equal numbers mean equal values on every path. */
class Values {
  private readonly ids = new Map<string, number>();
  readonly konst = new Map<number, number>();
  private next = 1;
  of(key: string): number {
    let v = this.ids.get(key);
    if (v === undefined) {
      v = this.next++;
      this.ids.set(key, v);
    }
    return v;
  }
  k(c: number): number {
    const v = this.of(`K${c >>> 0}`);
    this.konst.set(v, c >>> 0);
    return v;
  }
  /** A value equal to no other (nothing is known of it). */
  unknown(): number {
    return this.next++;
  }
}

type State = number[]; // value number per register: M0..M15, A, X

/** Apply one statement to a state (in place); returns the register it defines, or -1. */
function step(vals: Values, st: State, s: Stmt): number {
  const cls = bpfClass(s.code);
  switch (cls) {
    case BPF_LD:
    case BPF_LDX: {
      const reg = cls === BPF_LD ? REG_A : REG_X;
      const mode = bpfMode(s.code);
      let v: number;
      if (mode === BPF_IMM) v = vals.k(s.k);
      else if (mode === BPF_ABS) v = vals.of(`P${bpfSize(s.code)},${s.k}`);
      else if (mode === BPF_IND) {
        const x = vals.konst.get(st[REG_X]!);
        v =
          x !== undefined
            ? vals.of(`P${bpfSize(s.code)},${(x + s.k) >>> 0}`)
            : vals.of(`I${bpfSize(s.code)},${s.k},${st[REG_X]}`);
      } else if (mode === BPF_MEM) v = st[s.k]!;
      else if (mode === BPF_LEN) v = vals.of('L');
      else if (mode === BPF_MSH) v = vals.of(`H${s.k}`);
      else v = vals.unknown();
      st[reg] = v;
      return reg;
    }
    case BPF_ST:
      st[s.k] = st[REG_A]!;
      return s.k;
    case BPF_STX:
      st[s.k] = st[REG_X]!;
      return s.k;
    case BPF_ALU: {
      const op = bpfOp(s.code);
      const a = st[REG_A]!;
      if (op === BPF_NEG) {
        const c = vals.konst.get(a);
        st[REG_A] = c !== undefined ? vals.k(-c >>> 0) : vals.of(`N${a}`);
        return REG_A;
      }
      const b = bpfSrc(s.code) === BPF_X ? st[REG_X]! : vals.k(s.k);
      const ca = vals.konst.get(a);
      const cb = vals.konst.get(b);
      if ((op === 0x60 || op === 0x70) && cb !== undefined && cb > 31 && ca === undefined) {
        // A shift count that only folding made constant (`len << (20+20)`; a literal one gencode refuses):
        // libpcap's optimizer turns `lsh x` into `lsh #k` and refuses k > 31 there.
        throw new FilterSyntaxError('shift by more than 31 bits', 0);
      }
      // libpcap's optimizer refuses a division by what it finds is the constant 0 (`len / (10 % 2)`).
      if (cb === 0 && op === 0x30) throw new FilterSyntaxError('division by zero', 0);
      if (cb === 0 && op === 0x90) throw new FilterSyntaxError('modulus by zero', 0);
      const folded = ca !== undefined && cb !== undefined ? foldAlu(op, ca, cb) : undefined;
      if (folded !== undefined) st[REG_A] = vals.k(folded);
      else if (cb === 0 && (op === 0x20 || op === 0x50))
        st[REG_A] = vals.k(0); // x*0, x&0 (libpcap does the same)
      else if (cb === 0 && (op === 0x00 || op === 0x10 || op === 0x40 || op === 0x60 || op === 0x70 || op === 0xa0)) {
        // x+0, x-0, x|0, x<<0, x>>0, x^0: the same value, so the statement goes as redundant
      } else if (ca === 0 && bpfSrc(s.code) === BPF_X && (op === 0x00 || op === 0x40 || op === 0xa0))
        st[REG_A] = b; // 0+X, 0|X, 0^X: X (libpcap's opt_stmt makes it a `txa`)
      else if (ca === 0 && bpfSrc(s.code) === BPF_X && [0x20, 0x30, 0x90, 0x50, 0x60, 0x70].includes(op))
        // 0*X, 0/X, 0%X, 0&X, 0<<X, 0>>X: libpcap's opt_stmt loads #0 there, even where X may be 0 at
        // run time, so a load that only fed X can go (and cannot refuse a short packet any more)
        st[REG_A] = vals.k(0);
      else st[REG_A] = vals.of(`A${op},${a},${b}`);
      return REG_A;
    }
    case BPF_MISC:
      if (bpfMiscOp(s.code) === BPF_TAX) {
        st[REG_X] = st[REG_A]!;
        return REG_X;
      }
      st[REG_A] = st[REG_X]!;
      return REG_A;
  }
  return -1;
}

/** Registers a statement reads. */
function uses(s: Stmt): number[] {
  const cls = bpfClass(s.code);
  if (cls === BPF_LD || cls === BPF_LDX) {
    const mode = bpfMode(s.code);
    if (mode === BPF_MEM) return [s.k];
    if (mode === BPF_IND) return [REG_X];
    return [];
  }
  if (cls === BPF_ST) return [REG_A];
  if (cls === BPF_STX) return [REG_X];
  if (cls === BPF_ALU) return bpfOp(s.code) === BPF_NEG || bpfSrc(s.code) === BPF_K ? [REG_A] : [REG_A, REG_X];
  if (cls === BPF_MISC) return bpfMiscOp(s.code) === BPF_TAX ? [REG_A] : [REG_X];
  return [];
}

function defOf(s: Stmt): number {
  const cls = bpfClass(s.code);
  if (cls === BPF_LD || cls === BPF_ALU) return REG_A;
  if (cls === BPF_LDX) return REG_X;
  if (cls === BPF_ST || cls === BPF_STX) return s.k;
  return bpfMiscOp(s.code) === BPF_TAX ? REG_X : REG_A;
}

const isJump = (b: Block): boolean => b.ret === undefined && b.jt !== b.jf;

const X_FACT = 0x80; // added to a fact key's operation: compared with X (k is X's value number)
const EQ_FACT = 0xf0; // the fact that holds what v was found equal to

type FactKey = number | string;

/**
 * A fact's key: value number, jump operation (BPF_JEQ... 0x00-0x40, plus X_FACT, or EQ_FACT), 32-bit
 * constant, and whether a relation's test found it (`rel`: see Block.relation; such facts decide only
 * relations' tests, and primitives' facts only primitives'). Packed into one exact double while v < 2^15
 * (6 bits of kind, 32 of constant); a string beyond, so keys never collide.
 */
function factKey(v: number, op: number, k: number, rel: boolean): FactKey {
  const kind = (op === EQ_FACT ? 31 : (op >> 4) | (op & X_FACT ? 8 : 0)) | (rel ? 32 : 0);
  return v < 0x8000 ? (v * 64 + kind) * 0x100000000 + k : `${v}|${kind}|${k}`;
}

/** Decide `v jcode k` from what is known; undefined when it is not decided. */
function decide(vals: Values, facts: Facts, b: Block, st: State): boolean | undefined {
  const op = bpfOp(b.jcode);
  const v = st[REG_A]!;
  const rel = b.relation === true;
  let k: number | undefined = b.k;
  if (bpfSrc(b.jcode) === BPF_X) k = vals.konst.get(st[REG_X]!);
  const c = vals.konst.get(v);
  if (k !== undefined && c !== undefined) return evalJump(op, c, k);
  if (k === undefined) return facts.get(factKey(v, op | X_FACT, st[REG_X]!, rel)) as boolean | undefined;
  const exact = facts.get(factKey(v, op, k, rel));
  if (exact !== undefined) return exact as boolean;
  // Like libpcap's fold_edge, only `==` tests are decided from other `==` tests on the same value.
  if (op !== BPF_JEQ) return undefined;
  const eq = facts.get(factKey(v, EQ_FACT, 0, rel));
  if (typeof eq === 'number') return eq === k;
  return undefined;
}

function evalJump(op: number, a: number, k: number): boolean {
  switch (op) {
    case BPF_JEQ:
      return a === k;
    case BPF_JGT:
      return a > k;
    case BPF_JGE:
      return a >= k;
    case BPF_JSET:
      return (a & k) !== 0;
  }
  return false;
}

/**
 * What is known on an edge: a short chain of facts over a shared table (O(1) to extend; every
 * FLATTEN_AT facts the chain is folded into a new table, so a lookup walks at most that many links);
 * where paths join, the facts common to all of them are gathered into one table.
 */
class Facts {
  constructor(
    private readonly parent: Facts | null,
    private readonly key: FactKey,
    private readonly val: boolean | number,
    private readonly table: Map<FactKey, boolean | number> | null,
    private readonly depth: number,
  ) {}
  private flat: Facts | undefined;
  static empty(): Facts {
    return Facts.of(new Map());
  }
  static of(table: Map<FactKey, boolean | number>): Facts {
    return new Facts(null, 0, false, table, 0);
  }
  with(key: FactKey, val: boolean | number): Facts {
    if (this.depth < FLATTEN_AT) return new Facts(this, key, val, null, this.depth + 1);
    // Folded once per chain, however many edges extend it.
    this.flat ??= Facts.of(this.all());
    return new Facts(this.flat, key, val, null, 1);
  }
  get(key: FactKey): boolean | number | undefined {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- walking the chain starts here
    for (let f: Facts | null = this; f; f = f.parent) {
      if (f.table) return f.table.get(key);
      if (f.key === key) return f.val;
    }
    return undefined;
  }
  /** Call `fn` once per fact, nearest first winning, without copying the table. */
  each(fn: (key: FactKey, val: boolean | number) => void): void {
    const seen = new Set<FactKey>();
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- walking the chain starts here
    let f: Facts | null = this;
    for (; f && !f.table; f = f.parent) {
      if (seen.has(f.key)) continue;
      seen.add(f.key);
      fn(f.key, f.val);
    }
    for (const [k, v] of f?.table ?? []) if (!seen.has(k)) fn(k, v);
  }
  /** Every fact, nearest first winning (a new table the caller may change). */
  all(): Map<FactKey, boolean | number> {
    const links: Facts[] = [];
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- walking the chain starts here
    let f: Facts | null = this;
    for (; f && !f.table; f = f.parent) links.push(f);
    const out = new Map<FactKey, boolean | number>(f?.table ?? undefined);
    for (let i = links.length - 1; i >= 0; i--) out.set(links[i]!.key, links[i]!.val);
    return out;
  }
}

function edgeFacts(base: Facts, b: Block, st: State, outcome: boolean): Facts {
  const op = bpfOp(b.jcode);
  const v = st[REG_A]!;
  const rel = b.relation === true;
  if (bpfSrc(b.jcode) === BPF_X) return base.with(factKey(v, op | X_FACT, st[REG_X]!, rel), outcome);
  const f = base.with(factKey(v, op, b.k, rel), outcome);
  // `v == k` also says what v is, which decides its other `==` tests.
  return op === BPF_JEQ && outcome ? f.with(factKey(v, EQ_FACT, 0, rel), b.k) : f;
}

function intersect(a: Facts, b: Facts): Facts {
  if (a === b) return a;
  const out = new Map<FactKey, boolean | number>();
  a.each((k, v) => {
    if (b.get(k) === v) out.set(k, v);
  });
  return Facts.of(out);
}

/**
 * Optimize the graph at `root`; returns the new root.
 *
 * The entry block is treated as libpcap treats its root: its test is never skipped by threading (nothing
 * jumps to it), so when its branches come to agree its statements stay — its jump still counts as reading
 * A — and at the end they move in front of the block it leads to (libpcap's opt_root). A packet load kept
 * that way still rejects a packet too short for it, as libpcap's program does (`ip and ip6 or less 128`
 * keeps its `ldh [12]` on Ethernet).
 */
export function optimize(root: Block): Block {
  const entry = root;
  // A relation's test stays apart only where its operands read the packet: libpcap numbers `len` or a
  // constant the same in a relation as in a primitive, but a relation's packet load goes through X
  // (`ldx M[0]; ldh [x + 16]`) until after the jumps are threaded.
  for (const b of layoutOrder(root)) if (b.relation && !b.stmts.some(readsPacket)) b.relation = false;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    let changed = false;
    const order = layoutOrder(root);
    const vals = new Values();
    const preds = new Map<Block, Block[]>();
    for (const b of order) {
      if (b.ret !== undefined) continue;
      for (const s of new Set([b.jt!, b.jf!])) {
        const list = preds.get(s) ?? [];
        list.push(b);
        preds.set(s, list);
      }
    }
    // Forward: exit states, redundant statements removed.
    const exit = new Map<Block, State>();
    for (const b of order) {
      const ps = preds.get(b) ?? [];
      // A register keeps its value number where every predecessor agrees on it.
      const st: State = ps.length ? exit.get(ps[0]!)!.slice() : new Array<number>(NREGS).fill(-1);
      for (let i = 1; i < ps.length; i++) {
        const other = exit.get(ps[i]!)!;
        for (let r = 0; r < NREGS; r++) if (st[r] !== other[r]) st[r] = -1;
      }
      for (let r = 0; r < NREGS; r++) if (st[r] === -1) st[r] = vals.unknown();
      const kept: Stmt[] = [];
      for (const s of b.stmts) {
        const old = st[defOf(s)];
        const reg = step(vals, st, s);
        if (reg >= 0 && old === st[reg]) {
          changed = true;
          continue;
        }
        const c = vals.konst.get(st[REG_A]!);
        if (bpfClass(s.code) === BPF_ALU && c !== undefined) {
          // Folded to a constant: load it, so what fed the computation may become dead.
          kept.push({ code: BPF_LD | BPF_IMM, k: c });
          changed = true;
          continue;
        }
        kept.push(s);
      }
      b.stmts = kept;
      exit.set(b, st);
    }
    // Liveness, backward.
    const liveIn = new Map<Block, number>();
    for (let i = order.length - 1; i >= 0; i--) {
      const b = order[i]!;
      if (b.ret !== undefined) {
        liveIn.set(b, 0);
        continue;
      }
      let live = (liveIn.get(b.jt!) ?? 0) | (liveIn.get(b.jf!) ?? 0);
      // `and #k; jeq #0` with A dead afterwards is `jset #k` with the branches swapped (as libpcap emits).
      const last = b.stmts[b.stmts.length - 1];
      if (
        isJump(b) &&
        last &&
        last.code === (BPF_ALU | 0x50 | BPF_K) &&
        b.jcode === (BPF_JMP | BPF_JEQ | BPF_K) &&
        b.k === 0 &&
        !(live & (1 << REG_A))
      ) {
        b.stmts = b.stmts.slice(0, -1);
        b.jcode = BPF_JMP | BPF_JSET | BPF_K;
        b.k = last.k;
        [b.jt, b.jf] = [b.jf, b.jt];
        changed = true;
      }
      // `sub #c; jeq #k` is `jeq #k+c`, and `sub x; jeq #0` is `jeq x`, when A is dead afterwards (libpcap's peephole).
      const tail = b.stmts[b.stmts.length - 1];
      if (isJump(b) && tail && b.jcode === (BPF_JMP | BPF_JEQ | BPF_K) && !(live & (1 << REG_A))) {
        if (tail.code === (BPF_ALU | BPF_SUB | BPF_K)) {
          b.stmts = b.stmts.slice(0, -1);
          b.k = (b.k + tail.k) >>> 0;
          changed = true;
        } else if (tail.code === (BPF_ALU | BPF_SUB | BPF_X) && b.k === 0) {
          b.stmts = b.stmts.slice(0, -1);
          b.jcode = BPF_JMP | BPF_JEQ | BPF_X;
          changed = true;
        }
      }
      if (isJump(b) || (b === entry && b === root)) live |= (1 << REG_A) | (bpfSrc(b.jcode) === BPF_X ? 1 << REG_X : 0);
      const kept: Stmt[] = [];
      for (let j = b.stmts.length - 1; j >= 0; j--) {
        const s = b.stmts[j]!;
        const d = defOf(s);
        if (!(live & (1 << d))) {
          changed = true;
          continue;
        }
        live &= ~(1 << d);
        for (const u of uses(s)) live |= 1 << u;
        kept.push(s);
      }
      b.stmts = kept.reverse();
      liveIn.set(b, live);
    }
    // Regroup tests of one value (libpcap's or/and pull-up). The edges are as the dataflow above saw them
    // (only statements changed so far); threading is left to the next pass when something moved.
    const facts: PullupFacts = {
      order,
      preds,
      exitA: (b) => exit.get(b)![REG_A]!,
      liveIn: (b) => liveIn.get(b) ?? 0,
      defs: (b) => b.stmts.reduce((m, s) => m | (1 << defOf(s)), 0),
    };
    const pulled = pullUp(facts, 'jf') || pullUp(facts, 'jt');
    if (pulled) changed = true;
    // Jump threading along edges, with the facts each edge carries.
    if (!pulled && order.length <= THREADING_LIMIT) {
      // What a block's statements make of a state: the last one asked for, per block. Many edges walk
      // into one block with the same registers (a chain of equal protocol checks ahead of one relation
      // holding thousands of statements: `ip[ip[...] + tcp[0]] = 1`), and stepping them again for each
      // edge cost the blocks' length times the edges. step() is a function of the state alone (its value
      // numbers are made once per key), so the state it gave before is the state it gives again.
      const stepped = new Map<Block, { from: State; to: State }>();
      const through = (s: Block, state: State): State => {
        const last = stepped.get(s);
        if (last && last.from.every((v, r) => v === state[r])) return last.to;
        const st = state.slice();
        for (const x of s.stmts) step(vals, st, x);
        stepped.set(s, { from: state, to: st });
        return st;
      };
      const factsIn = new Map<Block, Facts>();
      for (const b of order) {
        const ps = preds.get(b) ?? [];
        let f: Facts | undefined;
        for (const p of ps) {
          const pf = factsIn.get(p)!;
          const ex = exit.get(p)!;
          const e1 = p.jt === b ? edgeFacts(pf, p, ex, true) : undefined;
          const e2 = p.jf === b ? edgeFacts(pf, p, ex, false) : undefined;
          const ef = e1 && e2 ? intersect(e1, e2) : (e1 ?? e2)!;
          f = f ? intersect(f, ef) : ef;
        }
        factsIn.set(b, f ?? Facts.empty());
      }
      for (const p of order) {
        if (!isJump(p)) continue;
        for (const side of ['jt', 'jf'] as const) {
          // Follow the decided blocks; the edge goes to the furthest one whose inputs the skipped blocks
          // did not change (a block may be skipped only together with the later ones that undo its effect).
          const base = exit.get(p)!;
          let facts = edgeFacts(factsIn.get(p)!, p, base, side === 'jt');
          let state = base;
          let s = p[side]!;
          for (let hops = 0; hops < 64; hops++) {
            if (s.ret !== undefined) break;
            const st = through(s, state);
            let target: Block;
            let outcome: boolean | undefined;
            if (s.jt === s.jf) target = s.jt!;
            else {
              outcome = decide(vals, facts, s, st);
              if (outcome === undefined) break;
              target = outcome ? s.jt! : s.jf!;
            }
            if (outcome !== undefined) facts = edgeFacts(facts, s, st, outcome);
            state = st;
            s = target;
            const live = liveIn.get(target) ?? 0;
            let ok = true;
            for (let r = 0; r < NREGS && ok; r++) if (live & (1 << r) && st[r] !== base[r]) ok = false;
            if (ok) {
              p[side] = target;
              changed = true;
            }
          }
        }
      }
    }
    // Blocks whose branches agree and that compute nothing are bypassed; duplicates merged.
    const canon = new Map<string, Block>();
    const replace = new Map<Block, Block>();
    const resolve = (b: Block): Block => {
      let r = b;
      while (replace.has(r)) r = replace.get(r)!;
      return r;
    };
    const order2 = layoutOrder(root);
    for (let i = order2.length - 1; i >= 0; i--) {
      const b = order2[i]!;
      if (b.ret === undefined) {
        const jt = resolve(b.jt!);
        const jf = resolve(b.jf!);
        if (jt !== b.jt || jf !== b.jf) {
          b.jt = jt;
          b.jf = jf;
        }
        if (b.jt === b.jf && b.stmts.length === 0) {
          replace.set(b, b.jt);
          changed = true;
          continue;
        }
      }
      const key =
        b.ret !== undefined
          ? `R${b.ret}`
          : `${b.stmts.map((s) => `${s.code}:${s.k}`).join(',')}|${b.jcode}|${b.k}|${b.jt!.id}|${b.jf!.id}`;
      const same = canon.get(key);
      if (same && same !== b) {
        replace.set(b, same);
        changed = true;
      } else canon.set(key, b);
    }
    root = resolve(root);
    // The entry block's own test, when constant (`1 = 2`, `arp` on raw IP), decides where the program starts.
    if (isJump(root)) {
      const st: State = [];
      for (let r = 0; r < NREGS; r++) st.push(vals.unknown());
      for (const x of root.stmts) step(vals, st, x);
      const outcome = decide(vals, Facts.empty(), root, st);
      if (outcome !== undefined) {
        const target = outcome ? root.jt! : root.jf!;
        const live = liveIn.get(target) ?? 0;
        if (root === entry) {
          // libpcap decides the test in place (opt_peep) and keeps the block: see hoistEntry.
          root.jt = root.jf = target;
          changed = true;
        } else if (!(live & ((1 << REG_A) | (1 << REG_X) | 0xffff))) {
          root = target;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  return root === entry ? hoistEntry(root) : root;
}

/** A load from the packet. */
function readsPacket(s: Stmt): boolean {
  const cls = bpfClass(s.code);
  const mode = bpfMode(s.code);
  return (cls === BPF_LD || cls === BPF_LDX) && (mode === BPF_ABS || mode === BPF_IND || mode === BPF_MSH);
}

/** A statement that can end the program with 0: a packet load (past the end) or a division by X (X = 0). */
function canFail(s: Stmt): boolean {
  if (readsPacket(s)) return true;
  const cls = bpfClass(s.code);
  return cls === BPF_ALU && bpfSrc(s.code) === BPF_X && (bpfOp(s.code) === 0x30 || bpfOp(s.code) === 0x90);
}

/** Registers live on entry to `b` (what some path from it reads before writing). */
function liveInOf(b: Block): number {
  const order = layoutOrder(b);
  const live = new Map<Block, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    const x = order[i]!;
    if (x.ret !== undefined) {
      live.set(x, 0);
      continue;
    }
    let l = live.get(x.jt!)! | live.get(x.jf!)!;
    if (isJump(x)) l |= (1 << REG_A) | (bpfSrc(x.jcode) === BPF_X ? 1 << REG_X : 0);
    for (let j = x.stmts.length - 1; j >= 0; j--) {
      const s = x.stmts[j]!;
      l &= ~(1 << defOf(s));
      for (const u of uses(s)) l |= 1 << u;
    }
    live.set(x, l);
  }
  return live.get(b)!;
}

/**
 * libpcap's opt_root: an entry block whose branches agree hands its statements to the block it leads to
 * (dropped when that is a return). Of them bpfkit keeps those that can reject a packet and what they or
 * the next block read, so the verdicts are libpcap's and the program no longer.
 */
function hoistEntry(root: Block): Block {
  if (root.ret !== undefined || root.jt !== root.jf) return root;
  let stmts = root.stmts;
  let target = root.jt!;
  while (target.ret === undefined && target.jt === target.jf) {
    stmts = [...stmts, ...target.stmts];
    target = target.jt!;
  }
  if (target.ret !== undefined) return target;
  let live = liveInOf(target);
  const kept: Stmt[] = [];
  for (let j = stmts.length - 1; j >= 0; j--) {
    const s = stmts[j]!;
    const d = defOf(s);
    if (!canFail(s) && !(live & (1 << d))) continue;
    live &= ~(1 << d);
    for (const u of uses(s)) live |= 1 << u;
    kept.push(s);
  }
  target.stmts = [...kept.reverse(), ...target.stmts];
  return target;
}
