/**
 * `bpfkit pcap info FILE [--json]`: what a capture file holds (like capinfos). On a corrupt or truncated
 * file it prints what it counted before the fault, then the error, and exits 2.
 */
import { parseFlags } from '../args.js';
import { UsageError } from '../../util/errors.js';
import type { CaptureInfo } from '../../packet/capture-info.js';

const HELP = `usage: bpfkit pcap info FILE [--json]
       bpfkit pcap compile [-y LINKTYPE] [-O] [-d|-dd|-ddd|--tc|--ebpf] EXPR...   (see: pcap compile --help)
       bpfkit pcap filter IN OUT EXPR...                                          (see: pcap filter --help)

Summarise a pcap or pcapng file: format, byte order, link types, interfaces, snapshot length,
packet count, captured and wire bytes, first/last packet time and duration.
  --json   one JSON object; times as ISO-8601 ("first", "last") and epoch seconds with a
           9-digit fraction ("firstEpoch", "lastEpoch"); "duration" in seconds (string, 9 decimals)
Exit status 2 on a corrupt file (after printing what was read before the fault).
`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub ? 0 : 2;
  }
  // (each subcommand loads only its own modules: start-up is most of a small file's time)
  if (sub === 'compile') return (await import('./pcap-filter.js')).runCompile(rest);
  if (sub === 'filter') return (await import('./pcap-filter-file.js')).runFilter(rest);
  if (sub !== 'info') throw new UsageError(`unknown pcap subcommand '${sub}' (try: info, compile, filter)`);
  const { values, positionals, help } = parseFlags(rest, { json: { type: 'boolean' } });
  if (help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('pcap info wants exactly one FILE');
  const { captureInfo } = await import('../../packet/capture-info.js');
  const { info, error } = await captureInfo(positionals[0]!);
  process.stdout.write(values.json ? JSON.stringify(info, null, 2) + '\n' : text(info));
  if (error) throw error; // the CLI prints it on stderr as one line and exits with its status (2)
  return 0;
}

function text(i: CaptureInfo): string {
  const rows: Array<[string, string]> = [
    ['File name', i.file],
    ['File format', `${i.format} (${i.byteOrder}-endian)`],
    ['Timestamps', i.timestampResolution],
    ['Link types', i.linktypes.join(', ') || '-'],
    [
      'Interfaces',
      i.interfaces.map((f) => `${f.id}: ${f.linktype}${f.name ? ` ${f.name}` : ''} snaplen ${f.snaplen}`).join('; ') ||
        '-',
    ],
    ['Snapshot length', String(i.snaplen)],
    ['Packets', String(i.packets)],
    ['Captured bytes', String(i.bytes)],
    ['Wire bytes', String(i.wireBytes)],
    ['First packet', i.first ? `${i.first} (${i.firstEpoch})` : '-'],
    ['Last packet', i.last ? `${i.last} (${i.lastEpoch})` : '-'],
    ['Duration', i.duration ? `${i.duration} s` : '-'],
  ];
  if (i.format === 'pcapng') rows.splice(2, 0, ['Sections', String(i.sections)]);
  if (i.oversizedRecords)
    rows.splice(rows.length - 3, 0, ['Anomalies', `${i.oversizedRecords} records longer than the snapshot length`]);
  if (i.error) rows.push(['Error', `${i.error} (counts above stop at the fault)`]);
  return rows.map(([k, v]) => `${(k + ':').padEnd(17)} ${v}`).join('\n') + '\n';
}
