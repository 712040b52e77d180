/**
 * Whole-file pcap reading/writing for the corpus rewriter (small files in memory, microsecond
 * timestamps), on top of the packet module's pcap record parser and capture writer.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../../../src/util/errors.js';
import { createCaptureWriter } from '../../../src/packet/capture-writer.js';
import { PcapParser } from '../../../src/packet/pcap-parser.js';
import { PacketRef } from '../../../src/packet/packet.js';

export interface Frame {
  tsSec: number;
  tsUsec: number;
  data: Uint8Array;
}

export function readPcapFrames(path: string): { linktype: number; frames: Frame[] } {
  const b = readFileSync(path);
  const buf = new Uint8Array(b.buffer, b.byteOffset, b.length);
  const parser = new PcapParser(path);
  const frames: Frame[] = [];
  const end = parser.parse(
    buf,
    new DataView(buf.buffer, buf.byteOffset, buf.length),
    0,
    buf.length,
    0,
    new PacketRef(),
    (p) => {
      frames.push({
        tsSec: p.tsSec,
        tsUsec: Math.floor(p.tsNsec / 1000),
        data: buf.slice(p.offset, p.offset + p.caplen),
      });
    },
  );
  if (!parser.header) throw new InputError('too short for a pcap file', `${path}@0`);
  if (end < buf.length) throw new InputError('record runs past the end of the file', `${path}@${end}`);
  return { linktype: parser.header.linktype, frames };
}

export function writePcapFrames(path: string, linktype: number, frames: Frame[]): void {
  const w = createCaptureWriter(path, { format: 'pcap', linktype });
  try {
    for (const f of frames) w.write({ tsSec: f.tsSec, tsNsec: f.tsUsec * 1000, data: f.data });
  } finally {
    w.close();
  }
}
