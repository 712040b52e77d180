/**
 * `bpfkit pcap compile` and `bpfkit pcap filter`: pcap-filter(7) expressions compiled by bpfkit's own
 * compiler (src/pcap-filter), printed as tcpdump prints them, or applied to a capture file the way
 * `tcpdump -r IN -w OUT EXPR` does, except that the kept records are copied byte for byte, in the
 * input's own format (pcap or pcapng, byte order, timestamp resolution, every non-packet block).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError, InputError, EnvironmentError } from '../../util/errors.js';
import {
  compileFilter,
  EBPF_FORMS,
  elfObject,
  filterToEbpf,
  filterToForm,
  findLinkType,
  type EbpfForm,
} from '../../pcap-filter/index.js';
import type { Instruction } from '../../isa/index.js';
import {
  compileClassicToJs,
  formatBytecode,
  formatDd,
  formatDdd,
  formatImage,
  type ClassicJsFilter,
  type SockFilter,
} from '../../cbpf/index.js';
import { disassemble } from '../../asm/index.js';

export const COMPILE_HELP = `usage: bpfkit pcap compile [-y LINKTYPE] [-O] [-s SNAPLEN] [-d|-dd|-ddd|--tc|--ebpf] EXPR...
       bpfkit pcap compile --ebpf --form socket|tc|tc-classid|xdp [-o FILE.o] EXPR...

Compile a pcap-filter(7) expression (one argument or several words, as tcpdump takes it) to classic BPF,
equal to libpcap 1.10's. Output, as tcpdump prints it: -d listing (default), -dd C array, -ddd decimal;
--tc: tc's bytecode string (bpf bytecode "..."); --ebpf: the program converted to eBPF (listing).
  -y LINKTYPE  EN10MB (default), RAW, IPV4, IPV6, LINUX_SLL, LINUX_SLL2, NULL, LOOP, PPP, PFLOG,
               IEEE802_11, IEEE802_11_RADIO (a libpcap DLT name or number)
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

export const FILTER_HELP = `usage: bpfkit pcap filter IN OUT EXPR...

Write to OUT the records of IN that EXPR keeps (tcpdump -r IN -w OUT EXPR), copied byte for byte in IN's
format: pcap or pcapng, its byte order and timestamp resolution, and every non-packet block. The filter is
compiled for each interface's link type. Prints how many packets were read and kept.
`;

/** `bpfkit pcap compile ...` */
export function runCompile(argv: string[]): number {
  let linktype = 'EN10MB';
  let optimize = true;
  let format = '-d';
  let snaplen = 262144;
  let form: EbpfForm | undefined;
  let output: string | undefined;
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
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`-s wants a snapshot length, got '${v}'`);
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
    } else if (['-d', '-dd', '-ddd', '--tc', '--ebpf'].includes(a)) format = a;
    else if (a.startsWith('-') && a.length > 1 && !/^-\s/.test(a) && words.length === 0) {
      throw new UsageError(`unknown option '${a}' (try: bpfkit pcap compile --help)`);
    } else words.push(a);
  }
  const expr = words.join(' ');
  const prog = compileFilter(expr, { linktype, optimize, snaplen, savefile: false });
  if (output !== undefined && !form)
    throw new UsageError('-o writes an ELF object: give --form socket|tc|tc-classid|xdp');
  if (form) {
    const f = filterToForm(prog, form, 'expression');
    if (output === undefined) process.stdout.write(listing(f.insns));
    else {
      try {
        writeFileSync(
          output,
          elfObject({ section: f.section, name: `pcap_${form.replace('-', '_')}`, insns: f.insns }),
        );
      } catch (e) {
        throw new EnvironmentError(`cannot write ${output}: ${(e as Error).message}`);
      }
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

/** `bpfkit pcap filter IN OUT EXPR...` */
export function runFilter(argv: string[]): number {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(FILTER_HELP);
    return 0;
  }
  const [inPath, outPath, ...words] = argv;
  if (!inPath || !outPath) throw new UsageError('pcap filter wants IN OUT EXPR...');
  let bytes: Buffer;
  try {
    bytes = readFileSync(inPath);
  } catch (e) {
    throw new InputError(`cannot read: ${(e as Error).message}`, inPath);
  }
  const expr = words.join(' ');
  const programs = new Map<number, ClassicJsFilter>();
  const filterFor = (linktype: number): ClassicJsFilter => {
    let p = programs.get(linktype);
    if (!p) {
      const prog: SockFilter[] = compileFilter(expr, { linktype: findLinkType(linktype) });
      // As libpcap's userspace filter runs (shifts by X >= 32 give 0, protochain's loops), so OUT keeps what
      // `tcpdump -r` keeps.
      p = compileClassicToJs(prog, undefined, { shifts: 'libpcap', loops: true });
      programs.set(linktype, p);
    }
    return p;
  };
  const { kept, read, out } = filterRecords(bytes, inPath, filterFor);
  try {
    writeFileSync(outPath, out);
  } catch (e) {
    throw new EnvironmentError(`cannot write ${outPath}: ${(e as Error).message}`);
  }
  process.stdout.write(`${read} packets read, ${kept} kept\n`);
  return 0;
}

/** Split a pcap or pcapng file into records, keep what the filter keeps; every other byte is copied. */
export function filterRecords(
  bytes: Buffer,
  path: string,
  filterFor: (linktype: number) => ClassicJsFilter,
): { out: Buffer; read: number; kept: number } {
  const parts: Buffer[] = [];
  let read = 0;
  let kept = 0;
  const keep = (linktype: number, data: Uint8Array, origLen: number): boolean => {
    read++;
    const ok = filterFor(linktype)(data, origLen) !== 0;
    if (ok) kept++;
    return ok;
  };
  if (bytes.length < 4) throw new InputError('not a pcap or pcapng file (too short)', `${path}@0`);
  const m = bytes.readUInt32LE(0);
  if (m === 0x0a0d0d0a) {
    let le = true;
    const linktypes: number[] = [];
    let off = 0;
    while (off < bytes.length) {
      if (off + 12 > bytes.length) throw new InputError('truncated block', `${path}@${off}`);
      const type = bytes.readUInt32LE(off);
      if (type === 0x0a0d0d0a) {
        const bom = bytes.readUInt32LE(off + 8);
        if (bom === 0x1a2b3c4d) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else throw new InputError('bad byte-order magic', `${path}@${off + 8}`);
        linktypes.length = 0;
      }
      const u32 = (at: number): number => (le ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
      const u16 = (at: number): number => (le ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
      const btype = u32(off);
      const len = u32(off + 4);
      if (len < 12 || len % 4 !== 0 || off + len > bytes.length)
        throw new InputError(`bad block length ${len}`, `${path}@${off + 4}`);
      const block = bytes.subarray(off, off + len);
      let pass = true;
      if (btype === 1) linktypes.push(u16(off + 8));
      else if (btype === 6 || btype === 2) {
        const iface = btype === 6 ? u32(off + 8) : u16(off + 8);
        const cap = u32(off + 20);
        const orig = u32(off + 24);
        if (28 + cap > len) throw new InputError('packet runs past its block', `${path}@${off}`);
        const lt = linktypes[iface];
        if (lt === undefined) throw new InputError(`packet of undeclared interface ${iface}`, `${path}@${off}`);
        pass = keep(lt, bytes.subarray(off + 28, off + 28 + cap), orig);
      } else if (btype === 3) {
        const orig = u32(off + 8);
        const cap = Math.min(orig, len - 16);
        const lt = linktypes[0];
        if (lt === undefined) throw new InputError('packet before any interface', `${path}@${off}`);
        pass = keep(lt, bytes.subarray(off + 12, off + 12 + cap), orig);
      }
      if (pass) parts.push(block);
      off += len;
    }
    return { out: Buffer.concat(parts), read, kept };
  }
  let le: boolean;
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d) le = true;
  else if (bytes.readUInt32BE(0) === 0xa1b2c3d4 || bytes.readUInt32BE(0) === 0xa1b23c4d) le = false;
  else throw new InputError('not a pcap or pcapng file (unknown magic)', `${path}@0`);
  if (bytes.length < 24) throw new InputError('truncated file header', `${path}@0`);
  const u32 = (at: number): number => (le ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const linktype = u32(20) & 0x0fffffff;
  // Kept records are copied into one buffer as big as the input (no list of slices to concatenate).
  const out = Buffer.allocUnsafe(bytes.length);
  bytes.copy(out, 0, 0, 24);
  let w = 24;
  let off = 24;
  const filter = filterFor(linktype);
  while (off < bytes.length) {
    if (off + 16 > bytes.length) throw new InputError('truncated record header', `${path}@${off}`);
    const cap = u32(off + 8);
    const orig = u32(off + 12);
    const end = off + 16 + cap;
    if (end > bytes.length) throw new InputError(`truncated record (${cap} bytes)`, `${path}@${off}`);
    read++;
    if (filter(new Uint8Array(bytes.buffer, bytes.byteOffset + off + 16, cap), orig) !== 0) {
      kept++;
      w += bytes.copy(out, w, off, end);
    }
    off = end;
  }
  return { out: out.subarray(0, w), read, kept };
}
