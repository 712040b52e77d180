/**
 * What `bpfkit cbpf dbg` debugs, behind one interface so every command works the same on both: a classic
 * program (src/cbpf/debugger.ts's ClassicDebugger) or an eBPF one — an ELF object's program with the
 * context its type gets, or eBPF assembly run on the packet as plain memory — stepped by the VM's
 * VmStepper (src/vm/stepper.ts). The shell (cbpf-dbg.ts) parses commands and prints; this file runs.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../../util/errors.js';
import {
  ClassicDebugger,
  type DebugPacket,
  formatDd,
  formatImage,
  type SockFilter,
  type StopReason,
} from '../../cbpf/index.js';
import { assemble, disassembleOne, isElf } from '../../asm/index.js';
import { parseObject } from '../../elf/index.js';
import type { Instruction } from '../../isa/index.js';
import { loadVmCollection, type LoadedProgram, Vm, type VmProgram, type VmRunOptions } from '../../vm/index.js';
import type { VmMap } from '../../vm/index.js';
import { VmStepper } from '../../vm/stepper.js';
import type { Highlight } from './cbpf-dbg-hexdump.js';

/** A program being debugged: the commands' view of either kind. */
export interface DebugTarget {
  /** 'classic' or 'eBPF', for messages. */
  readonly kind: string;
  /** Instructions (eBPF: 8-byte slots), the range breakpoints may be set in. */
  readonly length: number;
  readonly breakpoints: Set<number>;
  /** Start a fresh run on a packet. */
  select(packet: DebugPacket): void;
  /** The selected packet's bytes. */
  readonly packet: Uint8Array | undefined;
  /** Execute n instructions (negative: go back n by replaying from the start). */
  step(n: number): StopReason;
  continue(): StopReason;
  /** Run each packet from the start; stop at the first breakpoint reached. */
  runAll(packets: readonly DebugPacket[]): { passes: number[]; fails: number; stoppedAt?: number };
  /** The next instruction's pc (undefined before select). */
  readonly pc: number | undefined;
  /** Registers (and for eBPF the stack and maps) as text. */
  dump(): string;
  /** The program as text, one instruction a line. */
  disassemble(): string;
  /** The program as C initialisers. */
  dumpCode(): string;
  /** The map contents (eBPF objects); classic programs have none. */
  maps(): string;
  /** The packet bytes the next instruction loads. */
  nextLoad(): Highlight | undefined;
  /** Release what the target holds (VM mappings). */
  close(): void;
}

/** A classic program: ClassicDebugger does the work. */
export class ClassicTarget implements DebugTarget {
  readonly kind = 'classic';
  readonly dbg: ClassicDebugger;
  constructor(insns: readonly SockFilter[], source: string) {
    this.dbg = new ClassicDebugger(insns, source);
  }
  get length(): number {
    return this.dbg.program.insns.length;
  }
  get breakpoints(): Set<number> {
    return this.dbg.breakpoints;
  }
  get packet(): Uint8Array | undefined {
    return this.dbg.packet?.data;
  }
  get pc(): number | undefined {
    return this.dbg.machine?.pc;
  }
  select(packet: DebugPacket): void {
    this.dbg.select(packet);
  }
  step(n: number): StopReason {
    return this.dbg.step(n);
  }
  continue(): StopReason {
    return this.dbg.continue();
  }
  runAll(packets: readonly DebugPacket[]) {
    return this.dbg.runAll(packets);
  }
  dump(): string {
    return this.dbg.dump();
  }
  disassemble(): string {
    return formatImage(this.dbg.program.insns);
  }
  dumpCode(): string {
    return formatDd(this.dbg.program.insns);
  }
  maps(): string {
    return 'a classic program has no maps\n';
  }
  nextLoad(): Highlight | undefined {
    return this.dbg.nextLoad();
  }
  close(): void {}
}

/** How an eBPF run is set up for one packet: Vm.run's options, and where the frame's byte 0 is in VM memory. */
type RunSetup = (data: Uint8Array) => { opts: VmRunOptions; frameAddress: number; release(): void };

const SIZE_BYTES = [4, 2, 1, 8] as const;
const hex64 = (v: bigint) => `0x${v.toString(16).padStart(16, '0')}`;

/** An eBPF program, stepped by VmStepper. */
export class EbpfTarget implements DebugTarget {
  readonly kind = 'eBPF';
  readonly breakpoints = new Set<number>();
  #stepper: VmStepper | undefined;
  #packet: DebugPacket | undefined;
  #frameAddress = 0;
  #release: (() => void) | undefined;
  /** Where LD_ABS offsets start in the frame (the packet's data and mac offsets). */
  #ldAbs: { data: number; mac: number } | undefined;
  readonly #bySlot = new Map<number, Instruction>();

  constructor(
    private readonly vm: Vm,
    private readonly program: LoadedProgram,
    private readonly setup: RunSetup,
    private readonly mapsByName: ReadonlyMap<string, VmMap>,
    private readonly closeAll: () => void,
  ) {
    for (const i of program.insns) this.#bySlot.set(i.pc, i);
  }

  get length(): number {
    return this.program.slots;
  }
  get packet(): Uint8Array | undefined {
    return this.#packet?.data;
  }
  get pc(): number | undefined {
    return this.#stepper?.pc;
  }

  select(packet: DebugPacket): void {
    this.#stop();
    const { opts, frameAddress, release } = this.setup(packet.data);
    this.#packet = packet;
    this.#frameAddress = frameAddress;
    this.#release = release;
    this.#ldAbs = opts.packet ? { data: opts.packet.data, mac: opts.packet.mac } : undefined;
    this.#stepper = new VmStepper(this.vm, this.program, opts);
  }

  step(n: number): StopReason {
    const s = this.#need();
    if (n < 0) {
      // Back by replaying from the start (helpers run again: a map update they make is made again).
      const target = Math.max(0, s.executed + n);
      this.select(this.#packet!);
      const fresh = this.#stepper!;
      while (fresh.executed < target && fresh.step());
      return 'step';
    }
    for (let i = 0; i < n; i++) if (!s.step()) return 'end';
    return s.done ? 'end' : 'step';
  }

  continue(): StopReason {
    const s = this.#need();
    if (s.done) return 'end';
    do if (!s.step()) return 'end';
    while (!(this.breakpoints.has(s.pc) && s.program === this.program));
    return 'breakpoint';
  }

  runAll(packets: readonly DebugPacket[]) {
    const passes: number[] = [];
    let fails = 0;
    for (let i = 0; i < packets.length; i++) {
      this.select(packets[i]!);
      const stop = this.breakpoints.has(0) ? 'breakpoint' : this.continue();
      if (stop === 'breakpoint') return { passes, fails, stoppedAt: i };
      if ((this.#stepper!.register(0) & 0xffffffffn) !== 0n) passes.push(i);
      else fails++;
    }
    return { passes, fails };
  }

  dump(): string {
    const s = this.#need();
    const lines = ['-- register dump --', `pc:       [${s.pc}]${s.depth ? ` (call depth ${s.depth})` : ''}`];
    const cur = s.done ? undefined : s.program.insns.find((i) => i.pc === s.pc);
    if (cur) lines.push(`curr:     (${String(s.pc).padStart(3, '0')}) ${disassembleOne(cur)}`);
    for (let r = 0; r <= 10; r++) lines.push(`${`r${r}:`.padEnd(10)}[${hex64(s.register(r))}][${s.register(r)}]`);
    const stack = s.stack();
    const words: string[] = [];
    for (let off = stack.length - 8; off >= 0; off -= 8) {
      const slot = stack.subarray(off, off + 8);
      if (slot.some((b) => b !== 0))
        words.push(
          `  [r10${off - stack.length}]: ${Buffer.from(slot)
            .toString('hex')
            .replace(/(..)(?!$)/g, '$1 ')}`,
        );
    }
    lines.push(words.length ? `stack:    ${words.length} non-zero 8-byte slots` : 'stack:    all zero', ...words);
    if (s.done) {
      const ret = s.register(0) & 0xffffffffn;
      lines.push(`ret:      [0x${ret.toString(16).padStart(8, '0')}][${ret}] ${ret !== 0n ? 'pass' : 'drop'}`);
    }
    lines.push(`len:      ${this.#packet!.data.length}`, `executed: ${s.executed}`);
    return `${lines.join('\n')}\n`;
  }

  disassemble(): string {
    return this.program.insns.map((i) => `(${String(i.pc).padStart(3, '0')}) ${disassembleOne(i)}\n`).join('');
  }

  dumpCode(): string {
    return this.program.insns
      .map((i) => `{ 0x${i.code.toString(16).padStart(2, '0')}, ${i.dst}, ${i.src}, ${i.off}, ${i.imm} },\n`)
      .join('');
  }

  maps(): string {
    if (this.mapsByName.size === 0) return 'no maps\n';
    const out: string[] = [];
    for (const [name, map] of this.mapsByName) {
      const entries: string[] = [];
      let count = 0;
      for (const [k, v] of map.entries()) {
        // Arrays list every index: show the entries holding something, the first 32 of them.
        if (v.every((b) => b === 0)) continue;
        if (++count <= 32) entries.push(`  ${Buffer.from(k).toString('hex')}: ${Buffer.from(v).toString('hex')}`);
      }
      out.push(`${name}: ${count} non-zero entries${count > 32 ? ' (first 32 shown)' : ''}`, ...entries);
    }
    return `${out.join('\n')}\n`;
  }

  nextLoad(): Highlight | undefined {
    const s = this.#stepper;
    const insn = s && !s.done ? this.#bySlot.get(s.pc) : undefined;
    if (!insn || s!.program !== this.program) return undefined;
    const cls = insn.code & 0x07;
    const mode = insn.code & 0xe0;
    const size = SIZE_BYTES[(insn.code >> 3) & 0x03]!;
    const packet = this.#ldAbs;
    if (cls === 0x00 && (mode === 0x20 || mode === 0x40) && packet) {
      // LD_ABS / LD_IND: offsets from the packet's data (negative bases are not followed here).
      const extra = mode === 0x40 ? Number(s!.register(insn.src) & 0xffffffffn) : 0;
      const at = (insn.imm + extra) | 0;
      return at >= 0 ? { offset: packet.data - packet.mac + at, size } : undefined;
    }
    // LDX / ST / STX through a pointer into the frame.
    const base = cls === 0x01 ? insn.src : cls === 0x02 || cls === 0x03 ? insn.dst : -1;
    if (base < 0 || mode !== 0x60 || this.#frameAddress === 0) return undefined;
    const addr = Number(BigInt.asIntN(64, s!.register(base))) + insn.off;
    const offset = addr - this.#frameAddress;
    return offset >= 0 && offset < this.#packet!.data.length ? { offset, size } : undefined;
  }

  close(): void {
    this.#stop();
    this.closeAll();
  }

  #stop(): void {
    this.#stepper?.close();
    this.#stepper = undefined;
    this.#release?.();
    this.#release = undefined;
  }

  #need(): VmStepper {
    if (!this.#stepper) throw new InputError('no packet selected (load pcap, then select N)');
    return this.#stepper;
  }
}

/**
 * An eBPF program to debug: an ELF object (its program `name`, or its only one) or eBPF assembly text.
 * `arg` is a file or the text itself. Steps run in the VM's interpreter engine.
 */
export function loadEbpfTarget(arg: string, bytes: Uint8Array, name: string | undefined): EbpfTarget {
  if (isElf(bytes)) {
    const coll = loadVmCollection(parseObject(bytes, { path: arg }), { execution: 'interpreter' });
    const names = [...coll.programs.keys()];
    const chosen = name ?? (names.length === 1 ? names[0] : undefined);
    const program = chosen === undefined ? undefined : coll.programs.get(chosen);
    if (!program) {
      coll.close();
      throw new InputError(
        name === undefined
          ? `the object has ${names.length} programs (${names.join(', ')}): load bpf FILE PROGRAM`
          : `no program '${name}' (the object has ${names.join(', ') || 'none'})`,
        arg,
      );
    }
    const setup = program.kind === 'memory' ? onMemory(coll.vm) : asItsTypeRuns(program);
    return new EbpfTarget(coll.vm, program.loaded, setup, coll.maps, () => coll.close());
  }
  const text = new TextDecoder().decode(bytes);
  const vm = new Vm({ engine: 'interpreter' });
  const loaded = vm.load(assemble(text, { source: arg }), { name: 'asm' });
  return new EbpfTarget(vm, loaded, onMemory(vm), new Map(), () => undefined);
}

/** Read an eBPF program argument: a file, or (when no such file exists) the assembly text itself. */
export function ebpfBytes(arg: string): Uint8Array {
  try {
    return readFileSync(arg);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new InputError(`cannot read: ${(err as Error).message}`, arg);
    if (!/[\s=]/.test(arg)) throw new InputError('no such file (and not program text)', arg);
    return new TextEncoder().encode(arg.replace(/\s*;\s*/g, '\n'));
  }
}

/** Runs on plain memory, as the conformance suite's: r1 = the frame's address, r2 = its length. */
function onMemory(vm: Vm): RunSetup {
  return (data) => {
    const bytes = data.slice();
    const base = bytes.length ? vm.memory.map(bytes, { name: 'packet' }) : 0;
    return {
      opts: { args: [base, bytes.length], packet: { bytes, data: 0, end: bytes.length, mac: 0, net: 14 } },
      frameAddress: base,
      release: () => {
        if (base) vm.memory.unmap(base);
      },
    };
  };
}

/**
 * Runs with the context the program's type gets (an __sk_buff or xdp_md over the frame), set up by
 * VmProgram.prepareRun — the same set-up VmProgram.run performs before it starts the program.
 */
function asItsTypeRuns(program: VmProgram): RunSetup {
  return (data) => {
    const opts = program.prepareRun({ data });
    const pb = opts.packet as { base?: number; mac: number } | undefined;
    return { opts, frameAddress: pb?.base !== undefined ? pb.base + pb.mac : 0, release: () => undefined };
  };
}
