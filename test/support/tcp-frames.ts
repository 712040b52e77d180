/**
 * Builds Ethernet/IPv4|IPv6/TCP frames for unit tests of the flow layer and the URL sniffer (checksums
 * are not computed: nothing there checks them).
 */
import { TCP_FLAG } from '../../src/packet/decode/constants.js';

export interface TcpSpec {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  flags?: number;
  payload?: string | Uint8Array;
  vlan?: number[];
}

export const { FIN, SYN, RST, PSH, ACK } = TCP_FLAG;

function v4(a: string): number[] {
  return a.split('.').map(Number);
}

function v6(a: string): number[] {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':').filter(Boolean) : [];
  const t = tail ? tail.split(':').filter(Boolean) : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 255]);
}

export function tcpFrame(s: TcpSpec): Uint8Array {
  const src = s.src ?? '10.0.0.1';
  const dst = s.dst ?? '10.0.0.2';
  const payload = typeof s.payload === 'string' ? Buffer.from(s.payload, 'latin1') : (s.payload ?? new Uint8Array(0));
  const tcp = new Uint8Array(20 + payload.length);
  const dv = new DataView(tcp.buffer);
  dv.setUint16(0, s.sport ?? 40000);
  dv.setUint16(2, s.dport ?? 80);
  dv.setUint32(4, s.seq >>> 0);
  dv.setUint32(8, (s.ack ?? 0) >>> 0);
  tcp[12] = 5 << 4;
  tcp[13] = s.flags ?? ACK | PSH;
  dv.setUint16(14, 65535);
  tcp.set(payload, 20);
  const isV6 = src.includes(':');
  let ip: Uint8Array;
  if (isV6) {
    ip = new Uint8Array(40);
    ip[0] = 0x60;
    new DataView(ip.buffer).setUint16(4, tcp.length);
    ip[6] = 6;
    ip[7] = 64;
    ip.set(v6(src), 8);
    ip.set(v6(dst), 24);
  } else {
    ip = new Uint8Array(20);
    ip[0] = 0x45;
    new DataView(ip.buffer).setUint16(2, 20 + tcp.length);
    ip[8] = 64;
    ip[9] = 6;
    ip.set(v4(src), 12);
    ip.set(v4(dst), 16);
  }
  const tags = (s.vlan ?? []).flatMap((tpid, i) => [tpid >> 8, tpid & 255, 0, 10 + i]);
  const eth = [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, ...tags, ...(isV6 ? [0x86, 0xdd] : [0x08, 0x00])];
  const out = new Uint8Array(eth.length + ip.length + tcp.length);
  out.set(eth, 0);
  out.set(ip, eth.length);
  out.set(tcp, eth.length + ip.length);
  return out;
}

/** A whole TCP conversation helper: tracks sequence numbers of both sides. */
export class Conversation {
  private cseq: number;
  private sseq: number;
  readonly frames: Uint8Array[] = [];
  constructor(
    readonly client = '10.0.0.1',
    readonly server = '10.0.0.2',
    readonly cport = 40000,
    readonly sport = 80,
    isn = 1000,
  ) {
    this.cseq = isn;
    this.sseq = 900000;
  }
  handshake(): this {
    this.frames.push(
      tcpFrame({
        src: this.client,
        dst: this.server,
        sport: this.cport,
        dport: this.sport,
        seq: this.cseq,
        flags: SYN,
      }),
    );
    this.frames.push(
      tcpFrame({
        src: this.server,
        dst: this.client,
        sport: this.sport,
        dport: this.cport,
        seq: this.sseq,
        flags: SYN | ACK,
      }),
    );
    this.cseq++;
    this.sseq++;
    return this;
  }
  /** One client segment per piece. Returns the frames added. */
  clientSays(...pieces: string[]): Uint8Array[] {
    const added: Uint8Array[] = [];
    for (const p of pieces) {
      const f = tcpFrame({
        src: this.client,
        dst: this.server,
        sport: this.cport,
        dport: this.sport,
        seq: this.cseq,
        payload: p,
      });
      this.cseq += Buffer.byteLength(p, 'latin1');
      this.frames.push(f);
      added.push(f);
    }
    return added;
  }
  serverSays(...pieces: string[]): Uint8Array[] {
    const added: Uint8Array[] = [];
    for (const p of pieces) {
      const f = tcpFrame({
        src: this.server,
        dst: this.client,
        sport: this.sport,
        dport: this.cport,
        seq: this.sseq,
        payload: p,
      });
      this.sseq += Buffer.byteLength(p, 'latin1');
      this.frames.push(f);
      added.push(f);
    }
    return added;
  }
  close(): this {
    this.frames.push(
      tcpFrame({
        src: this.client,
        dst: this.server,
        sport: this.cport,
        dport: this.sport,
        seq: this.cseq,
        flags: FIN | ACK,
      }),
    );
    this.frames.push(
      tcpFrame({
        src: this.server,
        dst: this.client,
        sport: this.sport,
        dport: this.cport,
        seq: this.sseq,
        flags: FIN | ACK,
      }),
    );
    this.cseq++;
    this.sseq++;
    return this;
  }
}
