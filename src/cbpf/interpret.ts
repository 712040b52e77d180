/**
 * The classic BPF interpreter, with the semantics the kernel gives a program once bpf_convert_filter has
 * turned it into eBPF (the only way Linux runs cBPF today):
 * - A and X are 32-bit and start at 0; M[] is 16 words;
 * - a packet load outside the packet ends the program with 0 (drop), as does division or modulo by X = 0;
 * - shifts by X use X's low 5 bits (what the eBPF interpreter and JITs do for 32-bit shifts);
 * - conditional jumps compare unsigned 32-bit values;
 * - an absolute load of SKF_AD_OFF + n reads ancillary field n from the run context, of any size.
 * The program must pass checkClassic first (prepareClassic enforces it), so every jump lands inside it.
 */
import { InputError } from '../util/errors.js';
import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_B,
  BPF_DIV,
  BPF_H,
  BPF_IMM,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MEM,
  BPF_MOD,
  BPF_MSH,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_X,
  BPF_XOR,
  type SockFilter,
} from './insn.js';
import { SKF_AD, SKF_LL_OFF, SKF_NET_OFF, ancillaryOf } from './ancillary.js';
import { checkClassic, type CheckOptions } from './check.js';
import { type ClassicContext, type ResolvedContext, resolveContext } from './context.js';
import { nlattrFind, nlattrFindNested } from './netlink-attrs.js';

/** A run's outcome: the return value (bytes to keep; 0 drops) and how many instructions ran. */
export interface ClassicRunResult {
  retval: number;
  executed: number;
}

/** A checked program, ready to run on many packets: its fields in flat arrays, and its scratch memory. */
export interface PreparedClassic {
  readonly insns: readonly SockFilter[];
  readonly code: Uint16Array;
  readonly jt: Uint8Array;
  readonly jf: Uint8Array;
  readonly k: Uint32Array;
  /** The program jumps backward (only with `prepareClassic(..., { loops: true })`): runs are budgeted. */
  readonly loops: boolean;
  /** M[]: reused by every run (runs are synchronous and cleared first). */
  readonly mem: Uint32Array;
  /** The machine runClassic reuses for every run, on `mem` (one allocation less per packet). */
  readonly machine: ClassicMachine;
  /** The input runClassic reuses for every run. */
  readonly input: ClassicInput;
}

/**
 * Check a program (InputError naming the rule and instruction when the kernel would refuse it).
 * `options.loops` also accepts libpcap's backward jumps (protochain); such a program's runs stop after
 * LOOP_STEP_BUDGET instructions and reject the packet (libpcap would spin forever on some of them).
 */
export function prepareClassic(
  insns: readonly SockFilter[],
  source?: string,
  options: CheckOptions = {},
): PreparedClassic {
  const bad = checkClassic(insns, options);
  if (bad) throw new InputError(`${bad.message} (${bad.rule})`, source);
  const mem = new Uint32Array(16);
  return {
    insns: insns.map((i) => ({ code: i.code, jt: i.jt, jf: i.jf, k: i.k >>> 0 })),
    code: Uint16Array.from(insns, (i) => i.code),
    jt: Uint8Array.from(insns, (i) => i.jt),
    jf: Uint8Array.from(insns, (i) => i.jf),
    k: Uint32Array.from(insns, (i) => i.k >>> 0),
    mem,
    loops: options.loops === true && insns.some((i) => i.code === (BPF_JMP | BPF_JA) && (i.k | 0) < 0),
    machine: startClassic(mem),
    input: new PacketInput(new Uint8Array(0), undefined),
  };
}

/** Instructions a run of a looping program may execute before its packet is rejected. */
export const LOOP_STEP_BUDGET = 1 << 20;

/** Sentinel: a load fell outside the packet. */
const OUT = -1;

/** Big-endian load at a non-negative offset (the common case, which needs no context), or OUT. */
function loadAbs(p: Uint8Array, at: number, size: number): number {
  if (at + size > p.length) return OUT;
  if (size === 1) return p[at]!;
  if (size === 2) return (p[at]! << 8) | p[at + 1]!;
  return ((p[at]! << 24) | (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]!) >>> 0;
}

/** Big-endian load of `size` bytes at the kernel's offset `k` (int32), or OUT. */
export function loadBytes(p: Uint8Array, c: ResolvedContext, k: number, size: number): number {
  let at: number;
  if (k >= 0) at = k;
  else if (k >= SKF_NET_OFF) at = c.netOffset + (k - SKF_NET_OFF);
  else if (k >= SKF_LL_OFF) at = c.macOffset + (k - SKF_LL_OFF);
  else return OUT;
  if (at < 0 || at + size > p.length) return OUT;
  if (size === 1) return p[at]!;
  if (size === 2) return (p[at]! << 8) | p[at + 1]!;
  return ((p[at]! << 24) | (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]!) >>> 0;
}

/** The value of an ancillary load (A and X as they are before it). */
export function ancillaryValue(off: number, p: Uint8Array, c: ResolvedContext, a: number, x: number): number {
  switch (off) {
    case SKF_AD.PROTOCOL:
      return c.protocol;
    case SKF_AD.PKTTYPE:
      return c.pktType;
    case SKF_AD.IFINDEX:
      return c.ifindex;
    case SKF_AD.NLATTR:
      return nlattrFind(p, c.len, a, x);
    case SKF_AD.NLATTR_NEST:
      return nlattrFindNested(p, c.len, a, x);
    case SKF_AD.MARK:
      return c.mark;
    case SKF_AD.QUEUE:
      return c.queue;
    case SKF_AD.HATYPE:
      return c.hatype;
    case SKF_AD.RXHASH:
      return c.rxhash;
    case SKF_AD.CPU:
      return c.cpu;
    case SKF_AD.ALU_XOR_X:
      return (a ^ x) >>> 0;
    case SKF_AD.VLAN_TAG:
      return c.vlanTci;
    case SKF_AD.VLAN_TAG_PRESENT:
      return c.vlanPresent;
    case SKF_AD.PAY_OFFSET:
      return c.payOffset;
    case SKF_AD.RANDOM:
      return c.random;
    default:
      return c.vlanTpid; // VLAN_TPID, the last one the checker lets through
  }
}

const size = (code: number) => ((code & 0x18) === BPF_B ? 1 : (code & 0x18) === BPF_H ? 2 : 4);

/**
 * A program's state part-way through a run: the next instruction, the registers and M[]. `retval` is set
 * once a return (or a load outside the packet, or a division by zero) has ended the run. runClassic
 * drives one through a whole run; the debugger (debugger.ts) steps one at a time.
 */
export interface ClassicMachine {
  pc: number;
  a: number;
  x: number;
  readonly mem: Uint32Array;
  executed: number;
  retval: number | undefined;
}

/** What an instruction reads besides the registers: the packet, its length, and (lazily) its context. */
export interface ClassicInput {
  readonly packet: Uint8Array;
  readonly len: number;
  /** The full context, built only for the loads that need it (negative offsets, ancillary fields). */
  context(): ResolvedContext;
}

/** The input of one run: `len` from the context (or the byte length), the context resolved on demand. */
export function classicInput(packet: Uint8Array, ctx?: ClassicContext): ClassicInput {
  return new PacketInput(packet, ctx);
}

/** A class rather than a closure, and reusable (runClassic keeps one per program): no allocation per run. */
class PacketInput implements ClassicInput {
  len = 0;
  private resolved: ResolvedContext | undefined;
  constructor(
    public packet: Uint8Array,
    private ctx: ClassicContext | undefined,
  ) {
    this.reset(packet, ctx);
  }
  reset(packet: Uint8Array, ctx: ClassicContext | undefined): this {
    this.packet = packet;
    this.ctx = ctx;
    this.len = (ctx?.len ?? packet.length) >>> 0;
    this.resolved = undefined;
    return this;
  }
  context(): ResolvedContext {
    return (this.resolved ??= resolveContext(this.packet, this.ctx));
  }
}

/** A machine at the start of a run (A = X = 0, M[] cleared), on `mem` when given (reused between runs). */
export function startClassic(mem: Uint32Array = new Uint32Array(16)): ClassicMachine {
  mem.fill(0);
  return { pc: 0, a: 0, x: 0, mem, executed: 0, retval: undefined };
}

/** Run a prepared program on one packet (the bytes from skb->data on). */
export function runClassic(prog: PreparedClassic, packet: Uint8Array, ctx?: ClassicContext): ClassicRunResult {
  const m = prog.machine;
  m.mem.fill(0);
  m.pc = m.a = m.x = m.executed = 0;
  m.retval = undefined;
  const budget = prog.loops ? LOOP_STEP_BUDGET : Infinity;
  runClassicUntil(prog, m, (prog.input as PacketInput).reset(packet, ctx), budget);
  return { retval: m.retval ?? 0, executed: m.executed };
}

/**
 * Execute from `m.pc` until the run ends (true, `m.retval` set), `budget` instructions have run, or the
 * next instruction is one of `breakpoints` (after at least one has run, so a stop can be resumed). One
 * loop serves runClassic and the debugger, so both have the same semantics; the registers live in locals
 * and go back to `m` on the way out, which keeps a whole run as fast as a loop of its own.
 */
export function runClassicUntil(
  prog: PreparedClassic,
  m: ClassicMachine,
  input: ClassicInput,
  budget: number,
  breakpoints?: ReadonlySet<number>,
): boolean {
  const { packet, len } = input;
  const { code: codes, jt: jts, jf: jfs, k: ks } = prog;
  const mem = m.mem;
  let a = m.a;
  let x = m.x;
  let pc = m.pc;
  let executed = m.executed;
  // A whole run (runClassic) skips the stop checks with one test of a constant.
  const limited = budget !== Infinity || breakpoints !== undefined;
  // Every exit hands the registers to `finish` (a closure over them would keep them off the stack).
  const first = executed;
  const stop = executed + budget;
  for (; ; pc++) {
    if (limited && (executed >= stop || (breakpoints !== undefined && executed > first && breakpoints.has(pc))))
      return finish(m, a, x, pc, executed, undefined);
    const code = codes[pc]!;
    const k = ks[pc]!;
    executed++;
    switch (code & 0x07) {
      case BPF_RET:
        return finish(m, a, x, pc, executed, code === (BPF_RET | BPF_A) ? a : k);
      case BPF_LD: {
        const mode = code & 0xe0;
        if (mode === BPF_IMM) a = k;
        else if (mode === BPF_MEM) a = mem[k]!;
        else if (mode === BPF_LEN) a = len;
        else {
          const anc = mode === BPF_ABS ? ancillaryOf(k) : undefined;
          if (anc !== undefined) a = ancillaryValue(SKF_AD[anc], packet, input.context(), a, x);
          else {
            const off = mode === BPF_ABS ? k | 0 : (x + k) | 0;
            const v = off >= 0 ? loadAbs(packet, off, size(code)) : loadBytes(packet, input.context(), off, size(code));
            if (v === OUT) return finish(m, a, x, pc, executed, 0);
            a = v;
          }
        }
        break;
      }
      case BPF_LDX: {
        const mode = code & 0xe0;
        if (mode === BPF_IMM) x = k;
        else if (mode === BPF_MEM) x = mem[k]!;
        else if (mode === BPF_LEN) x = len;
        else if (mode === BPF_MSH) {
          const v = (k | 0) >= 0 ? loadAbs(packet, k, 1) : loadBytes(packet, input.context(), k | 0, 1);
          if (v === OUT) return finish(m, a, x, pc, executed, 0);
          x = (v & 0xf) << 2;
        }
        break;
      }
      case BPF_ST:
        mem[k] = a;
        break;
      case BPF_STX:
        mem[k] = x;
        break;
      case BPF_ALU: {
        const op = code & 0xf0;
        const v = (code & BPF_X) !== 0 ? x : k;
        switch (op) {
          case BPF_ADD:
            a = (a + v) >>> 0;
            break;
          case BPF_SUB:
            a = (a - v) >>> 0;
            break;
          case BPF_MUL:
            a = Math.imul(a, v) >>> 0;
            break;
          case BPF_DIV:
            if (v === 0) return finish(m, a, x, pc, executed, 0);
            a = Math.floor(a / v) >>> 0;
            break;
          case BPF_MOD:
            if (v === 0) return finish(m, a, x, pc, executed, 0);
            a = a % v;
            break;
          case BPF_OR:
            a = (a | v) >>> 0;
            break;
          case BPF_AND:
            a = (a & v) >>> 0;
            break;
          case BPF_XOR:
            a = (a ^ v) >>> 0;
            break;
          case BPF_LSH:
            a = (a << (v & 31)) >>> 0;
            break;
          case BPF_RSH:
            a = a >>> (v & 31);
            break;
          case BPF_NEG:
            a = -a >>> 0;
            break;
        }
        break;
      }
      case BPF_JMP: {
        const op = code & 0xf0;
        if (op === BPF_JA) {
          pc += k | 0; // negative only in a looping program (libpcap's protochain)
          break;
        }
        const v = (code & BPF_X) !== 0 ? x : k;
        let taken: boolean;
        if (op === BPF_JEQ) taken = a === v;
        else if (op === BPF_JGT) taken = a > v;
        else if (op === BPF_JGE) taken = a >= v;
        else taken = (a & v) !== 0; // JSET
        pc += taken ? jts[pc]! : jfs[pc]!;
        break;
      }
      default: // MISC
        if ((code & 0xf8) === BPF_TAX) x = a;
        else if ((code & 0xf8) === BPF_TXA) a = x;
    }
  }
}

/** Write the registers back to `m` as a run stops; true when it has ended. */
function finish(
  m: ClassicMachine,
  a: number,
  x: number,
  pc: number,
  executed: number,
  retval: number | undefined,
): boolean {
  m.a = a;
  m.x = x;
  m.pc = pc;
  m.executed = executed;
  m.retval = retval;
  return retval !== undefined;
}
