/**
 * The floor under any `bpfkit urls` run in Node, for the urls bench: start Node, read a pcap file in
 * 4 MiB chunks (as the capture reader does) and step over its records, looking at nothing in them. No
 * decoding, no TCP, no HTTP, no output: what is left of httpry's time after this is what a whole
 * analyzer written for Node has to fit in. Prints the record count.
 *
 * Usage: node dist/bench/read-floor.js FILE.pcap
 */
import { closeSync, openSync, readSync } from 'node:fs';

const CHUNK = 4 << 20;
const PCAP_HEADER = 24;
const RECORD_HEADER = 16;

function walk(file: string): number {
  const fd = openSync(file, 'r');
  // Room for a chunk and the record cut at its end, which moves to the front before the next read.
  const buf = Buffer.allocUnsafe(CHUNK + (1 << 20));
  let have = 0;
  let at = 0;
  let pos = PCAP_HEADER;
  let records = 0;
  const littleEndian = (() => {
    readSync(fd, buf, 0, 4, 0);
    return buf.readUInt32LE(0) === 0xa1b2c3d4 || buf.readUInt32LE(0) === 0xa1b23c4d;
  })();
  for (;;) {
    buf.copy(buf, 0, at, have);
    have -= at;
    at = 0;
    const n = readSync(fd, buf, have, CHUNK, pos);
    if (n === 0) break;
    pos += n;
    have += n;
    while (at + RECORD_HEADER <= have) {
      const caplen = littleEndian ? buf.readUInt32LE(at + 8) : buf.readUInt32BE(at + 8);
      if (caplen > 1 << 20) throw new Error(`record at ${pos - have + at}: caplen ${caplen}`);
      if (at + RECORD_HEADER + caplen > have) break;
      at += RECORD_HEADER + caplen;
      records++;
    }
  }
  closeSync(fd);
  return records;
}

process.stdout.write(`${walk(process.argv[2]!)}\n`);
