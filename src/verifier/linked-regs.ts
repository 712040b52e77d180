/**
 * The registers a conditional jump links (Linux 6.18's struct linked_regs, collect_linked_regs and
 * sync_linked_regs; 6.18.44 has the stable fix that collects live registers only). Before a compare
 * that the operands' values do not decide, the kernel gathers the scalars sharing an operand's id into
 * a list of at most MAX_LINKED_REGS entries, and only those learn what the compare teaches. The list is
 * walked in a fixed order: frames from the innermost out, in each frame the registers r0-r9 live before
 * the frame's current instruction (the jump, or for a caller its call), then the spilled stack slots
 * from fp-8 down. A scalar of the id that finds the list full loses its id there and then, on both
 * sides of the jump: it learns nothing now and is linked to nothing later. With 7 copies of a value the
 * 7th keeps its old bounds; if it is the compared register itself, no copy learns anything. Both
 * operands' ids share the one list (src first), and an id compared with itself is collected twice.
 * Each rule checked on the running kernel (test/verifier/linked-cap-cases.ts).
 */
import type { Scalar } from './scalar.js';
import { low32, sync } from './scalar.js';
import { addUnsynced } from './scalar-ops.js';
import { type Reg, type State, writableStack } from './state.js';

/** MAX_LINKED_REGS: the entries one jump's list holds. */
export const MAX_LINKED_REGS = 6;

/**
 * One entry of the list as a number, as the path's history stores it (precision.ts): frame * 128 + reg
 * for a register, frame * 128 + 64 + slot for a spilled slot (slot 0 is fp-8).
 */
export const linkKey = (frame: number, n: number, slot = false): number => frame * 128 + (slot ? 64 : 0) + n;

const MAX_SLOTS = 64;

/** A register that was in a group, alone again: id, BPF_ADD_CONST and its delta cleared. */
const unlinked = (r: Reg): Reg => ({ ...r, id: 0, addConst: 0, off: 0 });

/**
 * collect_linked_regs: append the scalars of `id` to `out` (at most MAX_LINKED_REGS in all), clearing
 * the id of every one that does not fit. `live(frame)`: the registers live in that frame (bit n = rn).
 */
export function collectLinked(st: State, id: number, live: (frame: number) => number, out: number[]): void {
  for (let fr = st.frames.length - 1; fr >= 0; fr--) {
    const f = st.frames[fr]!;
    const liveRegs = live(fr);
    for (let n = 0; n < 10; n++) {
      const r = f.regs[n]!;
      if (r.kind !== 'scalar' || r.id !== id || !(liveRegs & (1 << n))) continue;
      if (out.length < MAX_LINKED_REGS) out.push(linkKey(fr, n));
      else f.regs[n] = unlinked(r);
    }
    // Spilled slots whatever their liveness, in slot order (the stack map is in write order).
    const spilled: number[] = [];
    for (const [k, slot] of f.stack)
      if (k < MAX_SLOTS && slot.spill?.kind === 'scalar' && slot.spill.id === id) spilled.push(k);
    spilled.sort((x, y) => x - y);
    for (const k of spilled) {
      if (out.length < MAX_LINKED_REGS) out.push(linkKey(fr, k, true));
      else {
        const slot = f.stack.get(k)!;
        writableStack(f).set(k, { ...slot, spill: unlinked(slot.spill!) });
      }
    }
  }
}

/** The register or spilled slot an entry names, and a way to replace it. */
function entryReg(st: State, key: number): Reg | undefined {
  const f = st.frames[key >> 7];
  if (!f) return undefined;
  return key & 64 ? f.stack.get(key & 63)?.spill : f.regs[key & 63];
}

function setEntryReg(st: State, key: number, r: Reg): void {
  const f = st.frames[key >> 7]!;
  if (!(key & 64)) {
    f.regs[key & 63] = r;
    return;
  }
  const slot = f.stack.get(key & 63)!;
  writableStack(f).set(key & 63, { ...slot, spill: r });
}

/**
 * sync_linked_regs: every entry of `known`'s group but `known` itself (`self`, its key) takes its state.
 * Registers linked by a copy hold the same value, or (BPF_ADD_CONST) the same plus a constant: they
 * learn the same, shifted by the difference (the known register's state replaces theirs, even where
 * theirs knew more). A register linked by a 32-bit addition is K apart modulo 2^32: a shift involving
 * one is zero-extended; one linked by a 64-bit addition and one by a 32-bit one are not shifted into
 * each other at all (Linux 6.18 with its stable fixes, checked).
 */
export function syncLinked(st: State, known: Reg, self: number, entries: readonly number[]): void {
  if (known.kind !== 'scalar' || !known.id) return;
  const s: Scalar = known.s;
  for (const key of entries) {
    if (key === self) continue;
    const reg = entryReg(st, key);
    if (!reg || reg.kind !== 'scalar' || reg.id !== known.id) continue;
    if (reg.addConst && known.addConst && reg.addConst !== known.addConst) continue;
    if ((!reg.addConst && !known.addConst) || reg.off === known.off) {
      if (reg.s !== s || reg.addConst !== known.addConst)
        setEntryReg(st, key, { ...reg, s, addConst: known.addConst, off: known.off });
      continue;
    }
    const shifted = addUnsynced(s, BigInt(reg.off - known.off));
    const zext = reg.addConst === 32 || known.addConst === 32;
    setEntryReg(st, key, { ...reg, s: zext ? low32(shifted) : (sync(shifted) ?? shifted) });
  }
}
