/**
 * `bpfkit cbpf asm|disasm|check|run|convert`: the classic BPF toolchain. Every command takes a program
 * as a FILE in any form (bpf_asm source, tcpdump -d/-dd/-ddd output, tc bytecode, binary sock_filter),
 * `-` for stdin, or the program text itself when no such file exists (`'4,40 0 0 12,...'`).
 */
import { UsageError } from '../../util/errors.js';
import { onlyFlags, parseFlags } from '../args.js';
import {
  checkClassic,
  convertClassic,
  encodeClassic,
  formatBpfAsm,
  formatBpfAsmC,
  formatBytecode,
  formatDd,
  formatDdd,
  formatImage,
  prepareClassic,
  runClassic,
  type SockFilter,
} from '../../cbpf/index.js';
import { disassemble } from '../../asm/index.js';
import { encodeProgram } from '../../isa/index.js';
import { openCapture } from '../../packet/index.js';
import { netOffsetOf, readProgramArg } from './cbpf-program.js';
import { runDebuggerShell } from './cbpf-dbg.js';
import { writeOutputFile } from '../output-file.js';

export const help = `usage: bpfkit cbpf COMMAND PROGRAM [options]

Classic BPF (SO_ATTACH_FILTER, tc's bpf bytecode, tcpdump -d). PROGRAM is a file in any form — bpf_asm
source, tcpdump -dd/-ddd output, a tc bytecode string, a binary struct sock_filter array — '-' for stdin,
or the program text itself ('4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0,').

commands:
  asm PROGRAM [-f bytecode|c|ddd|dd|d|asm|bin] [-o OUT]
                           assemble (default: tc bytecode, as bpf_asm prints it; c = bpf_asm -c)
  disasm PROGRAM [-d|-dd|-ddd|--asm]
                           print as tcpdump -d (default), -dd, -ddd, or as bpf_asm source
  check PROGRAM            exit 0 when the kernel would accept the program, 1 (and the reason) when not
  run PROGRAM --pcap FILE [--json]
                           run on each packet of a capture: the return value (0 = drop), like tcpdump -r
  convert PROGRAM [-o OUT] the eBPF program the kernel would run (listing, or raw bytecode with -o)
  dbg [--eval 'CMD; CMD']  a bpf_dbg-style debugger reading commands from stdin ('help' lists them)
`;

const FORMATS = ['bytecode', 'c', 'ddd', 'dd', 'd', 'asm', 'bin'] as const;
type Format = (typeof FORMATS)[number];

/** Read PROGRAM (usage error when missing). */
function loadProgram(arg: string | undefined): { insns: SockFilter[]; source: string } {
  if (arg === undefined) throw new UsageError(`missing PROGRAM\n${help}`);
  return readProgramArg(arg);
}

function render(insns: SockFilter[], format: Format): string | Uint8Array {
  switch (format) {
    case 'bytecode':
      return `${formatBytecode(insns)}\n`;
    case 'c':
      return formatBpfAsmC(insns);
    case 'ddd':
      return formatDdd(insns);
    case 'dd':
      return formatDd(insns);
    case 'd':
      return formatImage(insns);
    case 'asm':
      return formatBpfAsm(insns);
    case 'bin':
      return encodeClassic(insns);
  }
}

function emit(out: string | Uint8Array, file: string | undefined): void {
  if (file) writeOutputFile(file, out);
  else process.stdout.write(out);
}

export async function run(argv: string[]): Promise<number> {
  // tcpdump's -d/-dd/-ddd are one flag each, not repeated -d.
  const args = argv.map((a) => (a === '-dd' ? '--dd' : a === '-ddd' ? '--ddd' : a));
  const {
    values,
    positionals,
    help: wantHelp,
  } = parseFlags(args, {
    format: { type: 'string', short: 'f' },
    output: { type: 'string', short: 'o' },
    d: { type: 'boolean', short: 'd' },
    dd: { type: 'boolean' },
    ddd: { type: 'boolean' },
    asm: { type: 'boolean' },
    pcap: { type: 'string' },
    json: { type: 'boolean' },
    eval: { type: 'string' },
  });
  const [command, program, ...extra] = positionals;
  if (wantHelp || command === undefined) {
    process.stdout.write(help);
    return wantHelp ? 0 : 2;
  }
  // Every subcommand shares one parser: refuse the flags this one would ignore.
  const own: Record<string, readonly string[]> = {
    asm: ['format', 'output'],
    disasm: ['d', 'dd', 'ddd', 'asm', 'output'],
    check: [],
    convert: ['output'],
    run: ['pcap', 'json'],
    dbg: ['eval'],
  };
  if (own[command]) onlyFlags(values, own[command], `cbpf ${command}`);
  if (command === 'dbg') {
    if (program !== undefined) throw new UsageError(`unexpected argument '${program}'`);
    return runDebuggerShell(values.eval);
  }
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  switch (command) {
    case 'asm': {
      const format = (values.format ?? 'bytecode') as Format;
      if (!FORMATS.includes(format))
        throw new UsageError(`-f must be one of ${FORMATS.join(', ')}, got '${values.format}'`);
      emit(render(loadProgram(program).insns, format), values.output);
      return 0;
    }
    case 'disasm': {
      const picked = (['d', 'dd', 'ddd', 'asm'] as const).filter((f) => values[f]);
      if (picked.length > 1) throw new UsageError('use one of -d, -dd, -ddd, --asm');
      emit(render(loadProgram(program).insns, picked[0] ?? 'd'), values.output);
      return 0;
    }
    case 'check': {
      const { insns, source } = loadProgram(program);
      const bad = checkClassic(insns);
      if (bad) {
        process.stderr.write(`bpfkit cbpf check: ${source}: ${bad.message} (${bad.rule})\n`);
        return 1;
      }
      process.stdout.write(`${source}: ok, ${insns.length} instructions\n`);
      return 0;
    }
    case 'convert': {
      const { insns, source } = loadProgram(program);
      const ebpf = convertClassic(insns, source);
      if (values.output) writeOutputFile(values.output, encodeProgram(ebpf));
      else
        process.stdout.write(
          disassemble(ebpf)
            .map((line, pc) => `${String(pc).padStart(5)}: ${line}\n`)
            .join(''),
        );
      return 0;
    }
    case 'run': {
      if (!values.pcap) throw new UsageError('run needs --pcap FILE');
      const { insns, source } = loadProgram(program);
      const prog = prepareClassic(insns, source);
      const reader = await openCapture(values.pcap);
      const results: number[] = [];
      // A corrupt record is reported after the verdicts of every packet before it, as tcpdump -r does.
      let inputFault: unknown;
      try {
        for await (const p of reader) {
          results.push(runClassic(prog, p.data, { len: p.origLen, netOffset: netOffsetOf(p.linktype) }).retval);
        }
      } catch (err) {
        inputFault = err;
      } finally {
        await reader.close();
      }
      if (values.json) process.stdout.write(`${JSON.stringify({ results: results.map((retval) => ({ retval })) })}\n`);
      else {
        results.forEach((r, n) => process.stdout.write(`${n + 1}\t${r}\t${r !== 0 ? 'keep' : 'drop'}\n`));
        process.stdout.write(`${results.filter((r) => r !== 0).length} of ${results.length} packets kept\n`);
      }
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what the catch above caught
      if (inputFault !== undefined) throw inputFault;
      return 0;
    }
    default:
      throw new UsageError(`unknown cbpf command '${command}'\n${help}`);
  }
}
