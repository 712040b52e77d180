/**
 * The one-call way to read a capture: every packet of a pcap or pcapng file in an array. Meant for small
 * files, scripts and tests; for large files stream with `openCapture(path).forEachPacket(cb)`, which reads
 * in chunks and keeps memory constant.
 */
import { openCapture } from './capture-reader.js';
import type { CaptureFormat } from './capture-format.js';
import type { CaptureInterface, Packet } from './packet.js';

/** A whole capture file in memory: its format, its interfaces and its packets (each owns its bytes). */
export interface Capture {
  /** 'pcap' or 'pcapng', detected from the file's magic */
  format: CaptureFormat;
  /** the capture's interfaces: one for pcap, one per Interface Description Block for pcapng */
  interfaces: CaptureInterface[];
  /** every packet in file order */
  packets: Packet[];
}

/**
 * Read a whole pcap or pcapng file into memory. A missing file or a corrupt one throws an `InputError`
 * naming the file (and the byte offset of the fault); the file is closed in every case.
 */
export async function readCapture(path: string): Promise<Capture> {
  const reader = await openCapture(path);
  try {
    const packets = await reader.readAll();
    return { format: reader.format, interfaces: reader.interfaces, packets };
  } finally {
    await reader.close();
  }
}
