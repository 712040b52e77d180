/**
 * `npm run bench -- urls`: `bpfkit urls` against httpry, urlsnarf and tshark on the same >= 150 MB captures
 * of HTTP traffic, in the same run: wall time, ratio to httpry, peak RSS, requests found.
 *
 * Two captures, each made once and cached in /tmp/bpfkit-bench/: real traffic from the corpus generator
 * (keep-alive connections, several at once, on a namespace loopback; needs root) — one request at a time
 * per connection ('browse'), and pipelined bursts of 8 ('bench') — then repeated with each copy's client
 * address and timestamps shifted (TCP checksums fixed) until it passes 150 MB. httpry and urlsnarf come
 * from Debian (httpry, dsniff) and are installed here when missing. Each capture is then also copied four
 * times end to end (~610 MB) and bpfkit and httpry run on that: what a copy beyond the first costs each is
 * the per-packet work without bpfkit's fixed start-up and warm-up.
 */
import {
  existsSync,
  mkdirSync,
  openSync,
  writeSync,
  closeSync,
  statSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCorpus, readTruth } from '../test/http/corpus/generate.js';
import { readPcapFrames, type Frame } from '../test/http/corpus/pcap-out.js';
import { parse } from '../test/http/corpus/rewrite.js';

const DIR = '/tmp/bpfkit-bench';
/** Timed rounds of bpfkit and httpry (each tool's fastest is reported). */
const ROUNDS = 5;
/** Timed rounds of each tool on the long captures. */
const LONG_ROUNDS = 3;
const TARGET_BYTES = 150 * 1024 * 1024;
const mainJs = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const floorJs = fileURLToPath(new URL('./read-floor.js', import.meta.url));

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

function ensureTools(): void {
  const missing = [
    ['httpry', 'httpry'],
    ['urlsnarf', 'dsniff'],
    ['tshark', 'tshark'],
  ].filter(([t]) => !have(t!));
  if (missing.length === 0 || !have('apt-get')) return;
  process.stdout.write(`installing ${missing.map((m) => m[1]).join(' ')} ...\n`);
  spawnSync('apt-get', ['install', '-y', '-qq', ...missing.map((m) => m[1]!)], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** One's-complement sum over bytes (for the TCP checksum). */
function sum16(b: Uint8Array, start: number, end: number, acc: number): number {
  for (let i = start; i + 1 < end; i += 2) acc += (b[i]! << 8) | b[i + 1]!;
  if ((end - start) & 1) acc += b[end - 1]! << 8;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

/** Copy `f` with the client address 127.0.0.1 replaced by `client` (IPv4), checksums recomputed. */
function shifted(f: Frame, client: number[], dtUsec: number): Frame {
  const d = f.data.slice();
  const p = parse(d);
  if (p && p.v === 4) {
    const sport = (d[p.tcp]! << 8) | d[p.tcp + 1]!;
    const fromClient = sport !== 80 && sport !== 8080;
    d.set(client, p.ip + (fromClient ? 12 : 16));
    // IPv4 header checksum
    const ihl = (d[p.ip]! & 15) * 4;
    d[p.ip + 10] = 0;
    d[p.ip + 11] = 0;
    const hc = ~fold(sum16(d, p.ip, p.ip + ihl, 0)) & 0xffff;
    d[p.ip + 10] = hc >> 8;
    d[p.ip + 11] = hc & 255;
    // TCP checksum over the pseudo-header and the segment
    const total = (d[p.ip + 2]! << 8) | d[p.ip + 3]!;
    const tcpLen = total - ihl;
    d[p.tcp + 16] = 0;
    d[p.tcp + 17] = 0;
    let acc = sum16(d, p.ip + 12, p.ip + 20, 0) + 6 + tcpLen;
    acc = sum16(d, p.tcp, p.tcp + tcpLen, acc);
    const tc = ~fold(acc) & 0xffff;
    d[p.tcp + 16] = tc >> 8;
    d[p.tcp + 17] = tc & 255;
  }
  const t = f.tsSec * 1e6 + f.tsUsec + dtUsec;
  return { tsSec: Math.floor(t / 1e6), tsUsec: t % 1e6, data: d };
}

/** The >= 150 MB capture of a corpus scenario (`name`: its file name in DIR, without extension). */
export async function ensureCapture(scenario: string, name: string): Promise<{ file: string; requests: number }> {
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, `${name}.pcap`);
  const meta = join(DIR, `${name}.requests`);
  if (existsSync(file) && existsSync(meta) && statSync(file).size >= TARGET_BYTES) {
    return { file, requests: Number(readFileSync(meta, 'utf8')) };
  }
  if (process.getuid?.() !== 0) throw new Error('generating the benchmark capture needs root (network namespace)');
  const base = await generateCorpus({ dir: join(DIR, 'base'), scenarios: [scenario], hosts: ['127.0.0.1'] });
  const baseRequests = readTruth(base.truth).length;
  const { linktype, frames } = readPcapFrames(base.pcap);
  const first = frames[0]!.tsSec * 1e6 + frames[0]!.tsUsec;
  const last = frames[frames.length - 1]!.tsSec * 1e6 + frames[frames.length - 1]!.tsUsec;
  const span = last - first + 1000;
  const fd = openSync(file, 'w');
  writeSync(fd, pcapHeader(linktype));
  let written = 24;
  let copies = 0;
  while (written < TARGET_BYTES) {
    const client = [127, 1 + ((copies >> 8) & 127), copies & 255, 2];
    const chunk = pcapRecords(frames.map((f) => shifted(f, client, copies * span)));
    writeSync(fd, chunk);
    written += chunk.length;
    copies++;
  }
  closeSync(fd);
  const requests = baseRequests * copies;
  writeSync(openSync(meta, 'w'), String(requests));
  rmSync(join(DIR, 'base'), { recursive: true, force: true });
  return { file, requests };
}

/** A pcap file header (microsecond times, snaplen 262144) for `linktype`. */
function pcapHeader(linktype: number): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(linktype, 20);
  return header;
}

/** `frames` as pcap records (header + data each). */
function pcapRecords(frames: Frame[]): Buffer {
  const parts: Buffer[] = [];
  for (const g of frames) {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(g.tsSec, 0);
    rec.writeUInt32LE(g.tsUsec, 4);
    rec.writeUInt32LE(g.data.length, 8);
    rec.writeUInt32LE(g.data.length, 12);
    parts.push(rec, Buffer.from(g.data.buffer, g.data.byteOffset, g.data.length));
  }
  return Buffer.concat(parts);
}

/** How many copies of a >= 150 MB capture make the long one. */
const LONG_COPIES = 4;

/**
 * `LONG_COPIES` copies of a bench capture end to end (`NAME-xN.pcap` beside it, made once): copy k's
 * client addresses 127.X.Y.2 become 127.(X + 32k).Y.2 (checksums fixed) and its times follow the previous
 * copy's, so every copy is new connections carrying the same traffic. It shows what bpfkit costs per
 * packet once its start-up and warm-up are paid, beside httpry, which has neither.
 */
function ensureLongCapture(file: string): string {
  const long = file.replace(/\.pcap$/, `-x${LONG_COPIES}.pcap`);
  if (existsSync(long) && statSync(long).mtimeMs >= statSync(file).mtimeMs) return long;
  const { linktype, frames } = readPcapFrames(file);
  const first = frames[0]!.tsSec * 1e6 + frames[0]!.tsUsec;
  const last = frames[frames.length - 1]!.tsSec * 1e6 + frames[frames.length - 1]!.tsUsec;
  const span = last - first + 1_000_000;
  const fd = openSync(long, 'w');
  writeSync(fd, pcapHeader(linktype));
  for (let k = 0; k < LONG_COPIES; k++) {
    const copy = frames.map((f) => {
      const p = k === 0 ? undefined : parse(f.data);
      if (!p || p.v !== 4) return k === 0 ? f : shifted(f, [], k * span);
      const sport = (f.data[p.tcp]! << 8) | f.data[p.tcp + 1]!;
      const at = p.ip + (sport !== 80 && sport !== 8080 ? 12 : 16);
      const client = [...f.data.subarray(at, at + 4)];
      if (client[0] !== 127 || client[1]! + 32 * k > 255)
        throw new Error(`unexpected client address ${client.join('.')}`);
      client[1] = client[1]! + 32 * k;
      return shifted(f, client, k * span);
    });
    writeSync(fd, pcapRecords(copy));
  }
  closeSync(fd);
  return long;
}

interface Measured {
  name: string;
  seconds: number;
  /** user + system CPU seconds of the run reported (threads add up) */
  cpuSeconds: number;
  rssMb: number;
  found: number;
  ok: boolean;
}

/**
 * Run `sh -c cmd` under /usr/bin/time `repeat` times (the machine is shared and noisy: the fastest run is
 * reported, with the largest peak RSS and the CPU time of that run); output lines counted with `count`.
 */
interface Candidate {
  name: string;
  cmd: string;
  out: string;
  count: (text: string) => number;
}

/**
 * The environment every timed run gets: this one, less NODE_EXTRA_CA_CERTS. A sandbox may set it (this
 * one does); Node then reads and parses that certificate bundle at every start, ~35 ms of CPU on this
 * machine, for TLS that bpfkit never uses, and which a user's shell does not set. The start-up table
 * shows `node -e 0` with the variable too, so what it costs is measured in the same run.
 */
const EXTRA_CA = process.env['NODE_EXTRA_CA_CERTS'];
const RUN_ENV: NodeJS.ProcessEnv = { ...process.env };
delete RUN_ENV['NODE_EXTRA_CA_CERTS'];

/** One timed run of a candidate, folded into its best-so-far (fastest wall time; largest RSS). */
function runOnce(c: Candidate, best: Measured | undefined): Measured {
  const timeFile = join(DIR, `${c.name.replace(/\W+/g, '_')}.time`);
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', '-o', timeFile, 'sh', '-c', c.cmd], {
    cwd: process.cwd(),
    env: RUN_ENV,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const [s = 'NaN', k = '0', u = '0', sys = '0'] = existsSync(timeFile)
    ? readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ')
    : [];
  let found = 0;
  try {
    found = c.count(readFileSync(c.out, 'latin1'));
  } catch {
    found = 0;
  }
  rmSync(c.out, { force: true });
  const m: Measured = {
    name: c.name,
    seconds: Number(s),
    cpuSeconds: Number(u) + Number(sys),
    rssMb: Number(k) / 1024,
    found,
    ok: r.status === 0,
  };
  if (!best) return m;
  const faster = m.seconds < best.seconds ? m : best;
  return { ...faster, rssMb: Math.max(m.rssMb, best.rssMb), ok: m.ok && best.ok };
}

/**
 * Runs the candidates `rounds` times in turn (A B C A B C ...) and keeps each one's fastest run: this
 * machine's speed drifts over seconds, and interleaving exposes every candidate to the same drift.
 */
function measureInterleaved(candidates: Candidate[], rounds: number): Measured[] {
  const best: (Measured | undefined)[] = candidates.map(() => undefined);
  for (let i = 0; i < rounds; i++) candidates.forEach((c, k) => (best[k] = runOnce(c, best[k])));
  return best as Measured[];
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '').length;

export async function bench(): Promise<void> {
  ensureTools();
  // The CLI from the same build as this module (dist/ under npm run bench).
  const bin = join(DIR, 'bpfkit-launch.mjs');
  mkdirSync(DIR, { recursive: true });
  writeFileSync(
    bin,
    `import(${JSON.stringify(mainJs)}).then((m) => m.main(process.argv.slice(2))).then((c) => process.exit(c));\n`,
  );
  // Two shapes of traffic: one request at a time per connection (what browsers and most clients do;
  // httpry then reads every request, as on the reference capture), and pipelined bursts of 8
  // (httpry reads only the first request of each packet: an eighth of the work, an eighth of the requests).
  const browse = await compareOn('keep-alive, one request at a time', 'browse', 'http-browse-150mb', bin);
  const pipelined = await compareOn('keep-alive, pipelined bursts of 8', 'bench', 'http-150mb', bin);
  longCapture('keep-alive, one request at a time', browse, bin);
  longCapture('keep-alive, pipelined bursts of 8', pipelined, bin);
  await mixedTraffic(bin);
  startUp(bin, join(DIR, 'http-150mb.pcap'));
}

/**
 * Start-up: time to the first request on a capture of one packet (the first request-carrying frame of
 * the pipelined capture), bpfkit (filter in the VM, one thread) beside httpry, fastest of ROUNDS each;
 * with where bpfkit's goes: Node alone (`node -e 0`), and the same run without the filter (the CLI's,
 * packet layer's and analyzer's modules), the rest being the VM and the filter's loading.
 */
function startUp(bin: string, from: string): void {
  const one = join(DIR, 'one-packet.pcap');
  const bytes = readFileSync(from).subarray(0, 1 << 20);
  for (let pos = 24; pos + 16 <= bytes.length;) {
    const caplen = bytes.readUInt32LE(pos + 8);
    const frame = bytes.subarray(pos + 16, pos + 16 + caplen);
    if (frame.includes('GET /')) {
      writeFileSync(one, Buffer.concat([bytes.subarray(0, 24), bytes.subarray(pos, pos + 16 + caplen)]));
      break;
    }
    pos += 16 + caplen;
  }
  const runs = measureInterleaved(
    [
      {
        name: 'bpfkit urls',
        cmd: `node ${bin} urls ${one} -q > ${join(DIR, 'one.out')}`,
        out: join(DIR, 'one.out'),
        count: lines,
      },
      {
        name: 'bpfkit urls --engine none',
        cmd: `node ${bin} urls ${one} -q --engine none > ${join(DIR, 'one-n.out')}`,
        out: join(DIR, 'one-n.out'),
        count: lines,
      },
      { name: 'node -e 0 (Node alone)', cmd: `node -e 0`, out: join(DIR, 'one-0.out'), count: () => 0 },
      ...(EXTRA_CA === undefined
        ? []
        : [
            {
              name: 'node -e 0 with NODE_EXTRA_CA_CERTS (set here; left out of the other runs)',
              cmd: `NODE_EXTRA_CA_CERTS=${JSON.stringify(EXTRA_CA)} node -e 0`,
              out: join(DIR, 'one-ca.out'),
              count: () => 0,
            },
          ]),
      {
        name: 'httpry',
        cmd: `httpry -q -r ${one} > ${join(DIR, 'one-h.out')} 2>/dev/null`,
        out: join(DIR, 'one-h.out'),
        count: lines,
      },
    ],
    ROUNDS,
  );
  for (const r of runs)
    process.stdout.write(
      `start-up (1-packet capture), ${r.name}: ${r.seconds.toFixed(2)} s wall, ${r.cpuSeconds.toFixed(2)} s CPU\n`,
    );
}

/** The side-by-side table for one >= 150 MB capture of corpus scenario `scenario`. */
async function compareOn(
  label: string,
  scenario: string,
  name: string,
  bin: string,
): Promise<{ file: string; requests: number; runs: Measured[] }> {
  const { file, requests } = await ensureCapture(scenario, name);
  const size = statSync(file).size;
  const packets = Number(
    spawnSync('sh', ['-c', `capinfos -c -M "${file}" 2>/dev/null | awk '/Number of packets/ {print $NF}'`], {
      encoding: 'utf8',
    }).stdout.trim() || 0,
  );
  process.stdout.write(
    `\n${label}: ${file} (${(size / 1048576).toFixed(0)} MB, ${packets || '?'} packets, ${requests} requests)\n`,
  );
  const out = (n: string) => join(DIR, `${n}.out`);
  const fast: Candidate[] = [
    {
      name: 'bpfkit urls (full, eBPF filter in the VM)',
      cmd: `node ${bin} urls ${file} -q > ${out('bpfkit')}`,
      out: out('bpfkit'),
      count: lines,
    },
    {
      name: 'bpfkit urls (full, no filter)',
      cmd: `node ${bin} urls ${file} --engine none -q > ${out('bpfkit-none')}`,
      out: out('bpfkit-none'),
      count: lines,
    },
    {
      name: 'bpfkit urls --threads 2 (flows split)',
      cmd: `node ${bin} urls ${file} --threads 2 -q > ${out('bpfkit-t2')}`,
      out: out('bpfkit-t2'),
      count: lines,
    },
  ];
  // The floor: Node reading the file and stepping over its records, nothing else (read-floor.ts).
  fast.push({
    name: 'floor: Node reading the records only',
    cmd: `node ${floorJs} ${file} > ${out('floor')}`,
    out: out('floor'),
    count: () => 0,
  });
  if (have('httpry'))
    fast.push({
      name: 'httpry',
      cmd: `httpry -q -r ${file} > ${out('httpry')} 2>/dev/null`,
      out: out('httpry'),
      count: (t) => t.split('\n').filter((l) => /\t>\t/.test(l)).length,
    });
  const runs: Measured[] = measureInterleaved(fast, ROUNDS);
  const measure = (name: string, cmd: string, o: string, count: (text: string) => number) =>
    runOnce({ name, cmd, out: o, count }, undefined);
  runs.splice(
    3,
    0,
    measure(
      'bpfkit urls --mode v2 (classic)',
      `node ${bin} urls ${file} --mode v2 -q | grep -v '^HTTP' > ${out('bpfkit-v2')}`,
      out('bpfkit-v2'),
      lines,
    ),
  );
  // urlsnarf (libnids) can crawl or stall on a large file: it gets 60 s.
  if (have('urlsnarf'))
    runs.push(
      measure(
        'urlsnarf (60 s limit)',
        `timeout 60 urlsnarf -p ${file} > ${out('urlsnarf')} 2>/dev/null`,
        out('urlsnarf'),
        lines,
      ),
    );
  if (have('tshark'))
    runs.push(
      measure(
        'tshark (out-of-order reassembly on)',
        `tshark -r ${file} -o tcp.reassemble_out_of_order:TRUE -Y http.request -T fields -e http.request.method -e http.request.uri > ${out('tshark')} 2>/dev/null`,
        out('tshark'),
        (t) =>
          t
            .split('\n')
            .filter(Boolean)
            .reduce((n, l) => n + l.split('\t')[0]!.split(',').length, 0),
      ),
    );
  const httpry = runs.find((r) => r.name === 'httpry');
  process.stdout.write(
    `${'tool'.padEnd(42)} ${'time s'.padStart(8)} ${'vs httpry'.padStart(10)} ${'CPU s'.padStart(7)} ${'CPU vs'.padStart(7)} ${'peak RSS MB'.padStart(12)} ${'requests'.padStart(10)} ${'found'.padStart(7)}\n`,
  );
  for (const r of runs) {
    const ratio = httpry && httpry.seconds > 0 ? (r.seconds / httpry.seconds).toFixed(2) + 'x' : '-';
    const cpuRatio = httpry && httpry.cpuSeconds > 0 ? (r.cpuSeconds / httpry.cpuSeconds).toFixed(2) + 'x' : '-';
    process.stdout.write(
      `${r.name.padEnd(42)} ${r.seconds.toFixed(2).padStart(8)} ${ratio.padStart(10)} ${r.cpuSeconds.toFixed(2).padStart(7)} ${cpuRatio.padStart(7)} ${r.rssMb.toFixed(0).padStart(12)} ${String(r.found).padStart(10)} ${((r.found / requests) * 100).toFixed(1).padStart(6)}%${r.ok ? '' : '  (exit status != 0)'}\n`,
    );
  }
  process.stdout.write(`(bpfkit and httpry: fastest of ${ROUNDS} runs, taken in turns; the others: one run)\n`);
  process.stdout.write('(httpry prints one line per request and per response; its count is its request lines)\n');
  // What the VM filter adds per packet: the same pipeline with and without it, in this run.
  const vm = runs[0]!;
  const none = runs[1]!;
  if (packets > 0 && vm.ok && none.ok) {
    process.stdout.write(
      `eBPF filter path in the VM: ${(((vm.seconds - none.seconds) * 1e9) / packets).toFixed(0)} ns per packet (full with filter minus no filter)\n`,
    );
  }
  return { file, requests, runs };
}

/**
 * bpfkit (default run) and httpry on the long copy of a bench capture, fastest of LONG_ROUNDS each in
 * turns, and what the copies beyond the first cost each (long minus short, divided by the extra copies):
 * the per-packet cost without bpfkit's fixed start-up and warm-up.
 */
function longCapture(label: string, short: { file: string; requests: number; runs: Measured[] }, bin: string): void {
  if (!have('httpry')) return;
  const file = ensureLongCapture(short.file);
  const requests = short.requests * LONG_COPIES;
  process.stdout.write(
    `\n${label}, ${LONG_COPIES} copies end to end: ${file} (${(statSync(file).size / 1048576).toFixed(0)} MB, ${requests} requests)\n`,
  );
  const out = (n: string) => join(DIR, `${n}-long.out`);
  const [mine, theirs] = measureInterleaved(
    [
      {
        name: 'bpfkit urls (full, eBPF filter in the VM)',
        cmd: `node ${bin} urls ${file} -q > ${out('bpfkit')}`,
        out: out('bpfkit'),
        count: lines,
      },
      {
        name: 'httpry',
        cmd: `httpry -q -r ${file} > ${out('httpry')} 2>/dev/null`,
        out: out('httpry'),
        count: (t) => t.split('\n').filter((l) => /\t>\t/.test(l)).length,
      },
    ],
    LONG_ROUNDS,
  ) as [Measured, Measured];
  const shortMine = short.runs.find((r) => r.name === mine.name)!;
  const shortTheirs = short.runs.find((r) => r.name === theirs.name)!;
  const extra = (long: number, one: number) => (long - one) / (LONG_COPIES - 1);
  const line = (name: string, wall: number, cpu: number, refWall: number, refCpu: number) =>
    `${name.padEnd(56)} ${wall.toFixed(2).padStart(7)} ${(wall / refWall).toFixed(2).padStart(8)}x ${cpu.toFixed(2).padStart(7)} ${(cpu / refCpu).toFixed(2).padStart(7)}x\n`;
  process.stdout.write(
    `${''.padEnd(56)} ${'time s'.padStart(7)} ${'vs httpry'.padStart(9)} ${'CPU s'.padStart(7)} ${'CPU vs'.padStart(8)}\n`,
  );
  process.stdout.write(
    line(
      `bpfkit, whole capture (${mine.found} requests)`,
      mine.seconds,
      mine.cpuSeconds,
      theirs.seconds,
      theirs.cpuSeconds,
    ),
  );
  process.stdout.write(
    line(
      `httpry, whole capture (${theirs.found} request lines)`,
      theirs.seconds,
      theirs.cpuSeconds,
      theirs.seconds,
      theirs.cpuSeconds,
    ),
  );
  const xw = extra(theirs.seconds, shortTheirs.seconds);
  const xc = extra(theirs.cpuSeconds, shortTheirs.cpuSeconds);
  process.stdout.write(
    line(
      'bpfkit, each copy after the first',
      extra(mine.seconds, shortMine.seconds),
      extra(mine.cpuSeconds, shortMine.cpuSeconds),
      xw,
      xc,
    ),
  );
  process.stdout.write(line('httpry, each copy after the first', xw, xc, xw, xc));
  process.stdout.write(
    `(fastest of ${LONG_ROUNDS} runs each, taken in turns; "each copy after the first" = (long - short) / ${LONG_COPIES - 1})\n`,
  );
}

/**
 * How much the full-mode filter keeps away from userspace on mixed traffic: HTTP (the basic corpus) plus
 * bulk non-HTTP TCP (4 connections x 1 MiB of binary data to port 9000). The filter runs in the VM here;
 * the kernel gives the same verdicts (tested), so this is the fraction a live capture spares userspace.
 */
async function mixedTraffic(bin: string): Promise<void> {
  const file = join(DIR, 'mixed.pcap');
  if (!existsSync(file))
    await generateCorpus({ dir: DIR, name: 'mixed.pcap', scenarios: ['basic', 'bulk'], hosts: ['127.0.0.1'] });
  const r = spawnSync(process.execPath, [bin, 'urls', file], {
    encoding: 'latin1',
    maxBuffer: 1 << 28,
    cwd: process.cwd(),
  });
  const m = /(\d+) packets seen, (\d+) kept by filter, (\d+) requests/.exec(r.stderr);
  if (!m) {
    process.stdout.write(`mixed traffic: no summary (${r.stderr.trim().split('\n').pop()})\n`);
    return;
  }
  const seen = Number(m[1]);
  const kept = Number(m[2]);
  const bytes = statSync(file).size;
  process.stdout.write(
    `mixed traffic (${(bytes / 1048576).toFixed(1)} MB, HTTP + bulk binary TCP): the full filter kept ${kept} of ${seen} packets ` +
      `(${((1 - kept / seen) * 100).toFixed(1)}% kept away from userspace), ${m[3]} requests found\n`,
  );
}
