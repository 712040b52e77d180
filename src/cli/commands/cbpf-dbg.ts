/**
 * `bpfkit cbpf dbg`: the shell of a debugger for classic BPF with the commands of the kernel's
 * tools/bpf/bpf_dbg (load bpf, load pcap, select, step, run, breakpoint, disassemble, dump, quit). It reads
 * one command a line from stdin (a prompt and history when stdin is a terminal) or from `--eval 'a; b'`.
 * A bad command prints one line on stderr and the shell goes on; without a terminal, any such error makes
 * the exit status 2 at the end, so a script that drives it notices. The engine is src/cbpf/debugger.ts.
 */
import { createInterface } from 'node:readline';
import { BpfkitError, InputError, describeError } from '../../util/errors.js';
import { ClassicDebugger, type DebugPacket, formatDd, formatImage, type StopReason } from '../../cbpf/index.js';
import { openCapture } from '../../packet/index.js';
import { netOffsetOf, readProgramArg } from './cbpf-program.js';

const COMMANDS = `commands:
  load bpf PROGRAM     a program: a file in any form, or the text ('4,40 0 0 12,...')
  load pcap FILE       the packets to run it on (pcap or pcapng)
  select N             start a run on packet N (1 is the first)
  step [N]             execute N instructions (default 1; negative goes back) and dump the registers
  continue             run the selected packet to the next breakpoint or the end
  run [N]              run on the first N packets (default all): passes and fails; stops at a breakpoint
  breakpoint [I|reset] set one before instruction I, list them, or clear them all
  registers            the register dump without executing
  disassemble          the program as tcpdump -d prints it
  dump                 the program as tcpdump -dd prints it (C array)
  help, quit
`;

/** The shell's state between commands. */
class Shell {
  dbg: ClassicDebugger | undefined;
  packets: DebugPacket[] = [];

  constructor(private readonly write: (text: string) => void) {}

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
      case 'run': {
        const dbg = this.program();
        if (!this.packets.length) throw new InputError('no packets loaded (load pcap FILE)');
        const n = args[0] === undefined ? this.packets.length : this.count(args[0], 'run [N]');
        const { passes, fails, stoppedAt } = dbg.runAll(this.packets.slice(0, n));
        if (stoppedAt !== undefined) {
          this.write(`-- breakpoint at pc ${dbg.machine!.pc}, packet ${stoppedAt + 1} --\n`);
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
        this.write(formatImage(this.program().program.insns));
        return true;
      case 'dump':
        this.write(formatDd(this.program().program.insns));
        return true;
      default:
        throw new InputError(`unknown command '${cmd}' (try help)`);
    }
  }

  private async load(what: string | undefined, arg: string): Promise<void> {
    if (!arg) throw new InputError('usage: load bpf PROGRAM | load pcap FILE');
    if (what === 'bpf') {
      const { insns, source } = readProgramArg(arg);
      const old = this.dbg?.breakpoints;
      this.dbg = new ClassicDebugger(insns, source);
      for (const b of old ?? []) if (b < insns.length) this.dbg.breakpoints.add(b);
      this.write(`loaded ${insns.length} instructions\n`);
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
      const len = dbg.program.insns.length;
      if (pc < 0 || pc >= len) throw new InputError(`no instruction ${pc} (the program has ${len})`);
      dbg.breakpoints.add(pc);
      this.write(`breakpoint at pc ${pc}\n`);
    }
  }

  private report(stop: StopReason): void {
    const dbg = this.program();
    if (stop === 'breakpoint') this.write(`-- breakpoint at pc ${dbg.machine!.pc} --\n`);
    this.write(dbg.dump());
  }

  private program(): ClassicDebugger {
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
  const shell = new Shell((text) => process.stdout.write(text));
  const interactive = evalText === undefined && process.stdin.isTTY === true;
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
  if (evalText !== undefined) {
    const parts = evalText.split(';');
    for (let i = 0; i < parts.length; i++) if (!(await execute(parts[i]!, `command ${i + 1}`))) break;
    return failed ? 2 : 0;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive });
  if (interactive) {
    rl.setPrompt('> ');
    rl.prompt();
  }
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    if (!(await execute(line, `line ${lineNo}`))) break;
    if (interactive) rl.prompt();
  }
  rl.close();
  return failed && !interactive ? 2 : 0;
}
