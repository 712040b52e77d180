// tcpdump as the oracle for formats and verdicts: for each filter expression and capture, the program
// tcpdump prints with -ddd, formatted by bpfkit as -d, -dd and -ddd, equals tcpdump's own output byte
// for byte; and the packets bpfkit's interpreter keeps are the packets `tcpdump -r FILE EXPR` keeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { formatDd, formatDdd, formatImage, parseClassicBpf, prepareClassic, runClassic } from '../../src/cbpf/index.js';
import { openCapture } from '../../src/packet/index.js';
import { needs, repoPath } from '../support/env.js';

const PRIMITIVES = [
  'ip',
  'ip6',
  'arp',
  'tcp',
  'udp',
  'icmp',
  'icmp6',
  'tcp port 80',
  'port 53',
  'host 10.0.0.1',
  'host 127.0.0.1',
  'net 10.0.0.0/8',
  'src port 80',
  'dst port 8080',
  'portrange 1-1024',
  'less 100',
  'greater 200',
  'len > 60',
  'len - 14 > 40',
  'ip multicast',
  'tcp[tcpflags] & tcp-syn != 0',
  'tcp[13] & 2 != 0',
  'ip[8] < 64',
  'ip[2:2] > 100',
  'ip proto 47',
  'icmp[icmptype] = icmp-echo',
  'tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420',
  'ip[0] & 0xf != 5',
  'ip[6:2] & 0x1fff = 0',
  'ip[1] * 4 + 3 > 10',
  'ip[2:2] - 20 > 0',
  'ip[2:2] / 2 > 10',
  'ip[2:2] % 7 = 3',
  'ip[0] ^ 0x45 = 0',
  'ip[1] << 2 > 8',
  'ip[2:2] >> 1 > 30',
  'ip[0] | 1 = 0x45',
  'not tcp',
  'not (port 22 or port 80)',
  'host 127.0.0.1 and port 8080',
  'ip6 proto 6',
  'ip6 host ::1',
  'tcp[0:2] > 1024',
  'tcp[2:2] < 1024',
  'ip and not udp',
  'ip6 multicast',
  'udp port 5353 or udp port 53',
  'tcp and (tcp[tcpflags] & (tcp-syn|tcp-fin) != 0)',
  'ip host 10.1.2.3 or ip6 host fe80::1',
  'vlan',
  'vlan and ip',
  'mpls',
  'tcp[tcpflags] & tcp-push != 0',
  'src net 127.0.0.0/8',
  'dst host 127.0.0.1',
  'ip[9] = 6 and ip[2:2] > 52',
  'proto \\tcp',
  'tcp src portrange 8000-9000',
  'udp[8:2] = 0x1234',
  'ip[12:4] = ip[16:4]',
  'tcp[4:4] > tcp[8:4]',
  'ip[2:2] & 3 = ip[3] & 3',
];
const LINKED = [
  'ether broadcast',
  'ether multicast',
  'ether host 00:11:22:33:44:55',
  'ether proto 0x88cc',
  'ether[0] & 1 = 1',
  'ether src 00:00:00:00:00:00',
];
const SLL_ONLY = ['inbound', 'outbound'];

function expressions(): string[] {
  const out = [...PRIMITIVES, ...LINKED, ...SLL_ONLY];
  // Pairs, so jumps span longer programs and the optimizer's shapes vary.
  for (let i = 0; i < PRIMITIVES.length; i++) {
    const j = (i * 7 + 3) % PRIMITIVES.length;
    out.push(`(${PRIMITIVES[i]}) ${i % 2 ? 'and' : 'or'} (${PRIMITIVES[j]})`);
    if (i % 3 === 0)
      out.push(
        `not (${PRIMITIVES[i]}) and (${PRIMITIVES[(j + 5) % PRIMITIVES.length]}) or ${PRIMITIVES[(i + 11) % PRIMITIVES.length]}`,
      );
  }
  return out;
}

function tcpdump(args: string[]): { ok: boolean; out: Buffer } {
  const r = spawnSync('tcpdump', args, { maxBuffer: 64 << 20 });
  return { ok: r.status === 0, out: r.stdout };
}

async function capture(path: string): Promise<{ data: Uint8Array; origLen: number }[]> {
  const reader = await openCapture(path);
  try {
    return (await reader.readAll()).map((p) => ({ data: p.data.slice(), origLen: p.origLen }));
  } finally {
    await reader.close();
  }
}

/** The frames of a pcap file tcpdump wrote (hex), in order. */
async function framesOf(bytes: Buffer): Promise<string[]> {
  const path = `${process.env.TMPDIR ?? '/tmp'}/bpfkit-cbpf-${process.pid}.pcap`;
  writeFileSync(path, bytes);
  try {
    return (await capture(path)).map((p) => Buffer.from(p.data).toString('hex'));
  } finally {
    rmSync(path, { force: true });
  }
}

// Every expression on an Ethernet capture; every third (and the direction primitives) on a Linux cooked one.
const RUNS: [string, string[]][] = [
  ['examples/captures/http-demo.pcap', expressions()],
  ['test/fixtures/packet/any-sll.pcap', [...expressions().filter((_, i) => i % 3 === 0), ...SLL_ONLY]],
];

for (const [file, exprs] of RUNS) {
  test(`tcpdump -d/-dd/-ddd and verdicts on ${file} equal bpfkit's, for ${exprs.length} expressions`, async (t) => {
    if (!needs(t, { tools: ['tcpdump'] })) return;
    const path = repoPath(file);
    const packets = await capture(path);
    let compared = 0;
    let keptSomewhere = 0;
    for (const [n, expr] of exprs.entries()) {
      const dd = tcpdump(['-r', path, '-dd', expr]);
      if (!dd.ok) continue; // not an expression for this link type (e.g. ether on SLL)
      compared++;
      const prog = parseClassicBpf(dd.out.toString());
      assert.equal(formatDd(prog), dd.out.toString(), `-dd ${expr}`);
      assert.equal(formatImage(prog), tcpdump(['-r', path, '-d', expr]).out.toString(), `-d ${expr}`);
      // -ddd on every fourth: each tcpdump run costs ~0.1 s on a busy machine.
      if (n % 4 === 0)
        assert.equal(formatDdd(prog), tcpdump(['-r', path, '-ddd', expr]).out.toString(), `-ddd ${expr}`);
      const prepared = prepareClassic(prog, expr);
      const ours = packets
        .filter((p) => runClassic(prepared, p.data, { len: p.origLen }).retval !== 0)
        .map((p) => Buffer.from(p.data).toString('hex'));
      const theirs = await framesOf(tcpdump(['-r', path, '-w', '-', expr]).out);
      assert.deepEqual(ours, theirs, `verdicts of '${expr}'`);
      if (ours.length > 0 && ours.length < packets.length) keptSomewhere++;
    }
    assert.ok(compared > exprs.length * 0.8, `${compared} of ${exprs.length} expressions compared`);
    assert.ok(keptSomewhere > exprs.length / 10, `${keptSomewhere} expressions split the capture`);
  });
}
