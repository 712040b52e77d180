/**
 * Child of live.test.ts, run inside a fresh network namespace (`ip netns exec`): opens one unfiltered
 * AF_PACKET socket on lo and one per classic program (attached with SO_ATTACH_FILTER before any
 * traffic), sends UDP datagrams of random sizes and bytes over IPv4 and IPv6, then two marker datagrams,
 * and waits until the unfiltered socket has seen the second marker. Prints JSON: the unfiltered frames
 * and, per program, the frames its socket kept (hex). argv: seed, programs file (JSON).
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { PacketSocket, type LivePacket } from '../../src/kernel/packet-socket.js';
import type { SockFilter } from '../../src/cbpf/index.js';
import { rng } from './random-programs.js';

const MARKER = Buffer.from('bpfkit-cbpf-marker');

async function main(): Promise<void> {
  const r = rng(Number(process.argv[2]));
  const programs = JSON.parse(readFileSync(process.argv[3]!, 'utf8')) as SockFilter[][];
  const all = PacketSocket.open({ ifname: 'lo', bufferSize: 8 << 20, ring: false });
  const filtered = programs.map((p) => {
    const s = PacketSocket.open({ ifname: 'lo', bufferSize: 8 << 20, ring: false });
    s.attachClassicFilter(p);
    return s;
  });
  const got: LivePacket[][] = programs.map(() => []);
  const seen: LivePacket[] = [];
  const drain = () => {
    seen.push(...all.readAvailable());
    filtered.forEach((s, i) => got[i]!.push(...s.readAvailable()));
  };
  const rx4 = dgram.createSocket('udp4').bind(9999, '127.0.0.1');
  const rx6 = dgram.createSocket('udp6').bind(9999, '::1');
  await Promise.all([new Promise((ok) => rx4.once('listening', ok)), new Promise((ok) => rx6.once('listening', ok))]);
  const tx4 = dgram.createSocket('udp4');
  const tx6 = dgram.createSocket('udp6');
  const send = (s: dgram.Socket, b: Uint8Array, addr: string) =>
    new Promise<void>((ok, ko) => s.send(b, 9999, addr, (e) => (e ? ko(e) : ok())));
  for (let n = 0; n < 150; n++) {
    const payload = Buffer.alloc(Math.floor(r() * 120));
    for (let i = 0; i < payload.length; i++) payload[i] = Math.floor(r() * 256);
    if (r() < 0.5) await send(tx4, payload, '127.0.0.1');
    else await send(tx6, payload, '::1');
    drain();
  }
  await send(tx4, MARKER, '127.0.0.1');
  await send(tx4, MARKER, '127.0.0.1');
  // Wait (on events, bounded) until the unfiltered socket holds both copies of both markers: by then every
  // socket has had each earlier frame delivered.
  const markers = () => seen.filter((p) => Buffer.from(p.data).includes(MARKER)).length;
  const deadline = Date.now() + 10_000;
  while (markers() < 4 && Date.now() < deadline) {
    await new Promise((ok) => setImmediate(ok));
    drain();
  }
  drain();
  const hex = (p: LivePacket) => Buffer.from(p.data).toString('hex');
  process.stdout.write(
    JSON.stringify({ all: seen.map((p) => ({ hex: hex(p), origLen: p.origLen })), kept: got.map((g) => g.map(hex)) }),
  );
  for (const s of [all, ...filtered]) s.close();
  for (const s of [rx4, rx6, tx4, tx6]) s.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
