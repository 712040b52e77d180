/**
 * Ethernet over MPLS (RFC 4448), with and without the control word, case by case against tshark. Both
 * look at the first nibble after the label stack; for a 0 tshark then asks its vendor (OUI) table whether
 * the next twelve bytes are two known vendors' addresses, bpfkit asks whether an EtherType and its header
 * sit where each reading puts them (src/packet/decode/pseudowire.ts). Where the answers differ, the case
 * says why and the test checks both sides, so a change in either shows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Conversation } from '../support/tcp-frames.js';
import { needs } from '../support/env.js';
import { writePcapFrames } from '../http/corpus/pcap-out.js';
import { PacketView } from '../../src/packet/decode/packet-view.js';
import { IPPROTO } from '../../src/packet/decode/constants.js';
import { tempDir, tsharkFields } from './helpers.js';

const OUTER = [0, 0, 0, 0, 0, 0x0b, 0, 0, 0, 0, 0, 0x0a, 0x88, 0x47];
const LABEL = [0, 0x12, 0xc1, 0x40]; // label 300, bottom of stack
const CW = [0, 0, 0, 0];

interface Case {
  name: string;
  cw: boolean;
  dst: number[];
  src: number[];
  /** why tshark's reading differs from bpfkit's; absent when both find the TCP segment */
  tsharkDiffers?: string;
}

const VENDOR_A = [0x00, 0x1b, 0x21, 1, 2, 3]; // a known vendor's OUI (Intel)
const VENDOR_B = [0x00, 0x1b, 0x21, 4, 5, 6];
const LOCAL_A = [0x02, 0, 0, 0, 0, 0xbb]; // locally administered, as virtual machines use
const LOCAL_B = [0x02, 0, 0, 0, 0, 0xaa];
const ZERO = [0, 0, 0, 0, 0, 0]; // what tcpdump writes for the loopback

const CASES: Case[] = [
  { name: 'control word, vendor addresses', cw: true, dst: VENDOR_A, src: VENDOR_B },
  { name: 'no control word, vendor addresses', cw: false, dst: VENDOR_A, src: VENDOR_B },
  { name: 'no control word, loopback (zero) addresses', cw: false, dst: ZERO, src: ZERO },
  {
    name: 'control word, locally administered addresses',
    cw: true,
    dst: LOCAL_A,
    src: LOCAL_B,
    tsharkDiffers: 'the zero control word and the first address read as two known (Xerox) addresses: no control word',
  },
  {
    name: 'control word, loopback (zero) addresses',
    cw: true,
    dst: ZERO,
    src: ZERO,
    tsharkDiffers: 'zero bytes are a known vendor (Xerox) wherever the frame starts: no control word',
  },
  {
    name: 'no control word, locally administered addresses',
    cw: false,
    dst: LOCAL_A,
    src: LOCAL_B,
    tsharkDiffers: 'no vendor knows 02:00:00: a control word is assumed and four bytes of the address skipped',
  },
  {
    name: 'no control word, an address starting with nibble a',
    cw: false,
    dst: [0xa0, 0x36, 0x9f, 0, 0, 1],
    src: [0xa0, 0x36, 0x9f, 0, 0, 2],
    tsharkDiffers: 'only a first nibble of 0 goes to the pseudowire heuristic: the rest is data',
  },
  {
    name: 'no control word, an address starting with nibble 4',
    cw: false,
    dst: [0x40, 0, 0, 0, 0, 1],
    src: [0x40, 0, 0, 0, 0, 2],
    tsharkDiffers: 'a first nibble of 4 is IPv4, whatever follows (bpfkit: an IPv4 header length of 0 is not one)',
  },
];

function frames(c: Case): Uint8Array[] {
  const conv = new Conversation('10.9.0.1', '10.9.0.2', 40999, 80, 3).handshake();
  conv.clientSays('GET /pw HTTP/1.1\r\nHost: pw\r\n\r\n');
  conv.close();
  return conv.frames.map((f) =>
    Uint8Array.from([...OUTER, ...LABEL, ...(c.cw ? CW : []), ...c.dst, ...c.src, ...f.subarray(12)]),
  );
}

test('bpfkit finds the inner TCP segment of every Ethernet pseudowire, with or without control word', () => {
  const v = new PacketView();
  for (const c of CASES)
    for (const f of frames(c)) {
      v.decode(f, 1);
      assert.equal(v.proto, IPPROTO.TCP, `${c.name}: ${v.layers().join(' ')}`);
      assert.deepEqual(v.layers().slice(0, 3), ['ETHERNET', 'MPLS', 'ETHERNET'], c.name);
      assert.equal(v.mplsLabel, 300);
      assert.ok(['10.9.0.1', '10.9.0.2'].includes(v.srcAddr()), c.name);
    }
});

test('tshark agrees except in the named cases', (t) => {
  if (!needs(t, { tools: ['tshark'] })) return;
  const dir = tempDir(t);
  for (const c of CASES) {
    const file = join(dir, `${c.name.replace(/\W+/g, '-')}.pcap`);
    writePcapFrames(
      file,
      1,
      frames(c).map((data, i) => ({ tsSec: 1_700_000_000, tsUsec: i, data })),
    );
    const protos = tsharkFields(file, ['frame.protocols']).map((r) => r[0]!);
    const tcp = protos.filter((p) => /:eth:ethertype:ip:tcp/.test(p)).length;
    if (c.tsharkDiffers)
      assert.equal(tcp, 0, `${c.name}: tshark now decodes it (${protos[0]}); was: ${c.tsharkDiffers}`);
    else assert.equal(tcp, protos.length, `${c.name}: ${protos.join(' | ')}`);
  }
});
