/**
 * `bpfkit pcap filter IN OUT EXPR...`: a pcap-filter(7) expression applied to a capture file the way
 * `tcpdump -r IN -w OUT EXPR` does, except that the kept records are copied byte for byte, in the
 * input's own format (pcap or pcapng, byte order, timestamp resolution, every non-packet block), streamed
 * in constant memory (src/packet/filter-capture.ts). Its own module: it loads only the compiler and the
 * reader, not the listing and ELF writers `pcap compile` needs.
 */
import { UsageError } from '../../util/errors.js';
import { filterProgramsFor } from '../../packet/record-filter.js';
import { filterCaptureFile } from '../../packet/filter-capture.js';

/** `pcap filter --help`. */
export const FILTER_HELP = `usage: bpfkit pcap filter IN OUT EXPR...

Write to OUT the records of IN that EXPR keeps (tcpdump -r IN -w OUT EXPR), copied byte for byte in IN's
format: pcap or pcapng, its byte order and timestamp resolution, and every non-packet block. The filter is
compiled for each interface's link type. IN may be gzip or zstd compressed (OUT is not). Streamed: memory
stays constant whatever IN's size. Prints how many packets were read and kept.
`;

/** `bpfkit pcap filter IN OUT EXPR...` */
export async function runFilter(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(FILTER_HELP);
    return 0;
  }
  const [inPath, outPath, ...words] = argv;
  if (!inPath || !outPath) throw new UsageError('pcap filter wants IN OUT EXPR...');
  // A bad expression fails here, before IN is opened or OUT created.
  const programFor = filterProgramsFor(words.join(' '));
  const { read, kept } = await filterCaptureFile(inPath, outPath, programFor);
  process.stdout.write(`${read} packets read, ${kept} kept\n`);
  return 0;
}
