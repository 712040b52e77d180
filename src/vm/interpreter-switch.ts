/**
 * The plain interpreter: one `switch` on a dense case number over the program decoded once into a
 * packed Int32Array (decode()), registers as int32 halves in two Int32Arrays. Simple enough to trust; the compiled engine (interpreter-jit.ts) is
 * checked against it, and the conformance suite runs on both.
 *
 * Its cases are not written here: they are generated, once, when this module loads, from the one
 * definition of each instruction in insn-semantics.ts (the same definitions the compiled engine fills in
 * per instruction), and compiled with `new Function`. interpret() runs the frequent instructions inline
 * in its loop (INLINE); step() runs any instruction, and interpret() hands it everything else (and the
 * rare forms of inline ones, such as helper calls).
 */
import {
  BPF_ADD,
  BPF_ALU,
  BPF_ALU64,
  BPF_AND,
  BPF_ARSH,
  BPF_B,
  BPF_CALL,
  BPF_DW,
  BPF_EXIT,
  BPF_H,
  BPF_JA,
  BPF_JMP,
  BPF_K,
  BPF_LDX,
  BPF_LSH,
  BPF_MEM,
  BPF_MOV,
  BPF_OR,
  BPF_PSEUDO_CALL,
  BPF_RSH,
  BPF_STX,
  BPF_SUB,
  BPF_W,
  BPF_X,
  BPF_XOR,
  OP_LDDW,
  describeOpcode,
} from '../isa/index.js';
import { DONE, SWITCH, type Engine } from './interpreter-state.js';
import {
  ALL_SEMANTICS,
  SEMANTICS,
  SEMANTICS_HELPERS,
  loadInto,
  usesSrcReg,
  type InsnSemantics,
} from './insn-semantics.js';
import { out } from './interpreter-int64.js';
import {
  CONTINUE,
  atomic,
  budgetError,
  callHelper,
  callxError,
  fallThroughError,
  loadPacket,
  popFrame,
  pushFrame,
} from './interpreter-ops.js';
import { VmError } from './vm-error.js';
import type { LoadedProgram } from './interpreter-program.js';

/**
 * Instructions interpret() executes inline: 64-bit and 32-bit add/sub/mov/logic, constant 64-bit
 * shifts, 64-bit conditional jumps, `ja`, loads and stores of registers, local calls and `exit`. The
 * rest are rarer in hot code and go through step().
 */
const INLINE: readonly number[] = [
  ...[BPF_ADD, BPF_SUB, BPF_OR, BPF_AND, BPF_XOR, BPF_MOV].flatMap((op) => [
    BPF_ALU64 | op | BPF_K,
    BPF_ALU64 | op | BPF_X,
  ]),
  ...[BPF_LSH, BPF_RSH, BPF_ARSH].flatMap((op) => [BPF_ALU64 | op | BPF_K, BPF_ALU64 | op | BPF_X]),
  ...[BPF_ADD, BPF_SUB, BPF_AND, BPF_OR, BPF_MOV].flatMap((op) => [BPF_ALU | op | BPF_K, BPF_ALU | op | BPF_X]),
  BPF_JMP | BPF_JA,
  ...ALL_SEMANTICS.filter((s) => s.kind === 'jump' && s.width === 64).map((s) => s.code),
  ...[BPF_B, BPF_H, BPF_W, BPF_DW].flatMap((size) => [BPF_LDX | BPF_MEM | size, BPF_STX | BPF_MEM | size]),
  BPF_JMP | BPF_CALL | BPF_K,
  BPF_JMP | BPF_EXIT,
];

/**
 * Case numbers: the opcodes renumbered densely, INLINE first, so that V8 turns both switches into jump
 * tables (with opcode bytes as cases — about 120 values spread over 0..255 — it compares them one by one,
 * which cost more than the instructions themselves). 0 is no instruction (an invalid opcode, the second
 * slot of an lddw); END marks the slot past the program's last.
 */
const ORDER: readonly number[] = [
  ...INLINE,
  ...ALL_SEMANTICS.map((s) => s.code).filter((code) => !INLINE.includes(code)),
];
/** Case number of each opcode byte (exported for the test that checks every instruction has its case). */
export const CASE_OF = new Uint8Array(256);
ORDER.forEach((code, i) => (CASE_OF[code] = i + 1));
const END = ORDER.length + 1;

/**
 * Forms decode() picks for some instructions from their fields, so that the case need not test them at
 * run time: a 64-bit shift by a constant 1-31 or 32-63 (a straight-line template instead of a switch on
 * the count), by 0 (nothing), and a plain 64-bit register move (no movsx width test). Only interpret()
 * has these cases, and none of them leaves its loop.
 */
interface Special {
  /** Case number (above END). */
  readonly n: number;
  /** What it does, as a comment in the source. */
  readonly name: string;
  /** Its body in the loops (`fast`: interpret()'s, else exact()'s), with d, w, pc, L, H, W in scope. */
  readonly body: string | ((fast: boolean) => string);
}
const SPECIALS: Special[] = [];
function special(name: string, body: string | ((fast: boolean) => string)): number {
  const n = END + 1 + SPECIALS.length;
  SPECIALS.push({ n, name, body });
  return n;
}
const SHIFT_IMM = 'const k = W[pc + pc + 1] & 31;';
/** [opcode, case for a count of 1-31, case for 32-63] of each constant 64-bit shift. */
const CONST_SHIFTS = new Map<number, readonly [number, number]>([
  [
    BPF_ALU64 | BPF_LSH | BPF_K,
    [
      special('lsh64 k<32', `${SHIFT_IMM} const dl = L[d]; H[d] = (H[d] << k) | (dl >>> (32 - k)); L[d] = dl << k;`),
      special('lsh64 k>=32', `${SHIFT_IMM} H[d] = L[d] << k; L[d] = 0;`),
    ],
  ],
  [
    BPF_ALU64 | BPF_RSH | BPF_K,
    [
      special(
        'rsh64 k<32',
        `${SHIFT_IMM} const dh = H[d]; L[d] = (L[d] >>> k) | (dh << (32 - k)); H[d] = (dh >>> k) | 0;`,
      ),
      special('rsh64 k>=32', `${SHIFT_IMM} L[d] = (H[d] >>> k) | 0; H[d] = 0;`),
    ],
  ],
  [
    BPF_ALU64 | BPF_ARSH | BPF_K,
    [
      special('arsh64 k<32', `${SHIFT_IMM} const dh = H[d]; L[d] = (L[d] >>> k) | (dh << (32 - k)); H[d] = dh >> k;`),
      special('arsh64 k>=32', `${SHIFT_IMM} const dh = H[d]; L[d] = dh >> k; H[d] = dh >> 31;`),
    ],
  ],
]);
/**
 * interpret()'s budget bookkeeping where control moves to `pc` (see runsOf): pay for the straight run that
 * starts there, or, when the budget cannot, finish the run in exact(), which stops at the very instruction
 * the budget runs out on.
 */
const CHARGE = 'budget -= R[pc]; if (budget < 0) { st.budget = budget + R[pc]; return exact(st, p, pc); } continue;';

const NOP = special('shift by 0', '');
const MOV64_REG = special('mov64 reg', 'const s = (w >>> 12) & 15; L[d] = L[s]; H[d] = H[s];');
/** 64-bit or/xor/and/add with a non-negative constant, whose sign-extended high half is 0. */
const IMM = 'W[pc + pc + 1]';
const POSITIVE_IMM = new Map<number, number>([
  [BPF_ALU64 | BPF_OR | BPF_K, special('or64 imm>=0', `L[d] |= ${IMM};`)],
  [BPF_ALU64 | BPF_XOR | BPF_K, special('xor64 imm>=0', `L[d] ^= ${IMM};`)],
  [BPF_ALU64 | BPF_AND | BPF_K, special('and64 imm>=0', `L[d] &= ${IMM}; H[d] = 0;`)],
  [
    BPF_ALU64 | BPF_ADD | BPF_K,
    special(
      'add64 imm>=0',
      `const dl = L[d]; const t = (dl + ${IMM}) | 0; L[d] = t; if ((t >>> 0) < (dl >>> 0)) H[d] = (H[d] + 1) | 0;`,
    ),
  ],
]);

/**
 * Fused pairs: `add rA, imm` followed by a 64-bit conditional jump on a constant (how a counted loop
 * ends), one case per condition, run as one dispatch. The jump's slot keeps its own case, so jumping
 * straight to it still works; and the pair counts as two instructions of the budget: with none left
 * for the jump, the case runs the add alone and the loop's next turn faults at the jump, as unfused.
 */
const ADD_THEN_JUMP = new Map<number, number>(
  ALL_SEMANTICS.filter((sem) => sem.kind === 'jump' && sem.width === 64 && !usesSrcReg(sem.code)).map((sem) => {
    if (sem.kind !== 'jump') throw new Error('internal');
    const cond = sem.cond({ al: 'al', ah: 'ah', bl: 'jl', bh: '(jl >> 31)' });
    const add =
      'const bl = W[pc + pc + 1]; const dl = L[d]; const t = (dl + bl) | 0; H[d] = (H[d] + (bl >> 31) + ((t >>> 0) < (dl >>> 0) ? 1 : 0)) | 0; L[d] = t;';
    const operands =
      'const w2 = W[pc + pc + 2]; const d2 = (w2 >>> 8) & 15; const al = L[d2]; const ah = H[d2]; const jl = W[pc + pc + 3];';
    // exact(): the budget per instruction; interpret(): the run of the jump was paid for, the next is
    const jump = (fast: boolean) =>
      fast
        ? `${operands} if (${cond}) { pc += (w2 >> 16) + 2; ${CHARGE} } pc += 2; ${CHARGE}`
        : `if (budget === 0) { pc++; continue; } budget--; ${operands} if (${cond}) { pc += (w2 >> 16) + 2; continue; } pc++;`;
    return [
      sem.code,
      special(`add64 imm; ${describeOpcode(sem.code)?.name ?? ''} imm`, (fast) => `${add} ${jump(fast)}`),
    ];
  }),
);
if (END + SPECIALS.length > 255) throw new Error('internal: the interpreter packs case numbers into 8 bits');

/** The case decode() gives the instruction at `pc`: its opcode's, or a special form of it. */
function caseAt(p: LoadedProgram, pc: number): number {
  const code = p.code[pc] as number;
  const shift = CONST_SHIFTS.get(code);
  if (shift !== undefined) {
    const k = (p.imm[pc] as number) & 63;
    return k === 0 ? NOP : k < 32 ? shift[0] : shift[1];
  }
  if (code === (BPF_ALU64 | BPF_MOV | BPF_X) && p.off[pc] === 0) return MOV64_REG;
  if (code === (BPF_ALU64 | BPF_ADD | BPF_K) && pc + 1 < p.slots) {
    const fused = ADD_THEN_JUMP.get(p.code[pc + 1] as number);
    if (fused !== undefined) return fused;
  }
  const positive = POSITIVE_IMM.get(code);
  if (positive !== undefined && (p.imm[pc] as number) >= 0) return positive;
  return CASE_OF[code] as number;
}

/**
 * The interpreter's form of a program (LoadedProgram.interp), built on its first run: two int32 per slot,
 * [case | dst << 8 | src << 12 | off << 16, imm], so that an instruction is two reads of one typed array
 * instead of five of five; and END in an extra slot at the end, so the loop needs no bounds test of its own.
 * lddw's second constant half stays in the program's imm2 column (lddw is rare in loops).
 */
function decode(p: LoadedProgram): Int32Array {
  const w = new Int32Array(2 * (p.slots + 1));
  for (let pc = 0; pc < p.slots; pc++) {
    w[2 * pc] =
      caseAt(p, pc) | ((p.dst[pc] as number) << 8) | ((p.src[pc] as number) << 12) | ((p.off[pc] as number) << 16);
    w[2 * pc + 1] = p.imm[pc] as number;
  }
  w[2 * p.slots] = END;
  p.interpRuns = runsOf(p);
  p.interp = w;
  return w;
}

/**
 * Instructions that never move control anywhere but to the next one (nor end the program): interpret()
 * runs them without touching the budget.
 */
const STRAIGHT = new Set(
  ALL_SEMANTICS.filter((s) => ['alu', 'load', 'store', 'lddw', 'atomic'].includes(s.kind)).map((s) => s.code),
);

/**
 * For each slot, the number of instructions from it to the end of its straight run: up to and including
 * the next instruction that is not STRAIGHT (a jump, call, exit, packet load), or the END slot. interpret()
 * pays a run's instructions from the budget where it enters the run (its start, a jump target, the
 * instruction after a call), so the straight instructions need no budget test of their own; the budget is
 * exact wherever control leaves a run, which is everywhere anyone looks at it (helpers, exit).
 */
function runsOf(p: LoadedProgram): Int32Array {
  const r = new Int32Array(p.slots + 1).fill(1);
  for (let pc = p.slots - 1; pc >= 0; pc--) {
    const code = p.code[pc] as number;
    if (!STRAIGHT.has(code) || p.bySlot[pc] === undefined) continue;
    r[pc] = 1 + (r[pc + (code === OP_LDDW ? 2 : 1)] as number);
  }
  return r;
}

/** The packed fields (see decode) in place of the program's columns in a case's source. */
function packed(src: string): string {
  return src
    .replaceAll('SRC[pc]', '((w >>> 12) & 15)')
    .replaceAll('OFF[pc]', '(w >> 16)')
    .replaceAll('IMM[pc]', 'W[pc + pc + 1]');
}

/** step()'s results besides a pc. */
const STEP_DONE = -1;
const STEP_SWITCH = -2;

/** How a case continues, in interpret()'s loop or as step()'s result. */
interface Flow {
  /** Go on at pc + n. */
  next(n: number): string;
  /** Go on at the pc an expression computes. */
  goto(pc: string): string;
  /** The program (or this callback) ended with r0 in st.lo[0] / st.hi[0]. */
  readonly done: string;
  /** Continue in st.next at st.pc. */
  readonly switchProgram: string;
  /** Call helper `id` (r1-r5 are in st.lo/st.hi), then go on. */
  helper(id: string): string;
}

/** exact(): every instruction pays for itself (the loop head). */
const EXACT: Flow = {
  next: (n) => (n === 1 ? 'pc++; continue;' : `pc += ${n}; continue;`),
  goto: (pc) => `pc = ${pc}; continue;`,
  done: `st.budget = budget; return ${DONE};`,
  switchProgram: `st.budget = budget; return ${SWITCH};`,
  // helpers may run callbacks, which spend the budget too: step() does the bookkeeping
  helper: () => 'break;',
};

/** interpret(): straight instructions go on for free, control moves pay for the run they enter. */
const FAST: Flow = {
  ...EXACT,
  goto: (pc) => `pc = ${pc}; ${CHARGE}`,
};

const STEP: Flow = {
  next: (n) => `return pc + ${n};`,
  goto: (pc) => `return ${pc};`,
  done: `return ${STEP_DONE};`,
  switchProgram: `return ${STEP_SWITCH};`,
  helper: (id) =>
    `const r = X.callHelper(st, p, pc, ${id}); ` +
    `if (r !== ${CONTINUE}) return r === ${DONE} ? ${STEP_DONE} : ${STEP_SWITCH}; return pc + 1;`,
};

/** Does `src` read local `name` (anything but a plain `name = ...` assignment)? */
function reads(src: string, name: string): boolean {
  return new RegExp(`\\b${name}\\b`).test(src.replace(new RegExp(`\\b${name} = (?!=)`, 'g'), ''));
}
function assigns(src: string, name: string): boolean {
  return new RegExp(`\\b${name} (=(?!=)|\\|=|&=|\\^=)`).test(src);
}

/**
 * A filled-in template with the case's locals: declarations that load the operands it reads (dst halves,
 * the second operand from src or the immediate, imm, off), the template, and the write-back of the dst
 * halves it assigns. A dst half assigned only on some paths (a runtime if) is loaded first. `code` is
 * the statements to run (for a jump: the template as a condition).
 */
function withLocals(body: string, x: boolean, code = body): string {
  const pre: string[] = [];
  const post: string[] = [];
  const conditional = body.includes('if (');
  for (const [name, reg] of [
    ['dl', 'L'],
    ['dh', 'H'],
  ] as const) {
    const set = assigns(body, name);
    if (reads(body, name) || (set && conditional)) pre.push(`let ${name} = ${reg}[d];`);
    else if (set) pre.push(`let ${name} = 0;`);
    if (set) post.push(`${reg}[d] = ${name};`);
  }
  const bl = reads(body, 'bl');
  const bh = reads(body, 'bh');
  if (x && (bl || bh)) pre.push('const s = SRC[pc];');
  if (bl) pre.push(x ? 'const bl = L[s];' : 'const bl = IMM[pc];');
  if (bh) pre.push(x ? 'const bh = H[s];' : bl ? 'const bh = bl >> 31;' : 'const bh = IMM[pc] >> 31;');
  if (reads(body, 'imm')) pre.push('const imm = IMM[pc];');
  if (reads(body, 'off')) pre.push('const off = OFF[pc];');
  if (reads(body, 't')) pre.push('let t = 0;');
  return `${pre.join(' ')} ${code} ${post.join(' ')}`;
}

/** 64-bit shifts, whose templates are straight-line code only for a known count. */
const SHIFTS64 = new Set(
  [BPF_LSH, BPF_RSH, BPF_ARSH].flatMap((op) => [BPF_ALU64 | op | BPF_K, BPF_ALU64 | op | BPF_X]),
);

/**
 * A 64-bit shift as a switch on its count: each case is the template filled in with that count, so a
 * shift costs a jump-table dispatch instead of a call into the int64 helpers and a round trip through
 * their result pair.
 */
function shiftByCount(sem: InsnSemantics & { kind: 'alu' }, x: boolean): string {
  const arms: string[] = [];
  for (let k = 0; k < 64; k++) {
    const body = sem.emit({ dl: 'dl', dh: 'dh', bl: '', bh: '', k, imm: 'imm', off: 'off' });
    if (body !== '') arms.push(`case ${k}: { ${body} break; }`);
  }
  const count = x ? 'L[SRC[pc]] & 63' : 'IMM[pc] & 63';
  return `let dl = L[d]; let dh = H[d]; switch (${count}) { ${arms.join(' ')} } L[d] = dl; H[d] = dh;`;
}

/** The source of one instruction's case body. */
function caseBody(sem: InsnSemantics, flow: Flow): string {
  switch (sem.kind) {
    case 'alu': {
      if (SHIFTS64.has(sem.code)) return `${shiftByCount(sem, usesSrcReg(sem.code))} ${flow.next(1)}`;
      const body = sem.emit({ dl: 'dl', dh: 'dh', bl: 'bl', bh: 'bh', k: undefined, imm: 'imm', off: 'off' });
      return `${withLocals(body, usesSrcReg(sem.code))} ${flow.next(1)}`;
    }
    case 'jump': {
      const cond = sem.cond({ al: 'dl', ah: 'dh', bl: 'bl', bh: 'bh' });
      return `${withLocals(cond, usesSrcReg(sem.code), `if (${cond}) { ${flow.goto('pc + OFF[pc] + 1')} }`)} ${flow.goto('pc + 1')}`;
    }
    case 'ja':
      return flow.goto(sem.wide ? 'pc + IMM[pc] + 1' : 'pc + OFF[pc] + 1');
    case 'call':
      return `if (SRC[pc] === ${BPF_PSEUDO_CALL}) { X.pushFrame(st, p, pc, pc + 1); ${flow.goto('pc + IMM[pc] + 1')} } ${flow.helper('IMM[pc]')}`;
    case 'callx':
      return `if (!p.mayCallx(L[d], H[d])) throw X.callxError(p, pc, d, L[d], H[d]); ${flow.helper('L[d]')}`;
    case 'exit':
      // popFrame: a pc in this program, -1 (a frame of another program) or -2 (a callback's end)
      return `if (st.depth === 0) { ${flow.done} } const r = X.popFrame(st, p); if (r >= 0) { ${flow.goto('r')} } if (r === -1) { ${flow.switchProgram} } ${flow.done}`;
    case 'lddw':
      return `L[d] = IMM[pc]; H[d] = IMM2[pc]; ${flow.next(2)}`;
    case 'load': {
      const at = 'L[s], H[s], OFF[pc], pc';
      if (sem.size === 8) return `const s = SRC[pc]; M.ld64(${at}); L[d] = M.lo; H[d] = M.hi; ${flow.next(1)}`;
      return `const s = SRC[pc]; let dl = 0, dh = 0; ${loadInto('dl', 'dh', `M.ld${sem.size * 8}(${at})`, sem.size, sem.signed)} L[d] = dl; H[d] = dh; ${flow.next(1)}`;
    }
    case 'store': {
      const vl = sem.fromImm ? 'IMM[pc]' : 'L[s]';
      const value = sem.size === 8 ? `${vl}, ${sem.fromImm ? 'IMM[pc] >> 31' : 'H[s]'}` : vl;
      return `${sem.fromImm ? '' : 'const s = SRC[pc]; '}M.st${sem.size * 8}(L[d], H[d], OFF[pc], ${value}, pc); ${flow.next(1)}`;
    }
    case 'atomic':
      return `X.atomic(st, pc, IMM[pc], ${sem.size}, d, SRC[pc], OFF[pc]); ${flow.next(1)}`;
    case 'packet': {
      const at = sem.indirect ? '(IMM[pc] + L[SRC[pc]]) | 0' : 'IMM[pc]';
      // outside the packet: the program ends with r0 = 0, as in the kernel
      return (
        `const v = X.loadPacket(st, pc, ${sem.size}, ${at}); ` +
        `if (v < 0) { L[0] = 0; H[0] = 0; st.depth = 0; ${flow.done} } L[0] = v | 0; H[0] = 0; ${flow.goto('pc + 1')}`
      );
    }
  }
}

function cases(codes: readonly number[], flow: Flow): string {
  return codes
    .map((code) => {
      const sem = SEMANTICS[code];
      if (sem === undefined) throw new Error(`internal: no semantics for opcode ${code}`);
      const body = packed(caseBody(sem, flow));
      return `case ${CASE_OF[code]}: /* ${describeOpcode(code)?.name ?? ''} */ { ${body} }`;
    })
    .join('\n');
}

/** The special cases' source, for interpret()'s loop (`fast`) or exact()'s. */
function specials(fast: boolean): string {
  return SPECIALS.map((sp) => {
    const body = typeof sp.body === 'string' ? sp.body : sp.body(fast);
    return `case ${sp.n}: /* ${sp.name} */ { ${body} pc++; continue; }`;
  }).join('\n');
}

let source: string | undefined;

/**
 * The generated source of step() and interpret() (exposed for tests and curious readers). Generated on
 * first use, with the loop (see `interpret`): building it from the semantics table costs milliseconds.
 */
export function interpreterSource(): string {
  return (source ??= generateSource());
}

function generateSource(): string {
  return `"use strict";
function step(st, p, pc, w) {
  const L = st.lo, H = st.hi, M = st.mem, W = p.interp, IMM2 = p.imm2;
  const d = (w >>> 8) & 15;
  switch (w & 255) {
${cases(
  ALL_SEMANTICS.map((s) => s.code),
  STEP,
)}
  }
  throw new X.VmError('load', 'invalid opcode 0x' + p.code[pc].toString(16), { pc });
}
const exact = function exact(st, p, startPc) {
  const L = st.lo, H = st.hi, M = st.mem, IMM2 = p.imm2;
  const W = p.interp ?? X.decode(p);
  let pc = startPc;
  let budget = st.budget;
  for (;;) {
    const w = W[pc + pc];
    if (--budget < 0) {
      st.budget = 0;
      if (pc >= p.slots) throw X.fallThroughError(pc);
      throw X.budgetError(pc, st.limit);
    }
    const d = (w >>> 8) & 15;
    switch (w & 255) {
${cases(INLINE, EXACT)}
      case ${END}:
        throw X.fallThroughError(pc);
${specials(false)}
    }
    // everything else, and the rare forms of the cases above that break out
    st.budget = budget;
    const next = step(st, p, pc, w);
    if (next < 0) return next === ${STEP_DONE} ? ${DONE} : ${SWITCH};
    budget = st.budget; // a helper may have run callbacks, which spend the same budget
    pc = next;
  }
};
return function interpret(st, p, startPc) {
  const L = st.lo, H = st.hi, M = st.mem, IMM2 = p.imm2;
  const W = p.interp ?? X.decode(p);
  const R = p.interpRuns;
  let pc = startPc;
  let budget = st.budget - R[pc];
  if (budget < 0) return exact(st, p, pc);
  for (;;) {
    const w = W[pc + pc];
    const d = (w >>> 8) & 15;
    switch (w & 255) {
${cases(INLINE, FAST)}
      case ${END}:
        throw X.fallThroughError(pc);
${specials(true)}
    }
    // everything else, and the rare forms of the cases above that break out
    st.budget = budget;
    const next = step(st, p, pc, w);
    if (next < 0) return next === ${STEP_DONE} ? ${DONE} : ${SWITCH};
    budget = st.budget; // a helper may have run callbacks, which spend the same budget
    const ended = R[pc] === 1;
    pc = next;
    if (ended) { ${CHARGE} }
  }
};
//# sourceURL=bpfkit-interpreter.js`;
}

/** What the generated code calls: the int64 helpers and the out-of-line operations. */
const helpers = {
  ...SEMANTICS_HELPERS,
  atomic,
  budgetError,
  callHelper,
  callxError,
  decode,
  fallThroughError,
  loadPacket,
  popFrame,
  pushFrame,
  VmError,
};

let compiledLoop: Engine | undefined;

/**
 * The interpreter loop: (state, program, start pc) => DONE | SWITCH (see interpreter-state.ts). Its
 * source is generated and compiled on the first run, not when this module loads: generating those 127 KB
 * and V8's parse of them take ~15 ms, and the JIT and WebAssembly engines, which import the interpreter
 * only as their fallback, are what most runs use (`bpfkit urls` on a small capture paid it for nothing).
 */
export const interpret: Engine = (st, p, startPc) =>
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  (compiledLoop ??= new Function('X', 'O', interpreterSource())(helpers, out) as Engine)(st, p, startPc);
