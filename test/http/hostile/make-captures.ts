/**
 * The hostile captures of issue 20, generated (never committed): traffic an attacker can send to stall
 * `bpfkit urls` or blow its memory. Each is a function of its scale `n` (the figures at n = 1M), so
 * the tests run them small and `npm run bench -- hostile` runs them full size.
 *
 *   node dist/test/http/hostile/make-captures.js DIR [N]     writes DIR/<name>.pcap for every capture
 *
 * Every capture says how many complete requests it holds (`requests`), so a run can be checked for what
 * it reported and what it counted as lost.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureWriter } from '../../../src/packet/capture-writer.js';

const SYN = 0x02;
const FIN = 0x01;
const ACK = 0x10;
const PSH = 0x08;

/** Writes Ethernet/IPv4/TCP frames (and IPv4 fragments) into a pcap, one reused buffer, no checksums. */
class FrameWriter {
  private readonly buf = new Uint8Array(14 + 20 + 20 + 65536);
  private readonly dv = new DataView(this.buf.buffer);
  private usec = 0;
  packets = 0;
  constructor(private readonly w: CaptureWriter) {
    this.buf.set([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00], 0);
  }

  /** A TCP segment from src:sport to dst:dport; `payload` is written by the caller's `fill` at offset 54. */
  tcp(
    src: number,
    sport: number,
    dst: number,
    dport: number,
    seq: number,
    flags: number,
    payload: Uint8Array | undefined,
    ack = 0,
  ): void {
    const len = payload ? payload.length : 0;
    this.ip(src, dst, 20 + len, 0, 0, 6);
    const o = 34;
    const dv = this.dv;
    dv.setUint16(o, sport);
    dv.setUint16(o + 2, dport);
    dv.setUint32(o + 4, seq >>> 0);
    dv.setUint32(o + 8, ack >>> 0);
    this.buf[o + 12] = 5 << 4;
    this.buf[o + 13] = flags;
    dv.setUint16(o + 14, 65535);
    dv.setUint32(o + 16, 0);
    if (payload) this.buf.set(payload, 54);
    this.emit(54 + len);
  }

  /** An IPv4 fragment: `data` is the transport bytes at `offset` (a multiple of 8) of datagram `id`. */
  fragment(src: number, dst: number, id: number, offset: number, data: Uint8Array, more: boolean): void {
    this.ip(src, dst, data.length, id, (offset / 8) | (more ? 0x2000 : 0), 6);
    this.buf.set(data, 34);
    this.emit(34 + data.length);
  }

  private ip(src: number, dst: number, upper: number, id: number, frag: number, proto: number): void {
    const dv = this.dv;
    this.buf[14] = 0x45;
    this.buf[15] = 0;
    dv.setUint16(16, 20 + upper);
    dv.setUint16(18, id);
    dv.setUint16(20, frag);
    this.buf[22] = 64;
    this.buf[23] = proto;
    dv.setUint16(24, 0);
    dv.setUint32(26, src >>> 0);
    dv.setUint32(30, dst >>> 0);
  }

  private emit(len: number): void {
    // 10 µs apart: a million packets span 10 s of capture time, well inside the idle timeout
    this.usec += 10;
    this.w.writeBytes(this.buf, 0, len, 1_700_000_000 + Math.floor(this.usec / 1e6), (this.usec % 1e6) * 1000, len);
    this.packets++;
  }
}

const CLIENT = 0x0a000001; // 10.0.0.1
const SERVER = 0x0a000002; // 10.0.0.2
const enc = (s: string) => new TextEncoder().encode(s);

/** Requests back to back until at least `bytes` long; returns the bytes and how many requests. */
function requests(bytes: number, tag: string): { data: Uint8Array; count: number } {
  const parts: string[] = [];
  let len = 0;
  let count = 0;
  while (len < bytes) {
    const r = `GET /${tag}/${count} HTTP/1.1\r\nHost: h\r\n\r\n`;
    parts.push(r);
    len += r.length;
    count++;
  }
  return { data: enc(parts.join('')), count };
}

/** The handshake of a connection (client ISN 1000, server ISN 5000). */
function handshake(f: FrameWriter, src: number, sport: number): void {
  f.tcp(src, sport, SERVER, 80, 1000, SYN, undefined);
  f.tcp(SERVER, 80, src, sport, 5000, SYN | ACK, undefined, 1001);
}

/** What a generated capture holds. */
export interface HostileCapture {
  name: string;
  path: string;
  packets: number;
  /** complete requests in the capture */
  requests: number;
}

type Maker = (f: FrameWriter, n: number) => number;

/** Each hostile capture: how it is built, returning its count of complete requests. */
export const HOSTILE: Record<string, { what: string; make: Maker }> = {
  reversed: {
    what: 'one connection, its requests in n one-byte segments sent in reverse order',
    make: (f, n) => {
      handshake(f, CLIENT, 40000);
      const { data, count } = requests(n, 'rev');
      const one = new Uint8Array(1);
      for (let i = data.length - 1; i >= 0; i--) {
        one[0] = data[i]!;
        f.tcp(CLIENT, 40000, SERVER, 80, 1001 + i, ACK | PSH, one);
      }
      f.tcp(CLIENT, 40000, SERVER, 80, 1001 + data.length, FIN | ACK, undefined);
      return count;
    },
  },
  hole: {
    what: 'one connection: a lost first segment, then n one-byte segments in order',
    make: (f, n) => {
      handshake(f, CLIENT, 40001);
      const { data, count } = requests(n + 1, 'hole');
      const one = new Uint8Array(1);
      for (let i = 1; i < data.length; i++) {
        one[0] = data[i]!;
        f.tcp(CLIENT, 40001, SERVER, 80, 1001 + i, ACK | PSH, one);
      }
      // (the first request lost its first byte; the others are whole once the hole is skipped)
      return count - 1;
    },
  },
  fragments: {
    what: '20 datagrams of n/125 eight-byte IPv4 fragments each (8003 at n = 1M), all fragments in random order',
    make: (f, n) => {
      const per = Math.max(2, Math.min(8003, Math.round(n / 125)));
      const frags: { id: number; off: number; data: Uint8Array; more: boolean }[] = [];
      for (let id = 1; id <= 20; id++) {
        // One TCP segment (no handshake) carrying one request padded with headers to per * 8 bytes.
        const total = per * 8;
        const seg = new Uint8Array(total);
        const dv = new DataView(seg.buffer);
        dv.setUint16(0, 41000 + id);
        dv.setUint16(2, 80);
        dv.setUint32(4, 7777);
        seg[12] = 5 << 4;
        seg[13] = ACK | PSH;
        let req = `GET /frag/${id} HTTP/1.1\r\nHost: h\r\n`;
        while (20 + req.length + 100 < total - 4) req += `X-Pad: ${'p'.repeat(90)}\r\n`;
        req += 'X: ' + 'q'.repeat(Math.max(0, total - 20 - req.length - 7)) + '\r\n\r\n';
        seg.set(enc(req).subarray(0, total - 20), 20);
        for (let i = 0; i < per; i++)
          frags.push({ id, off: i * 8, data: seg.slice(i * 8, i * 8 + 8), more: i < per - 1 });
      }
      let x = 0x2545f491;
      for (let i = frags.length - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        const j = (x >>> 0) % (i + 1);
        [frags[i], frags[j]] = [frags[j]!, frags[i]!];
      }
      for (const fr of frags) f.fragment(CLIENT, SERVER, fr.id, fr.off, fr.data, fr.more);
      return 20;
    },
  },
  flows: {
    what: 'n connections from distinct clients, each a handshake and one complete request, never closed',
    make: (f, n) => {
      const req = enc('GET /flow HTTP/1.1\r\nHost: h\r\n\r\n');
      for (let i = 0; i < n; i++) {
        const src = 0x0b000000 + Math.floor(i / 50000);
        const sport = 10000 + (i % 50000);
        f.tcp(src, sport, SERVER, 80, 1000, SYN, undefined);
        f.tcp(src, sport, SERVER, 80, 1001, ACK | PSH, req);
      }
      return n;
    },
  },
  synflood: {
    what: 'n SYNs from distinct clients, with 1000 real requests (each its own connection) spread among them',
    make: (f, n) => {
      const req = enc('GET /real HTTP/1.1\r\nHost: h\r\n\r\n');
      const every = Math.max(1, Math.floor(n / 1000));
      let real = 0;
      for (let i = 0; i < n; i++) {
        f.tcp(0x0c000000 + Math.floor(i / 50000), 10000 + (i % 50000), SERVER, 80, 1000, SYN, undefined);
        if (i % every === 0 && real < 1000) {
          const sport = 10000 + real;
          handshake(f, CLIENT, sport);
          f.tcp(CLIENT, sport, SERVER, 80, 1001, ACK | PSH, req);
          f.tcp(CLIENT, sport, SERVER, 80, 1001 + req.length, FIN | ACK, undefined);
          real++;
        }
      }
      return real;
    },
  },
  eight: {
    what: '8 connections, each a lost first segment then n one-byte segments, interleaved',
    make: (f, n) => {
      for (let c = 0; c < 8; c++) handshake(f, CLIENT, 42000 + c);
      const one = new Uint8Array(1);
      const { data, count } = requests(n + 1, 'eight');
      for (let i = 1; i < data.length; i++) {
        one[0] = data[i]!;
        for (let c = 0; c < 8; c++) f.tcp(CLIENT, 42000 + c, SERVER, 80, 1001 + i, ACK | PSH, one);
      }
      return 8 * (count - 1);
    },
  },
  pending: {
    what: 'n/1000 connections x 1000 pipelined requests that are never answered (2M requests at n = 2M)',
    make: (f, n) => {
      const conns = Math.max(1, Math.floor(n / 1000));
      const seqs = new Array<number>(conns).fill(1001);
      for (let c = 0; c < conns; c++) handshake(f, 0x0d000000 + c, 30000);
      for (let r = 0; r < 1000; r++) {
        for (let c = 0; c < conns; c++) {
          const req = enc(`GET /pending/${c}/${r} HTTP/1.1\r\nHost: h\r\n\r\n`);
          f.tcp(0x0d000000 + c, 30000, SERVER, 80, seqs[c]!, ACK | PSH, req);
          seqs[c]! += req.length;
        }
      }
      return conns * 1000;
    },
  },
};

/** Scale of each capture at full size (the figures). */
export const FULL_SCALE: Record<string, number> = {
  reversed: 1_000_000,
  hole: 1_000_000,
  fragments: 1_000_000,
  flows: 1_000_000,
  synflood: 1_000_000,
  eight: 1_000_000,
  pending: 2_000_000,
};

/** Write capture `name` at scale `n` into `dir`. */
export function makeCapture(dir: string, name: string, n: number): HostileCapture {
  const spec = HOSTILE[name];
  if (!spec) throw new Error(`no hostile capture '${name}'`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.pcap`);
  const w = new CaptureWriter(path, { format: 'pcap' });
  const f = new FrameWriter(w);
  let count: number;
  try {
    count = spec.make(f, n);
  } finally {
    w.close();
  }
  return { name, path, packets: f.packets, requests: count };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/dist\//, '/dist/'))) {
  const dir = process.argv[2] ?? '/tmp/bpfkit-hostile';
  const scale = process.argv[3] ? Number(process.argv[3]) : undefined;
  for (const name of Object.keys(HOSTILE)) {
    const c = makeCapture(dir, name, scale ?? FULL_SCALE[name]!);
    process.stdout.write(`${c.path}: ${c.packets} packets, ${c.requests} complete requests\n`);
  }
}
