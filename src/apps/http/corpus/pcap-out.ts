/**
 * Minimal pcap reading/writing for the corpus rewriter: whole small files in memory, Ethernet frames,
 * microsecond timestamps. (The packet module's streaming reader is what `bpfkit urls` itself uses.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { InputError } from '../../../util/errors.js';

export interface Frame {
  tsSec: number;
  tsUsec: number;
  data: Uint8Array;
}

export function readPcapFrames(path: string): { linktype: number; frames: Frame[] } {
  const b = readFileSync(path);
  if (b.length < 24) throw new InputError('too short for a pcap file', `${path}@0`);
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const be = b.readUInt32BE(0) === 0xa1b2c3d4 || b.readUInt32BE(0) === 0xa1b23c4d;
  if (!le && !be) throw new InputError('not a pcap file', `${path}@0`);
  const nano = (le ? magic : b.readUInt32BE(0)) === 0xa1b23c4d;
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const linktype = u32(20);
  const frames: Frame[] = [];
  let p = 24;
  while (p + 16 <= b.length) {
    const caplen = u32(p + 8);
    if (p + 16 + caplen > b.length) throw new InputError('record runs past the end of the file', `${path}@${p}`);
    const sub = u32(p + 4);
    frames.push({ tsSec: u32(p), tsUsec: nano ? Math.floor(sub / 1000) : sub, data: new Uint8Array(b.subarray(p + 16, p + 16 + caplen)) });
    p += 16 + caplen;
  }
  return { linktype, frames };
}

export function writePcapFrames(path: string, linktype: number, frames: Frame[]): void {
  let size = 24;
  for (const f of frames) size += 16 + f.data.length;
  const out = Buffer.alloc(size);
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(262144, 16);
  out.writeUInt32LE(linktype, 20);
  let p = 24;
  for (const f of frames) {
    out.writeUInt32LE(f.tsSec, p);
    out.writeUInt32LE(f.tsUsec, p + 4);
    out.writeUInt32LE(f.data.length, p + 8);
    out.writeUInt32LE(f.data.length, p + 12);
    out.set(f.data, p + 16);
    p += 16 + f.data.length;
  }
  writeFileSync(path, out);
}
