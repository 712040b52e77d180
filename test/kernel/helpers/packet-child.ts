/**
 * Runs inside a test namespace: opens a PacketSocket on lo, optionally filters it, sends UDP datagrams
 * to 127.0.0.1 and prints what the socket saw as JSON. Argument: a JSON object
 * { filter: 'none' | 'classic' | 'bpf', count, port, otherPort }.
 */
import dgram from 'node:dgram';
import { PacketSocket, type LivePacket } from '../../../src/kernel/packet-socket.js';

interface Job {
  filter: 'none' | 'classic' | 'bpf';
  count: number;
  port: number;
  otherPort: number;
  ring?: boolean;
}

// Classic BPF: IPv4, UDP, destination port `port` (IHL assumed 5, true for our own datagrams).
function udpPortFilter(port: number) {
  return [
    { code: 0x28, jt: 0, jf: 0, k: 12 }, // ldh [12]
    { code: 0x15, jt: 0, jf: 5, k: 0x0800 }, // jeq #IPv4
    { code: 0x30, jt: 0, jf: 0, k: 23 }, // ldb [23]
    { code: 0x15, jt: 0, jf: 3, k: 17 }, // jeq #UDP
    { code: 0x28, jt: 0, jf: 0, k: 36 }, // ldh [36]
    { code: 0x15, jt: 0, jf: 1, k: port }, // jeq #port
    { code: 0x06, jt: 0, jf: 0, k: 262144 }, // ret #snaplen
    { code: 0x06, jt: 0, jf: 0, k: 0 }, // ret #0
  ];
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as Job;
  const sock = PacketSocket.open({ ifname: 'lo', snaplen: 128, ring: job.ring === true });
  if (sock.usesRing !== (job.ring === true)) throw new Error(`usesRing is ${sock.usesRing}`);
  if (job.filter === 'classic') sock.attachClassicFilter(udpPortFilter(job.port));
  if (job.filter === 'bpf') {
    const { loadUdpPortProgram } = await import('./udp-port-prog.js');
    const prog = loadUdpPortProgram(job.port);
    sock.attachBpf(prog.fd);
    prog.close(); // the socket holds its own reference
  }
  const tx = dgram.createSocket('udp4');
  const seen: LivePacket[] = [];
  const ac = new AbortController();
  const done = (async () => {
    for await (const p of sock.packets(ac.signal)) {
      seen.push(p);
      if (seen.length >= job.count * (job.filter === 'none' ? 2 : 1)) break;
    }
  })();
  const payload = Buffer.alloc(300, 0x61); // longer than the snaplen: origLen must still be the full length
  for (let i = 0; i < job.count; i++) {
    await new Promise<void>((r) => tx.send(payload, job.port, '127.0.0.1', () => r()));
    await new Promise<void>((r) => tx.send(payload, job.otherPort, '127.0.0.1', () => r()));
  }
  // The loop above ends when every expected packet came; the timer only bounds a hang.
  const timer = setTimeout(() => ac.abort(), 20_000);
  await done;
  clearTimeout(timer);
  const stats = sock.stats();
  tx.close();
  sock.close();
  // After close() a new iteration must end at once (not hang).
  let after = 0;
  try {
    for await (const _ of sock.packets()) after++;
  } catch {
    after = -1; // closed socket refuses: also fine
  }
  const out = seen.map((p) => ({
    len: p.data.length,
    origLen: p.origLen,
    ifindex: p.ifindex,
    pktType: p.pktType,
    ts: p.tsSec + p.tsNsec / 1e9,
    proto: p.data[23]!,
    dport: (p.data[36]! << 8) | p.data[37]!,
  }));
  process.stdout.write(JSON.stringify({ packets: out, stats, after, now: Date.now() / 1000 }));
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err));
  process.exit(1);
});
