/**
 * Precision tracking (the kernel's mark_chain_precision and backtrack_insn). A privileged loader's scalars
 * start imprecise: state pruning treats two imprecise scalars as equal whatever their ranges, because no
 * decision so far depended on the value. When one does — a scalar added to a pointer, a helper's size
 * argument, a conditional jump decided by the bounds, a return code checked against its range — the
 * registers and spilled stack slots that value was computed from are found by walking the path backwards
 * (this path's instructions since its last remembered state, then that state's own, and so on), and are
 * marked precise in every remembered state on the way. Only remembered states carry marks: the current
 * state never needs them, since it is compared only as the newer side.
 *
 * Each path keeps a history of the instructions where backtracking cannot guess the predecessor (arrivals
 * by a jump), spills and fills of stack slots, and the registers linked by id at a conditional jump, as a
 * persistent list that branches share.
 */
import type { Instruction } from '../isa/instruction.js';
import {
  BPF_ABS,
  BPF_ALU,
  BPF_ALU64,
  BPF_CALL,
  BPF_END,
  BPF_EXIT,
  BPF_IND,
  BPF_JA,
  BPF_JMP,
  BPF_JMP32,
  BPF_LD,
  BPF_LDX,
  BPF_MOV,
  BPF_NEG,
  BPF_PSEUDO_CALL,
  BPF_ST,
  BPF_STX,
  BPF_X,
} from '../isa/opcodes.js';
import { callsCallback } from './cfg.js';
import type { WalkLog } from './log-format.js';
import { kernelFrameText } from './log-format.js';
import { type State, writableStack } from './state.js';

/** One recorded instruction of a path (the kernel's bpf_insn_hist_entry), newest first. */
export interface HistEntry {
  readonly pc: number;
  /** The instruction processed just before this one (-1: none). */
  readonly prev: number;
  /** A spill to or fill from a stack slot: frame * 64 + slot, or -1. */
  stack: number;
  /** Registers and spilled slots a conditional jump linked (linked-regs.ts linkKey), or undefined. */
  linked: readonly number[] | undefined;
  readonly older: HistEntry | undefined;
  /** Entries in this segment (since the last remembered state) up to and including this one. */
  readonly count: number;
}

/** A remembered state as backtracking sees it: its parent and the instructions that led to it. */
export interface Checkpoint {
  readonly st: State;
  readonly parent: Checkpoint | undefined;
  /** First instruction of the segment that led to this state (the parent's instruction). */
  readonly first: number;
  /** The instruction processed just before this state (-1: none). */
  readonly last: number;
  readonly hist: HistEntry | undefined;
}

/** Where a path stands for backtracking: its segment since the last remembered state. */
export interface Segment {
  first: number;
  hist: HistEntry | undefined;
  parent: Checkpoint | undefined;
  /** The instruction processed before the current one (-1: none). */
  prev: number;
}

/** Registers r1-r5: arguments, clobbered by calls. */
const ARGS = 0x3e;
const NOTSUPP = 1;
const MAX_FRAMES = 8;

/** The registers and stack slots still to be made precise, per frame (the kernel's backtrack_state). */
class Backtrack {
  frame = 0;
  readonly regs = new Int32Array(MAX_FRAMES);
  /** 64 slots per frame as two 32-bit halves. */
  readonly slots = new Int32Array(MAX_FRAMES * 2);
  reset(frame: number): void {
    this.frame = frame;
    this.regs.fill(0);
    this.slots.fill(0);
  }
  empty(): boolean {
    for (let i = 0; i <= this.frame; i++) if (this.regs[i] || this.slots[2 * i] || this.slots[2 * i + 1]) return false;
    return true;
  }
  has = (r: number, fr = this.frame): boolean => (this.regs[fr]! & (1 << r)) !== 0;
  set(r: number, fr = this.frame): void {
    this.regs[fr]! |= 1 << r;
  }
  clear(r: number, fr = this.frame): void {
    this.regs[fr]! &= ~(1 << r);
  }
  hasSlot = (fr: number, k: number): boolean => (this.slots[2 * fr + (k >> 5)]! & (1 << (k & 31))) !== 0;
  setSlot(fr: number, k: number): void {
    this.slots[2 * fr + (k >> 5)]! |= 1 << (k & 31);
  }
  clearSlot(fr: number, k: number): void {
    this.slots[2 * fr + (k >> 5)]! &= ~(1 << (k & 31));
  }
  anySlot = (fr: number): boolean => (this.slots[2 * fr]! | this.slots[2 * fr + 1]!) !== 0;
  regsText(fr = this.frame): string {
    const out: string[] = [];
    for (let r = 0; r < 11; r++) if (this.has(r, fr)) out.push(`r${r}`);
    return out.join(',');
  }
  slotsText(fr = this.frame): string {
    const out: string[] = [];
    for (let k = 0; k < 64; k++) if (this.hasSlot(fr, k)) out.push(`${-(k + 1) * 8}`);
    return out.join(',');
  }
}

/** The walk's precision tracker: records each path's history and marks remembered states precise. */
export class Precision {
  /** The path being walked. */
  seg: Segment = { first: 0, hist: undefined, parent: undefined, prev: -1 };
  private st!: State;
  private pc = 0;
  private idx = 0;
  private entry: HistEntry | undefined;
  private readonly bt = new Backtrack();
  private readonly level: number;
  /** Marks set so far (a register or slot made precise in a remembered state): tells whether a pass changed any. */
  private changes = 0;

  constructor(
    private readonly insns: readonly Instruction[],
    /** Instruction index by slot (stage 1's), -1 where no instruction starts. */
    private readonly index: Int32Array,
    private readonly isGlobal: (target: number) => boolean,
    private readonly log: WalkLog,
  ) {
    this.level = log.level;
  }

  private seqPrev(pc: number): number {
    const idx = pc >= 0 && pc < this.index.length ? this.index[pc]! : -1;
    return idx <= 0 ? -1 : this.insns[idx - 1]!.pc;
  }

  private push(stack: number, linked: readonly number[] | undefined): HistEntry {
    const older = this.seg.hist;
    const e: HistEntry = { pc: this.pc, prev: this.seg.prev, stack, linked, older, count: (older?.count ?? 0) + 1 };
    this.seg.hist = e;
    this.entry = e;
    return e;
  }

  /** Entries recorded since the last remembered state (the kernel checkpoints after 40). */
  get histCount(): number {
    return this.seg.hist?.count ?? 0;
  }

  /** The walk is at `pc` (instruction `idx`) in state `st`, before any pruning decision there. */
  begin(pc: number, idx: number, st: State): void {
    this.pc = pc;
    this.idx = idx;
    this.st = st;
    this.entry = undefined;
  }

  /**
   * Past the pruning decision (a new state remembered here starts the next segment): record the arrival
   * at the instruction when it did not come from the one before it.
   */
  arrive(): void {
    const prev = this.seg.prev;
    if (prev >= 0 && (this.idx === 0 || prev !== this.insns[this.idx - 1]!.pc)) this.push(-1, undefined);
  }

  /**
   * The current conditional jump linked these registers and spilled slots (linked-regs.ts, the kernel's
   * linked_regs in the jump history): a mark on one of them before the jump marks them all.
   */
  linkedRegs(linked: readonly number[]): void {
    if (this.entry) this.entry.linked = linked;
    else this.push(-1, linked);
  }

  /** The current instruction spills to or fills from slot `k` of frame `frame`. */
  stackAccess(frame: number, k: number): void {
    if (this.entry) this.entry.stack = frame * 64 + k;
    else this.push(frame * 64 + k, undefined);
  }

  /** The instruction is done: it becomes the predecessor of the next one. */
  leave(): void {
    this.seg.prev = this.pc;
    this.entry = undefined;
  }

  /** A new state was remembered at the current instruction: it starts the path's next segment. */
  checkpointed(node: Checkpoint): void {
    this.seg = { first: this.pc, hist: undefined, parent: node, prev: this.seg.prev };
  }

  /** Registers of the innermost frame whose exact values the current instruction relies on. */
  mark(...regs: number[]): void {
    const bt = this.bt;
    bt.reset(this.st.frames.length - 1);
    const f = this.st.frames[bt.frame]!;
    for (const r of regs) if (f.regs[r]?.kind === 'scalar') bt.set(r);
    this.run();
  }

  /** A spilled slot (of frame `frame`) whose exact value the current instruction relies on. */
  markSlot(frame: number, k: number): void {
    const bt = this.bt;
    bt.reset(this.st.frames.length - 1);
    bt.setSlot(frame, k);
    this.run();
  }

  /**
   * The path was pruned by `old`: what `old`'s continuation relied on, the current path relies on too
   * (propagate_precision). When `old`'s loop is unfinished its marks are not final: the walk passes them
   * on again once the loop is done (walk.ts, propagate_backedges).
   */
  propagate(old: State, live: number): void {
    const bt = this.bt;
    bt.reset(this.st.frames.length - 1);
    const last = old.frames.length - 1;
    old.frames.forEach((f, i) => {
      for (let r = i === last ? 0 : 6; r < 10; r++) {
        const reg = f.regs[r]!;
        if (reg.kind !== 'scalar' || !reg.precise) continue;
        if (i === last && !(live & (1 << r))) continue;
        bt.set(r, i);
      }
      for (const [k, slot] of f.stack)
        if (slot.spill?.kind === 'scalar' && slot.spill.precise && k < 64) bt.setSlot(i, k);
    });
    if (this.level >= 2)
      for (let i = last; i >= 0; i--) {
        const regs = bt.regsText(i);
        const slots = bt.slotsText(i);
        if (regs || slots) this.log.add(`frame ${i}: propagating ${[regs, slots].filter(Boolean).join(',')}`);
      }
    this.run();
  }

  /**
   * propagate_precision for a path pruned earlier (a backedge, walk.ts): as propagate, from where that path
   * stood (its segment, instruction and state) instead of the current one. True when it marked anything.
   */
  propagateFrom(seg: Segment, pc: number, st: State, old: State, live: number): boolean {
    const before = this.changes;
    this.from(seg, pc, st, () => this.propagate(old, live));
    return this.changes !== before;
  }

  /** mark_all_scalars_precise for a path pruned earlier (propagate_backedges giving up). */
  forceAllFrom(seg: Segment, pc: number, st: State): void {
    this.from(seg, pc, st, () => this.markAll());
  }

  private from(seg: Segment, pc: number, st: State, run: () => void): void {
    const saved = { seg: this.seg, pc: this.pc, st: this.st };
    this.seg = seg;
    this.pc = pc;
    this.st = st;
    try {
      run();
    } finally {
      this.seg = saved.seg;
      this.pc = saved.pc;
      this.st = saved.st;
    }
  }

  /** __mark_chain_precision: walk back through the segments, marking each remembered state on the way. */
  private run(): void {
    const bt = this.bt;
    if (bt.empty()) return;
    let first = this.seg.first;
    let last = this.pc;
    let cursor = this.seg.hist;
    let parent = this.seg.parent;
    let subseq = -1;
    let skipFirst = true;
    for (;;) {
      if (this.level >= 2)
        this.log.add(`mark_precise: frame${bt.frame}: last_idx ${last} first_idx ${first} subseq_idx ${subseq} `);
      if (last < 0) break;
      for (let i = last; ;) {
        if (skipFirst) skipFirst = false;
        else if (this.backtrackInsn(i, subseq, cursor && cursor.pc === i ? cursor : undefined) === NOTSUPP)
          return this.markAll();
        if (bt.empty()) return;
        subseq = i;
        if (i === first && (!cursor || (cursor.count === 1 && cursor.pc === i))) break;
        if (cursor && cursor.pc === i) {
          i = cursor.prev;
          cursor = cursor.older;
        } else i = this.seqPrev(i);
        if (i < 0) return this.markAll();
      }
      if (!parent) break;
      if (!this.markState(parent.st)) return this.markAll();
      if (bt.empty()) return;
      subseq = first;
      last = parent.last;
      first = parent.first;
      cursor = parent.hist;
      parent = parent.parent;
    }
    // Arguments of a global function verified on its own come from its prototype: nothing before them.
    if (bt.frame === 0 && !bt.anySlot(0) && (bt.regs[0]! & ~ARGS) === 0) return;
    this.markAll();
  }

  /** Mark what is still wanted precise in a remembered state; false when it cannot be (a bug: mark all). */
  private markState(st: State): boolean {
    const bt = this.bt;
    if (st.frames.length - 1 !== bt.frame) return false;
    for (let fr = bt.frame; fr >= 0; fr--) {
      const f = st.frames[fr]!;
      for (let r = 0; r < 11; r++) {
        if (!bt.has(r, fr)) continue;
        const reg = f.regs[r]!;
        if (reg.kind !== 'scalar' || reg.precise) bt.clear(r, fr);
        else {
          f.regs[r] = { ...reg, precise: true };
          this.changes++;
        }
      }
      for (let k = 0; k < 64; k++) {
        if (!bt.hasSlot(fr, k)) continue;
        const slot = f.stack.get(k);
        const spill = slot?.spill;
        if (!spill || spill.kind !== 'scalar' || spill.precise) bt.clearSlot(fr, k);
        else {
          writableStack(f).set(k, { ...slot, spill: { ...spill, precise: true } });
          this.changes++;
        }
      }
      if (this.level >= 2)
        this.log.add(
          `mark_precise: frame${fr}: parent state regs=${bt.regsText(fr)} stack=${bt.slotsText(fr)}: ${kernelFrameText(f, fr)}`,
        );
    }
    return true;
  }

  /** mark_all_scalars_precise: the conservative answer when backtracking cannot follow the path. */
  private markAll(): void {
    if (this.level >= 2)
      this.log.add(`mark_precise: frame${this.st.frames.length - 1}: falling back to forcing all scalars precise`);
    this.bt.reset(0);
    for (let p = this.seg.parent; p; p = p.parent) {
      for (const f of p.st.frames) {
        for (let r = 0; r < 10; r++) {
          const reg = f.regs[r]!;
          if (reg.kind === 'scalar' && !reg.precise) {
            f.regs[r] = { ...reg, precise: true };
            this.changes++;
          }
        }
        for (const [k, slot] of f.stack)
          if (slot.spill?.kind === 'scalar' && !slot.spill.precise) {
            writableStack(f).set(k, { ...slot, spill: { ...slot.spill, precise: true } });
            this.changes++;
          }
      }
    }
  }

  private syncLinked(hist: HistEntry | undefined): void {
    const linked = hist?.linked;
    if (!linked) return;
    const bt = this.bt;
    const isSet = (key: number) => {
      const fr = key >> 7;
      const n = key & 63;
      return key & 64 ? bt.hasSlot(fr, n) : bt.has(n, fr);
    };
    if (!linked.some(isSet)) return;
    for (const key of linked) {
      const fr = key >> 7;
      if (key & 64) bt.setSlot(fr, key & 63);
      else bt.set(key & 63, fr);
    }
  }

  /** backtrack_insn: what must be precise before instruction `pc` for the wanted set after it. */
  private backtrackInsn(pc: number, subseq: number, hist: HistEntry | undefined): number {
    const bt = this.bt;
    const insn = this.insns[this.index[pc]!]!;
    const cls = insn.code & 7;
    const op = insn.code & 0xf0;
    const dst = insn.dst;
    const src = insn.src;
    if (this.level >= 2)
      this.log.add(
        `mark_precise: frame${bt.frame}: regs=${bt.regsText()} stack=${bt.slotsText()} before ${pc}: ${this.log.insnText(insn)}`,
      );
    this.syncLinked(hist);
    if (cls === BPF_ALU || cls === BPF_ALU64) {
      if (!bt.has(dst)) return 0;
      if (op === BPF_END || op === BPF_NEG) return 0;
      if (op === BPF_MOV) {
        bt.clear(dst);
        if (insn.code & BPF_X && src !== 10) bt.set(src);
      } else if (insn.code & BPF_X && src !== 10) bt.set(src);
    } else if (cls === BPF_LDX) {
      if (!bt.has(dst)) return 0;
      bt.clear(dst);
      if (hist && hist.stack >= 0) bt.setSlot(hist.stack >> 6, hist.stack & 63);
    } else if (cls === BPF_STX || cls === BPF_ST) {
      // A scalar used to address memory: pointer subtraction somewhere before (not followed).
      if (bt.has(dst)) return NOTSUPP;
      if (!hist || hist.stack < 0) return 0;
      const fr = hist.stack >> 6;
      const k = hist.stack & 63;
      if (!bt.hasSlot(fr, k)) return 0;
      bt.clearSlot(fr, k);
      if (cls === BPF_STX) bt.set(src);
    } else if (cls === BPF_JMP || cls === BPF_JMP32) {
      if (op === BPF_CALL) {
        if (src === BPF_PSEUDO_CALL && !this.isGlobal(pc + insn.imm + 1)) {
          // Back from the callee's first instruction to its call: its r1-r5 are the caller's.
          if (bt.regs[bt.frame]! & ~ARGS || bt.anySlot(bt.frame) || bt.frame === 0) return NOTSUPP;
          for (let r = 1; r <= 5; r++)
            if (bt.has(r)) {
              bt.clear(r);
              bt.set(r, bt.frame - 1);
            }
          bt.frame--;
          return 0;
        }
        // A helper, kfunc or global function: r0 is its result; r1-r5 were consumed, never wanted here.
        const next = this.insns[this.index[pc]! + 1]?.pc;
        if (subseq !== next) {
          // Back from a callback's first instruction to the helper's call that called it: r1-r5 were set
          // by the helper, not passed from the caller's registers; the caller's own marks go on.
          if (!callsCallback(insn) || bt.frame === 0) return NOTSUPP;
          if (bt.regs[bt.frame]! & ~ARGS || bt.anySlot(bt.frame)) return NOTSUPP;
          bt.regs[bt.frame] = 0;
          bt.frame--;
          return 0;
        }
        bt.clear(0);
        if (bt.regs[bt.frame]! & ARGS) return NOTSUPP;
      } else if (op === BPF_EXIT) {
        // Back into a static callee from the instruction after its call, or into a callback from the
        // helper's call it returned to (whose r1-r5 are the caller's, read again by the call: not the
        // callback's doing).
        const call = subseq >= 0 ? this.insns[this.index[subseq]! - 1] : undefined;
        const isCall = call !== undefined && call.code === (BPF_JMP | BPF_CALL) && call.src === BPF_PSEUDO_CALL;
        const back = subseq >= 0 && callsCallback(this.insns[this.index[subseq]!]!);
        if (back) for (let r = 1; r <= 5; r++) bt.clear(r);
        if ((!isCall && !back) || bt.regs[bt.frame]! & ARGS || bt.frame + 1 >= MAX_FRAMES) return NOTSUPP;
        // A callback's r0 is not what its helper returns: only a static callee's is followed.
        const r0 = isCall && bt.has(0);
        bt.clear(0);
        bt.frame++;
        if (r0) bt.set(0);
        return 0;
      } else if (op !== BPF_JA && insn.code & BPF_X) {
        if (!bt.has(dst) && !bt.has(src)) return 0;
        bt.set(dst);
        bt.set(src);
      }
    } else if (cls === BPF_LD) {
      if (!bt.has(dst)) return 0;
      bt.clear(dst);
      const mode = insn.code & 0xe0;
      if (mode === BPF_ABS || mode === BPF_IND) return NOTSUPP;
    }
    this.syncLinked(hist);
    return 0;
  }
}
