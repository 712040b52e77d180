/**
 * `bpfkit pcap compile`: pcap-filter(7) expressions compiled by bpfkit's own compiler (src/pcap-filter),
 * printed as tcpdump prints them, or as eBPF in a loadable form. (`pcap filter`: pcap-filter-file.ts.)
 */
import { UsageError } from '../../util/errors.js';
import {
  compileFilter,
  EBPF_FORMS,
  elfObject,
  filterToEbpf,
  filterToForm,
  type EbpfForm,
} from '../../pcap-filter/index.js';
import type { Instruction } from '../../isa/index.js';
import { formatBytecode, formatDd, formatDdd, formatImage } from '../../cbpf/index.js';
import { disassemble } from '../../asm/index.js';
import { writeOutputFile } from '../output-file.js';

export const COMPILE_HELP = `usage: bpfkit pcap compile [-y LINKTYPE] [-O] [-s SNAPLEN] [-d|-dd|-ddd|--tc|--ebpf] EXPR...
       bpfkit pcap compile --ebpf --form socket|tc|tc-classid|xdp [-o FILE.o] EXPR...

Compile a pcap-filter(7) expression (one argument or several words, as tcpdump takes it) to classic BPF,
equal to libpcap 1.10's. Output, as tcpdump prints it: -d listing (default), -dd C array, -ddd decimal;
--tc: tc's bytecode string (bpf bytecode "..."); --ebpf: the program converted to eBPF (listing).
  -y LINKTYPE  EN10MB (default), RAW, IPV4, IPV6, LINUX_SLL, LINUX_SLL2, NULL, LOOP, PPP, PFLOG,
               IEEE802_11, IEEE802_11_RADIO, C_HDLC, SLIP, FRELAY, IPNET, ATM_RFC1483, ARCNET_LINUX,
               JUNIPER_* (a libpcap DLT name or number)
  -O, -O0      do not optimize (tcpdump's -O)
  -s SNAPLEN   what accepted packets return (default 262144)
  --form F     the eBPF program in a loadable form (implies --ebpf):
                 socket      SOCKET_FILTER: returns the snapshot length or 0 (SO_ATTACH_BPF)
                 tc          SCHED_CLS, direct action: TC_ACT_OK on a match, TC_ACT_SHOT otherwise
                 tc-classid  SCHED_CLS, classid mode: -1 (the filter's flowid) on a match, 0 otherwise
                 xdp         XDP: XDP_PASS on a match, XDP_DROP otherwise (compile for EN10MB)
  -o FILE.o    write the form as an ELF object (section socket, tc or xdp; license GPL) that
               ip/tc/bpftool and bpfkit load: tc filter add dev D ingress bpf da obj FILE.o sec tc
Errors: one line with the column, exit 2.
`;

/** `bpfkit pcap compile ...` */
export function runCompile(argv: string[]): number {
  let linktype = 'EN10MB';
  let optimize = true;
  let format = '-d';
  let snaplen = 262144;
  let form: EbpfForm | undefined;
  let output: string | undefined;
  const formats: string[] = [];
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-h' || a === '--help') {
      process.stdout.write(COMPILE_HELP);
      return 0;
    } else if (a === '-y' || a === '--linktype') {
      linktype = argv[++i] ?? '';
      if (!linktype) throw new UsageError('-y wants a link type');
    } else if (a === '-O' || a === '-O0') optimize = false;
    else if (a === '-s') {
      const v = argv[++i] ?? '';
      // A `ret #k` holds 32 bits: a larger length would be returned wrapped, silently.
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 0xffffffff)
        throw new UsageError(`-s wants a snapshot length of 1 to 4294967295, got '${v}'`);
      snaplen = Number(v);
    } else if (a === '--form') {
      const f = argv[++i] ?? '';
      if (!(EBPF_FORMS as readonly string[]).includes(f))
        throw new UsageError(`--form wants one of ${EBPF_FORMS.join(', ')}, got '${f}'`);
      form = f as EbpfForm;
      format = '--ebpf';
    } else if (a === '-o' || a === '--output') {
      output = argv[++i] ?? '';
      if (!output) throw new UsageError('-o wants a file name');
    } else if (['-d', '-dd', '-ddd', '--tc', '--ebpf'].includes(a)) {
      // One output: a second one (or a classic listing beside --form, which prints eBPF) would be ignored.
      if (formats.length > 0 && !formats.includes(a))
        throw new UsageError(`${a} given with ${formats[0]}: use one of -d, -dd, -ddd, --tc, --ebpf`);
      formats.push(a);
      format = a;
    } else if (a.startsWith('-') && a.length > 1 && !/^-\s/.test(a) && words.length === 0) {
      throw new UsageError(`unknown option '${a}' (try: bpfkit pcap compile --help)`);
    } else words.push(a);
  }
  if (form && formats.some((f) => f !== '--ebpf'))
    throw new UsageError(`--form prints eBPF: ${formats.find((f) => f !== '--ebpf')} does not apply to it`);
  const expr = words.join(' ');
  const prog = compileFilter(expr, { linktype, optimize, snaplen, savefile: false });
  if (output !== undefined && !form)
    throw new UsageError('-o writes an ELF object: give --form socket|tc|tc-classid|xdp');
  if (form) {
    const f = filterToForm(prog, form, 'expression');
    if (output === undefined) process.stdout.write(listing(f.insns));
    else {
      writeOutputFile(
        output,
        elfObject({ section: f.section, name: `pcap_${form.replace('-', '_')}`, insns: f.insns }),
      );
    }
    return 0;
  }
  switch (format) {
    case '-dd':
      process.stdout.write(formatDd(prog));
      break;
    case '-ddd':
      process.stdout.write(formatDdd(prog));
      break;
    case '--tc':
      process.stdout.write(`${formatBytecode(prog)}\n`);
      break;
    case '--ebpf':
      process.stdout.write(listing(filterToEbpf(prog, 'expression')));
      break;
    default:
      process.stdout.write(formatImage(prog));
  }
  return 0;
}

/** An eBPF program as numbered lines. */
function listing(insns: Instruction[]): string {
  return disassemble(insns)
    .map((line, pc) => `${String(pc).padStart(5)}: ${line}\n`)
    .join('');
}
