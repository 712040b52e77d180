/**
 * Packet reading benchmark: read + decode a ≥150 MB capture of synthesized HTTP-over-TCP traffic (made
 * once with bpfkit's writer and cached under /tmp/bpfkit-bench/), next to `tcpdump -r FILE -w /dev/null`
 * and `tshark -r FILE` (output to /dev/null) on the same file in the same run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { openCapture } from '../src/packet/capture-reader.js';
import { createCaptureWriter } from '../src/packet/capture-writer.js';
import { PacketView } from '../src/packet/decode/packet-view.js';
import { IPPROTO } from '../src/packet/decode/constants.js';

const DIR = '/tmp/bpfkit-bench';
const FILE = `${DIR}/http-160m.pcap`;
const TARGET_BYTES = 160 * 1024 * 1024;

/** Ethernet + IPv4 + TCP (+ HTTP payload) frames: requests, 1448-byte response segments and bare ACKs. */
function synthesize(path: string): void {
  mkdirSync(DIR, { recursive: true });
  const tmp = `${path}.tmp`;
  const w = createCaptureWriter(tmp, { format: 'pcap', linktype: 1, nanosecond: true });
  const frame = new Uint8Array(1514);
  const dv = new DataView(frame.buffer);
  frame.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00], 0);
  const request = new TextEncoder().encode(
    'GET /catalog/item?id=000000 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n',
  );
  let written = 0;
  let sec = 1_700_000_000;
  let nsec = 0;
  let n = 0;
  const put = (payloadLen: number, fromClient: boolean, flags: number, seq: number, conn: number) => {
    const ipLen = 20 + 20 + payloadLen;
    frame[14] = 0x45;
    frame[15] = 0;
    dv.setUint16(16, ipLen);
    dv.setUint16(18, n & 0xffff);
    dv.setUint16(20, 0x4000);
    frame[22] = 64;
    frame[23] = IPPROTO.TCP;
    dv.setUint16(24, 0);
    const client = 0x0a000000 | (conn & 0xffff);
    const server = 0x0a640001;
    dv.setUint32(26, fromClient ? client : server);
    dv.setUint32(30, fromClient ? server : client);
    const cport = 20000 + (conn % 40000);
    dv.setUint16(34, fromClient ? cport : 80);
    dv.setUint16(36, fromClient ? 80 : cport);
    dv.setUint32(38, seq >>> 0);
    dv.setUint32(42, (seq * 7) >>> 0);
    frame[46] = 0x50;
    frame[47] = flags;
    dv.setUint16(48, 65535);
    const len = 14 + ipLen;
    nsec += 7919;
    if (nsec >= 1e9) {
      nsec -= 1e9;
      sec++;
    }
    w.writeBytes(frame, 0, len, sec, nsec, len);
    written += 16 + len;
    n++;
  };
  for (let conn = 0; written < TARGET_BYTES; conn++) {
    const id = String(conn % 1000000).padStart(6, '0');
    request.set(new TextEncoder().encode(id), 21);
    frame.set(request, 54);
    put(request.length, true, 0x18, conn * 1000, conn);
    for (let s = 0; s < 6; s++) {
      frame.fill(0x41 + s, 54, 54 + 1448);
      put(1448, false, 0x10, conn * 1000 + s * 1448, conn);
      if (s % 2) put(0, true, 0x10, conn * 1000 + 1, conn);
    }
  }
  w.close();
  renameSync(tmp, path);
}

function time<T>(fn: () => T): { ms: number; result: T } {
  const t0 = performance.now();
  const result = fn();
  return { ms: performance.now() - t0, result };
}

async function timeAsync<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await fn();
  return { ms: performance.now() - t0, result };
}

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

export async function bench(): Promise<void> {
  if (!existsSync(FILE)) {
    const g = time(() => synthesize(FILE));
    console.log(`packet: synthesized ${FILE} in ${(g.ms / 1000).toFixed(1)} s`);
  }
  const size = statSync(FILE).size;
  const mb = size / 1e6;
  // Warm the page cache so every contender reads from memory.
  execFileSync('cat', [FILE], { stdio: ['ignore', 'ignore', 'ignore'], maxBuffer: 0 });

  const reader = await openCapture(FILE);
  const view = new PacketView();
  let best = Infinity;
  let packets = 0;
  let httpBytes = 0;
  for (let round = 0; round < 3; round++) {
    const r = await timeAsync(() => {
      let payload = 0;
      return reader
        .forEachPacket((p) => {
          view.decode(p.bytes, p.linktype, p.offset, p.offset + p.caplen);
          if (view.proto === IPPROTO.TCP && view.dstPort === 80) payload += view.payloadLength;
        })
        .then((n) => ({ n, payload }));
    });
    packets = r.result.n;
    httpBytes = r.result.payload;
    best = Math.min(best, r.ms);
  }
  const readOnly = await timeAsync(() => reader.forEachPacket(() => {}));
  const iter = await timeAsync(async () => {
    let n = 0;
    for await (const p of reader) n += p.caplen > 0 ? 1 : 0;
    return n;
  });
  await reader.close();

  // The same packets as pcapng with nanosecond ticks (exercises the 64-bit timestamp split).
  const ng = FILE.replace(/\.pcap$/, '-ns.pcapng');
  if (!existsSync(ng)) {
    const src = await openCapture(FILE);
    const w = createCaptureWriter(`${ng}.tmp`, { format: 'pcapng', nanosecond: true, linktype: 1 });
    await src.forEachPacket((p) => w.writeBytes(p.bytes, p.offset, p.caplen, p.tsSec, p.tsNsec, p.origLen));
    w.close();
    await src.close();
    renameSync(`${ng}.tmp`, ng);
  }
  execFileSync('cat', [ng], { stdio: ['ignore', 'ignore', 'ignore'] });
  const ngReader = await openCapture(ng);
  let ngBest = Infinity;
  for (let round = 0; round < 2; round++) {
    const r = await timeAsync(() =>
      ngReader.forEachPacket((p) => {
        view.decode(p.bytes, p.linktype, p.offset, p.offset + p.caplen);
      }),
    );
    ngBest = Math.min(ngBest, r.ms);
  }
  await ngReader.close();

  const line = (name: string, ms: number) =>
    `  ${name.padEnd(34)} ${(ms / 1000).toFixed(3).padStart(7)} s  ${(((packets / ms) * 1000) / 1e6).toFixed(2).padStart(6)} Mpkt/s  ${((mb / ms) * 1000).toFixed(0).padStart(5)} MB/s`;
  console.log(`packet: ${FILE}: ${mb.toFixed(0)} MB, ${packets} packets (HTTP request payload ${httpBytes} bytes)`);
  console.log(line('bpfkit read+decode (forEachPacket)', best));
  console.log(line('bpfkit read only (forEachPacket)', readOnly.ms));
  console.log(line('bpfkit async iterator (copies)', iter.ms));
  console.log(line('bpfkit read+decode, pcapng ns', ngBest) + `  (${(statSync(ng).size / 1e6).toFixed(0)} MB file)`);

  let tcpdumpMs: number | undefined;
  if (has('tcpdump')) {
    tcpdumpMs = Infinity;
    for (let i = 0; i < 2; i++) {
      const r = time(() => spawnSync('tcpdump', ['-r', FILE, '-w', '/dev/null'], { stdio: 'ignore' }));
      tcpdumpMs = Math.min(tcpdumpMs, r.ms);
    }
    console.log(line('tcpdump -r FILE -w /dev/null', tcpdumpMs));
  } else console.log('  tcpdump: not installed, skipped');
  let tsharkMs: number | undefined;
  if (has('tshark')) {
    const r = time(() => spawnSync('tshark', ['-r', FILE], { stdio: 'ignore', timeout: 120_000 }));
    tsharkMs = r.ms;
    console.log(line('tshark -r FILE > /dev/null', tsharkMs));
  } else console.log('  tshark: not installed, skipped');
  if (tcpdumpMs) console.log(`  ratio: bpfkit read+decode is ${(tcpdumpMs / best).toFixed(2)}x tcpdump's speed`);
  if (tsharkMs) console.log(`  ratio: bpfkit read+decode is ${(tsharkMs / best).toFixed(1)}x tshark's speed`);
}

const invoked = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'));
if (invoked) await bench();
