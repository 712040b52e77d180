/**
 * `bpfkit cbpf dbg`: the shell of a debugger with the commands of the kernel's tools/bpf/bpf_dbg (load bpf,
 * load pcap, select, step, run, breakpoint, disassemble, dump, quit) for classic and eBPF programs alike.
 * It reads one command a line from stdin (a prompt, completion and saved history when stdin is a
 * terminal) or from `--eval 'a; b'`. A bad command prints one line on stderr and the shell goes on;
 * without a terminal, any such error makes the exit status 2 at the end, so a script that drives it
 * notices. The engines are src/cbpf/debugger.ts and src/vm/stepper.ts, behind cbpf-dbg-targets.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { BpfkitError, InputError, describeError } from '../../util/errors.js';
import type { DebugPacket, StopReason } from '../../cbpf/index.js';
import { isElf } from '../../asm/index.js';
import { openCapture } from '../../packet/index.js';
import { netOffsetOf, readProgramArg } from './cbpf-program.js';
import { ClassicTarget, type DebugTarget, ebpfBytes, loadEbpfTarget } from './cbpf-dbg-targets.js';
import { hexDump } from './cbpf-dbg-hexdump.js';
import { appendHistory, completeLine, HISTORY_SIZE, readHistory } from './cbpf-dbg-readline.js';

const COMMANDS = `commands:
  load bpf PROGRAM     a classic program: a file in any form, or the text ('4,40 0 0 12,...');
                       an ELF object is an eBPF program: load bpf FILE [NAME]
  load ebpf FILE [NAME] an eBPF program: an ELF object, or eBPF assembly (a file or the text)
  load pcap FILE       the packets to run it on (pcap or pcapng)
  select N             start a run on packet N (1 is the first)
  step [N]             execute N instructions (default 1; negative goes back) and dump the registers
  continue             run the selected packet to the next breakpoint or the end
  run [N]              run on the first N packets (default all): passes and fails; stops at a breakpoint
  breakpoint [I|reset] set one before instruction I, list them, or clear them all
  registers            the register dump without executing (eBPF: r0-r10 and the stack)
  packet               the selected packet in hex, the bytes the next instruction loads marked
  maps                 the maps' non-zero entries (eBPF objects)
  disassemble          the program as tcpdump -d (eBPF: llvm-objdump) prints it
  dump                 the program as a C array (tcpdump -dd for classic programs)
  help, quit
`;

/** The shell's state between commands. */
class Shell {
  dbg: DebugTarget | undefined;
  packets: DebugPacket[] = [];

  constructor(
    private readonly write: (text: string) => void,
    /** Mark the packet dump's loaded bytes with ANSI reverse video (stdout is a terminal). */
    private readonly ansi: boolean,
  ) {}

  /** Execute one command line; false when it was `quit`. Errors users can cause are thrown as BpfkitError. */
  async execute(line: string): Promise<boolean> {
    const [cmd, ...args] = line.trim().split(/\s+/);
    const rest = line.trim().slice(cmd!.length).trim();
    switch (cmd) {
      case '':
      case undefined:
        return true;
      case 'quit':
      case 'exit':
        return false;
      case 'help':
        this.write(COMMANDS);
        return true;
      case 'load':
        await this.load(args[0], rest.slice(args[0]?.length ?? 0).trim());
        return true;
      case 'select': {
        const n = this.count(args[0], 'select N');
        const packet = this.packets[n - 1];
        if (!packet || n < 1) throw new InputError(`no packet ${n} (${this.packets.length} loaded)`);
        this.program().select(packet);
        this.write(`packet ${n}: ${packet.data.length} bytes\n`);
        return true;
      }
      case 'step': {
        const n = args[0] === undefined ? 1 : this.integer(args[0], 'step [N]');
        this.report(this.program().step(n));
        return true;
      }
      case 'continue':
        this.report(this.program().continue());
        return true;
      case 'registers':
        this.write(this.program().dump());
        return true;
      case 'packet': {
        const dbg = this.program();
        const bytes = dbg.packet;
        if (!bytes) throw new InputError('no packet selected (load pcap, then select N)');
        this.write(hexDump(bytes, dbg.nextLoad(), this.ansi));
        return true;
      }
      case 'maps':
        this.write(this.program().maps());
        return true;
      case 'run': {
        const dbg = this.program();
        if (!this.packets.length) throw new InputError('no packets loaded (load pcap FILE)');
        const n = args[0] === undefined ? this.packets.length : this.count(args[0], 'run [N]');
        const { passes, fails, stoppedAt } = dbg.runAll(this.packets.slice(0, n));
        if (stoppedAt !== undefined) {
          this.write(`-- breakpoint at pc ${dbg.pc}, packet ${stoppedAt + 1} --\n`);
          this.write(dbg.dump());
        }
        this.write(`bpf passes:${passes.length} fails:${fails}\n`);
        if (passes.length) this.write(`passed: ${passes.map((i) => i + 1).join(' ')}\n`);
        return true;
      }
      case 'breakpoint':
        this.breakpoint(args[0]);
        return true;
      case 'disassemble':
        this.write(this.program().disassemble());
        return true;
      case 'dump':
        this.write(this.program().dumpCode());
        return true;
      default:
        throw new InputError(`unknown command '${cmd}' (try help)`);
    }
  }

  private async load(what: string | undefined, arg: string): Promise<void> {
    if (!arg) throw new InputError('usage: load bpf PROGRAM | load pcap FILE');
    if (what === 'bpf' || what === 'ebpf') {
      this.replace(this.target(what, arg));
    } else if (what === 'pcap') {
      const packets: DebugPacket[] = [];
      const reader = await openCapture(arg);
      try {
        for await (const p of reader) {
          packets.push({ data: p.data, context: { len: p.origLen, netOffset: netOffsetOf(p.linktype) } });
        }
      } finally {
        await reader.close();
      }
      this.packets = packets;
      this.write(`loaded ${packets.length} packets\n`);
    } else throw new InputError('usage: load bpf PROGRAM | load pcap FILE');
  }

  /** The program `load bpf|ebpf ARG` names: eBPF for ELF objects and `ebpf`, classic otherwise. */
  private target(what: 'bpf' | 'ebpf', arg: string): DebugTarget {
    const [first, name, extra] = arg.split(/\s+/);
    const file = first !== undefined && existsSync(first) ? first : undefined;
    const elf = file !== undefined && isElf(readFileSync(file).subarray(0, 4));
    if (what === 'bpf' && !elf) {
      const { insns, source } = readProgramArg(arg);
      return new ClassicTarget(insns, source);
    }
    if (file !== undefined) {
      if (extra !== undefined) throw new InputError(`unexpected '${extra}' (load ${what} FILE [NAME])`);
      return loadEbpfTarget(file, ebpfBytes(file), name);
    }
    return loadEbpfTarget('<program>', ebpfBytes(arg), undefined);
  }

  /** Debug `next` from now on, keeping the breakpoints that fit it. */
  private replace(next: DebugTarget): void {
    const old = this.dbg;
    for (const b of old?.breakpoints ?? []) if (b < next.length) next.breakpoints.add(b);
    old?.close();
    this.dbg = next;
    this.write(`loaded ${next.length} ${next.kind === 'eBPF' ? 'eBPF ' : ''}instructions\n`);
  }

  /** Release the loaded program. */
  close(): void {
    this.dbg?.close();
  }

  private breakpoint(arg: string | undefined): void {
    const dbg = this.program();
    if (arg === undefined) {
      const list = [...dbg.breakpoints].sort((a, b) => a - b);
      this.write(list.length ? list.map((b) => `breakpoint at pc ${b}\n`).join('') : 'no breakpoints\n');
    } else if (arg === 'reset') {
      dbg.breakpoints.clear();
      this.write('breakpoints cleared\n');
    } else {
      const pc = this.integer(arg, 'breakpoint [I|reset]');
      const len = dbg.length;
      if (pc < 0 || pc >= len) throw new InputError(`no instruction ${pc} (the program has ${len})`);
      dbg.breakpoints.add(pc);
      this.write(`breakpoint at pc ${pc}\n`);
    }
  }

  private report(stop: StopReason): void {
    const dbg = this.program();
    if (stop === 'breakpoint') this.write(`-- breakpoint at pc ${dbg.pc} --\n`);
    this.write(dbg.dump());
  }

  private program(): DebugTarget {
    if (!this.dbg) throw new InputError('no program loaded (load bpf PROGRAM)');
    return this.dbg;
  }

  private integer(text: string, usage: string): number {
    if (!/^-?\d+$/.test(text)) throw new InputError(`'${text}' is not a number (${usage})`);
    return Number(text);
  }

  private count(text: string | undefined, usage: string): number {
    if (text === undefined) throw new InputError(`usage: ${usage}`);
    const n = this.integer(text, usage);
    if (n < 1) throw new InputError(`'${text}' must be at least 1 (${usage})`);
    return n;
  }
}

/**
 * Run the debugger on `--eval` commands (separated by ';') or stdin's lines until `quit` or the end.
 * Returns the exit status: 0, or 2 when a command failed and nobody was at a terminal to see it.
 */
export async function runDebuggerShell(evalText: string | undefined): Promise<number> {
  const interactive = evalText === undefined && process.stdin.isTTY === true;
  const shell = new Shell((text) => process.stdout.write(text), process.stdout.isTTY === true);
  let failed = false;
  const execute = async (line: string, where: string): Promise<boolean> => {
    try {
      return await shell.execute(line);
    } catch (err) {
      if (!(err instanceof BpfkitError)) throw err;
      failed = true;
      process.stderr.write(`bpfkit cbpf dbg: ${where}: ${describeError(err)}\n`);
      return true;
    }
  };
  try {
    if (evalText !== undefined) {
      const parts = evalText.split(';');
      for (let i = 0; i < parts.length; i++) if (!(await execute(parts[i]!, `command ${i + 1}`))) break;
      return failed ? 2 : 0;
    }
    const rl = createInterface({
      input: process.stdin,
      output: process.stdout,
      terminal: interactive,
      ...(interactive ? { history: readHistory(), historySize: HISTORY_SIZE, completer: completeLine } : {}),
    });
    if (interactive) {
      rl.setPrompt('> ');
      rl.prompt();
    }
    let lineNo = 0;
    let historyTrouble: string | undefined;
    for await (const line of rl) {
      lineNo++;
      if (interactive && line.trim() && historyTrouble === undefined) {
        historyTrouble = appendHistory(line);
        if (historyTrouble) process.stderr.write(`bpfkit cbpf dbg: ${historyTrouble}\n`);
      }
      if (!(await execute(line, `line ${lineNo}`))) break;
      if (interactive) rl.prompt();
    }
    rl.close();
    return failed && !interactive ? 2 : 0;
  } finally {
    shell.close();
  }
}
