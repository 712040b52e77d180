/**
 * The stepping engine behind `bpfkit cbpf dbg` (the kernel's tools/bpf/bpf_dbg): one program, one packet
 * at a time, a machine (pc, A, X, M[]) that advances an instruction at a time, stops at breakpoints, and
 * can step back (by replaying from the start: a run is deterministic, so that is exact). The instructions
 * execute in interpret.ts's runClassicUntil, the same loop runClassic uses, so a stepped run ends with the
 * verdict runClassic gives. No I/O here: the shell (src/cli/commands/cbpf-dbg.ts) reads files and prints.
 */
import { InputError } from '../util/errors.js';
import type { ClassicContext } from './context.js';
import { bpfImage } from './image.js';
import { SKF_AD_OFF, SKF_LL_OFF, SKF_NET_OFF } from './ancillary.js';
import type { SockFilter } from './insn.js';
import {
  type ClassicInput,
  type ClassicMachine,
  type PreparedClassic,
  classicInput,
  prepareClassic,
  runClassicUntil,
  startClassic,
} from './interpret.js';

/** One packet as the debugger sees it: the bytes and the context (len = the capture's original length). */
export interface DebugPacket {
  readonly data: Uint8Array;
  readonly context?: ClassicContext;
}

/** The packet bytes an instruction reads: `size` bytes from `offset` (which may lie beyond the packet). */
export interface PacketLoad {
  readonly offset: number;
  readonly size: number;
}

/** Why a `step` or `continue` stopped. */
export type StopReason = 'step' | 'breakpoint' | 'end';

/** A program being debugged on one selected packet. */
export class ClassicDebugger {
  readonly program: PreparedClassic;
  /** Instruction indexes where `continue` and `runAll` stop before executing. */
  readonly breakpoints = new Set<number>();
  #packet: DebugPacket | undefined;
  #input: ClassicInput | undefined;
  #machine: ClassicMachine | undefined;

  /** Check the program as the kernel would (InputError naming the rule and instruction when it would not). */
  constructor(insns: readonly SockFilter[], source?: string) {
    this.program = prepareClassic(insns, source);
  }

  /** Start a fresh run (pc 0, A = X = 0, M[] clear) on `packet`. */
  select(packet: DebugPacket): void {
    this.#packet = packet;
    this.#input = classicInput(packet.data, packet.context);
    // Its own M[]: the prepared program's is shared by every runClassic.
    this.#machine = startClassic(new Uint32Array(16));
  }

  /** The selected packet, if any. */
  get packet(): DebugPacket | undefined {
    return this.#packet;
  }

  /** The current state (undefined before `select`). */
  get machine(): Readonly<ClassicMachine> | undefined {
    return this.#machine;
  }

  /** The packet length the program sees (`ld #len`). */
  get packetLength(): number | undefined {
    return this.#input?.len;
  }

  /** Execute `n` instructions (fewer when the run ends); a negative `n` goes back that many. */
  step(n = 1): StopReason {
    const m = this.#need();
    if (n < 0) {
      const target = Math.max(0, m.executed + n);
      this.select(this.#packet!);
      if (target > 0) runClassicUntil(this.program, this.#machine!, this.#input!, target);
      return 'step';
    }
    if (m.retval !== undefined) return 'end';
    return runClassicUntil(this.program, m, this.#input!, n) ? 'end' : 'step';
  }

  /** Run until the run ends or the next instruction is a breakpoint (at least one instruction runs). */
  continue(): StopReason {
    const m = this.#need();
    if (m.retval !== undefined) return 'end';
    return runClassicUntil(this.program, m, this.#input!, Infinity, this.breakpoints) ? 'end' : 'breakpoint';
  }

  /**
   * Run the program from the start on each packet, in order, like bpf_dbg's `run`. A packet is a pass
   * when the program returns non-zero. With breakpoints, stops on the first one reached, leaving that
   * packet selected at that instruction (`stoppedAt`, the packet's index) so stepping can go on from it.
   */
  runAll(packets: readonly DebugPacket[]): { passes: number[]; fails: number; stoppedAt?: number } {
    const passes: number[] = [];
    let fails = 0;
    for (let i = 0; i < packets.length; i++) {
      this.select(packets[i]!);
      const m = this.#machine!;
      const stop = this.breakpoints.has(0) ? 'breakpoint' : this.continue();
      if (stop === 'breakpoint') return { passes, fails, stoppedAt: i };
      if (m.retval !== 0) passes.push(i);
      else fails++;
    }
    return { passes, fails };
  }

  /**
   * The packet bytes the next instruction loads (for the hex dump's highlight), or undefined when it is
   * no packet load (ancillary loads read the context, not the packet).
   */
  nextLoad(): PacketLoad | undefined {
    const m = this.#machine;
    const insn = m && m.retval === undefined ? this.program.insns[m.pc] : undefined;
    if (!insn) return undefined;
    const cls = insn.code & 0x07;
    const mode = insn.code & 0xe0;
    const size = [4, 2, 1, 0][(insn.code >> 3) & 0x03]!;
    if (cls === 0x01 && mode === 0xa0) return { offset: insn.k >>> 0, size: 1 }; // ldx 4*([k]&0xf)
    if (cls !== 0x00 || size === 0) return undefined;
    const k = insn.k | 0;
    if (mode === 0x40) return { offset: (m!.x + k) >>> 0, size }; // ld [x + k]
    if (mode !== 0x20) return undefined;
    if (k >= 0) return { offset: k, size };
    const ctx = this.#input!.context();
    if (k >= SKF_AD_OFF) return undefined;
    if (k >= SKF_NET_OFF) return { offset: ctx.netOffset + (k - SKF_NET_OFF), size };
    if (k >= SKF_LL_OFF) return { offset: ctx.macOffset + (k - SKF_LL_OFF), size };
    return undefined;
  }

  /** bpf_dbg's register dump: pc, the instruction about to run (tcpdump -d text), A, X, M[], the length. */
  dump(): string {
    const m = this.#need();
    const insns = this.program.insns;
    const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
    const reg = (v: number) => `[${hex(v)}][${v >>> 0}]`;
    const lines = ['-- register dump --', `pc:       [${m.pc}]`];
    const cur = insns[m.pc];
    if (cur) {
      lines.push(`code:     [${cur.code}] jt[${cur.jt}] jf[${cur.jf}] k[${cur.k >>> 0}]`);
      lines.push(`curr:     ${bpfImage(cur, m.pc)}`);
    }
    lines.push(`A:        ${reg(m.a)}`, `X:        ${reg(m.x)}`);
    let anyMem = false;
    m.mem.forEach((v, i) => {
      if (v === 0) return;
      anyMem = true;
      lines.push(`${`M[${i}]:`.padEnd(10)}${reg(v)}`);
    });
    if (!anyMem) lines.push('M[0-15]:  all zero');
    if (m.retval !== undefined) lines.push(`ret:      ${reg(m.retval)} ${m.retval !== 0 ? 'pass' : 'drop'}`);
    lines.push(`len:      ${this.packetLength}`, `executed: ${m.executed}`);
    return `${lines.join('\n')}\n`;
  }

  #need(): ClassicMachine {
    if (!this.#machine) throw new InputError('no packet selected (load pcap, then select N)');
    return this.#machine;
  }
}
