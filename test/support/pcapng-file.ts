/**
 * Builds little-endian pcapng files for tests that need what a classic pcap cannot say: one Ethernet
 * interface with its if_tsresol (and if_tsoffset), and enhanced packet blocks of 64-bit tick counts.
 */

/** One pcapng block: type, total length, body padded to 4 bytes, total length again. */
function block(type: number, body: Buffer): Buffer {
  const pad = Buffer.alloc((4 - (body.length % 4)) % 4);
  const len = 12 + body.length + pad.length;
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(len, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(len, 0);
  return Buffer.concat([head, body, pad, tail]);
}

/** One option: code, length, value padded to 4 bytes. */
function option(code: number, value: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(code, 0);
  h.writeUInt16LE(value.length, 2);
  return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

/** What the interface description says about time. */
export interface PcapngClock {
  /** if_tsresol's byte: 10^-n s, or 2^-n s with the top bit set. */
  tsresol: number;
  /** if_tsoffset, seconds added to every timestamp. */
  tsoffset?: bigint;
}

/** A pcapng file: a section, one Ethernet interface with `clock`, and one EPB per [ticks, frame]. */
export function pcapngFile(clock: PcapngClock, records: readonly (readonly [bigint, Uint8Array])[]): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(1, 0); // LINKTYPE_ETHERNET
  idb.writeUInt32LE(65535, 4);
  const offset = Buffer.alloc(8);
  if (clock.tsoffset !== undefined) offset.writeBigInt64LE(clock.tsoffset);
  const opts = [
    option(9, Buffer.from([clock.tsresol])),
    ...(clock.tsoffset !== undefined ? [option(14, offset)] : []),
    option(0, Buffer.alloc(0)),
  ];
  const parts = [block(0x0a0d0d0a, shb), block(1, Buffer.concat([idb, ...opts]))];
  for (const [ticks, frame] of records) {
    const epb = Buffer.alloc(20);
    epb.writeUInt32LE(Number(ticks >> 32n), 4);
    epb.writeUInt32LE(Number(ticks & 0xffffffffn), 8);
    epb.writeUInt32LE(frame.length, 12);
    epb.writeUInt32LE(frame.length, 16);
    parts.push(block(6, Buffer.concat([epb, frame])));
  }
  return Buffer.concat(parts);
}
