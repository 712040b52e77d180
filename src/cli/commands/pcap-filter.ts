/**
 * `bpfkit pcap compile` and `bpfkit pcap filter`: pcap-filter(7) expressions compiled by bpfkit's own
 * compiler (src/pcap-filter), printed as tcpdump prints them, or applied to a capture file the way
 * `tcpdump -r IN -w OUT EXPR` does, except that the kept records are copied byte for byte, in the
 * input's own format (pcap or pcapng, byte order, timestamp resolution, every non-packet block).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError, InputError, EnvironmentError } from '../../util/errors.js';
import { compileFilter, filterToEbpf, findLinkType } from '../../pcap-filter/index.js';
import {
  formatBytecode,
  formatDd,
  formatDdd,
  formatImage,
  prepareClassic,
  runClassic,
  type PreparedClassic,
  type SockFilter,
} from '../../cbpf/index.js';
import { disassemble } from '../../asm/index.js';

export const COMPILE_HELP = `usage: bpfkit pcap compile [-y LINKTYPE] [-O] [-s SNAPLEN] [-d|-dd|-ddd|--tc|--ebpf] EXPR...

Compile a pcap-filter(7) expression (one argument or several words, as tcpdump takes it) to classic BPF,
equal to libpcap 1.10's. Output, as tcpdump prints it: -d listing (default), -dd C array, -ddd decimal;
--tc: tc's bytecode string (bpf bytecode "..."); --ebpf: the program converted to eBPF.
  -y LINKTYPE  EN10MB (default), RAW, IPV4, IPV6, LINUX_SLL, LINUX_SLL2, NULL, LOOP, PPP
  -O, -O0      do not optimize (tcpdump's -O)
  -s SNAPLEN   what accepted packets return (default 262144)
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
    } else if (['-d', '-dd', '-ddd', '--tc', '--ebpf'].includes(a)) format = a;
    else if (a.startsWith('-') && a.length > 1 && !/^-\s/.test(a) && words.length === 0) {
      throw new UsageError(`unknown option '${a}' (try: bpfkit pcap compile --help)`);
    } else words.push(a);
  }
  const expr = words.join(' ');
  const prog = compileFilter(expr, { linktype, optimize, snaplen, savefile: false });
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
      process.stdout.write(
        disassemble(filterToEbpf(prog, 'expression'))
          .map((line, pc) => `${String(pc).padStart(5)}: ${line}\n`)
          .join(''),
      );
      break;
    default:
      process.stdout.write(formatImage(prog));
  }
  return 0;
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
  const programs = new Map<number, PreparedClassic>();
  const filterFor = (linktype: number): PreparedClassic => {
    let p = programs.get(linktype);
    if (!p) {
      const prog: SockFilter[] = compileFilter(expr, { linktype: findLinkType(linktype) });
      p = prepareClassic(prog, undefined, { loops: true }); // protochain loops, as in tcpdump -r
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
  filterFor: (linktype: number) => PreparedClassic,
): { out: Buffer; read: number; kept: number } {
  const parts: Buffer[] = [];
  let read = 0;
  let kept = 0;
  const keep = (linktype: number, data: Uint8Array, origLen: number): boolean => {
    read++;
    const ok = runClassic(filterFor(linktype), data, { len: origLen }).retval !== 0;
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
  parts.push(bytes.subarray(0, 24));
  let off = 24;
  while (off < bytes.length) {
    if (off + 16 > bytes.length) throw new InputError('truncated record header', `${path}@${off}`);
    const cap = u32(off + 8);
    const orig = u32(off + 12);
    if (off + 16 + cap > bytes.length) throw new InputError(`truncated record (${cap} bytes)`, `${path}@${off}`);
    if (keep(linktype, bytes.subarray(off + 16, off + 16 + cap), orig)) parts.push(bytes.subarray(off, off + 16 + cap));
    off += 16 + cap;
  }
  return { out: Buffer.concat(parts), read, kept };
}
