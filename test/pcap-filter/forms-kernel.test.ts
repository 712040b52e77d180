/**
 * `pcap compile --ebpf --form socket|tc|tc-classid|xdp` in the real kernel: for a list of expressions
 * over many protocols, each form loads (BPF_PROG_LOAD, the kernel's verifier) and BPF_PROG_TEST_RUN's
 * verdict on every test frame equals tcpdump's keep/drop on the same frames (`tcpdump -r`, libpcap 1.10).
 * tc and xdp see the frame from its Ethernet header (compiled for EN10MB); a socket filter's test run
 * starts at the network header, so it is compiled for RAW and compared with tcpdump on a RAW capture of
 * the IP frames. bpfkit's own verifier is asked too, and must accept every program the kernel accepts
 * (except where it says it does not model something: bpf_xdp_get_buff_len, XDP's `len`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, filterToForm, type EbpfForm } from '../../src/pcap-filter/index.js';
import { encodeProgram } from '../../src/isa/codec.js';
import { loadProgram } from '../../src/kernel/prog-load.js';
import { closeFd } from '../../src/kernel/bpf-syscall.js';
import { TestRunner } from '../../src/kernel/test-run.js';
import { verifyInstructions } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { ethernetFrames, writePcap } from './frames.js';
import { tcpdumpKeeps } from './oracle.js';

/** Expressions over ARP, ICMP, UDP/DNS, TCP flags and payload, VLAN, MPLS, PPPoE, IPv6, fragments. */
export const FORM_EXPRESSIONS = [
  'tcp port 80',
  'udp port 53',
  'arp',
  'icmp[icmptype] = icmp-echo',
  'icmp6',
  'tcp[tcpflags] & (tcp-syn|tcp-fin) != 0',
  'tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420',
  'host 10.0.0.1 or host 10.0.0.2',
  'net 10.0.0.0/8 and not port 22',
  'ip[6:2] & 0x1fff != 0',
  'ip6 and udp',
  'vlan and tcp',
  'vlan 100 or mpls',
  'pppoes and ip',
  'ether broadcast or ether multicast',
  'ether host 00:11:22:33:44:55',
  'greater 100',
  'len < 60',
  'portrange 20-25 or ip multicast',
  'not ip and not ip6',
  'ip[2:2] / 4 > 10',
  'ip[0] & 0xf != 5',
];

const throws = (f: () => unknown): boolean => {
  try {
    f();
    return false;
  } catch {
    return true;
  }
};

/** The value a form returns when the expression keeps the packet (socket: any non-zero). */
const KEEP: Record<EbpfForm, number | undefined> = { socket: undefined, tc: 0, 'tc-classid': 0xffffffff, xdp: 2 };
const DROP: Record<EbpfForm, number> = { socket: 0, tc: 2, 'tc-classid': 0, xdp: 1 };

test('every form loads in the kernel and keeps exactly what tcpdump keeps (BPF_PROG_TEST_RUN)', (t) => {
  if (!needs(t, { root: true, tools: ['tcpdump'] })) return;
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-forms-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The skb and xdp test runs need more than an Ethernet header, and take the frame as its full length.
  const eth = ethernetFrames().filter((f) => f.data.length > 14 && f.wireLen === undefined);
  const ip = eth.filter((f) => f.l3 && (f.l3.type === 0x0800 || f.l3.type === 0x86dd));
  const ethFile = join(dir, 'eth.pcap');
  const rawFile = join(dir, 'raw.pcap');
  writePcap(ethFile, 1, eth);
  writePcap(
    rawFile,
    101,
    ip.map((f) => ({ data: f.l3!.bytes })),
  );
  const runner = new TestRunner('pcap_form');
  const diffs: string[] = [];
  const verifierDiffs: string[] = [];
  const unmodelled = new Set<string>();
  let runs = 0;
  for (const expr of FORM_EXPRESSIONS) {
    for (const form of ['tc', 'tc-classid', 'xdp', 'socket'] as const) {
      const socket = form === 'socket';
      const frames = socket ? ip : eth;
      const want = tcpdumpKeeps(socket ? rawFile : ethFile, expr, true);
      if (!Array.isArray(want)) {
        // Link-layer expressions have no meaning on RAW: bpfkit must refuse them as libpcap does.
        if (!socket) diffs.push(`${expr}: tcpdump refused it: ${want.error}`);
        else if (!throws(() => compileFilter(expr, { linktype: 'RAW' })))
          diffs.push(`[RAW] ${expr}: tcpdump refuses it (${want.error}), bpfkit compiles it`);
        continue;
      }
      const f = filterToForm(compileFilter(expr, { linktype: socket ? 'RAW' : 'EN10MB' }), form, expr);
      const v = verifyInstructions(f.insns, { type: f.progType });
      let fd: number;
      try {
        fd = loadProgram({ name: 'pcap_form', type: f.progType, insns: encodeProgram(f.insns), license: 'GPL' }).fd;
      } catch (e) {
        diffs.push(`[${form}] ${expr}: the kernel refused it: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      // A helper bpfkit's verifier does not model (bpf_xdp_get_buff_len for `len` in XDP) is said, not failed.
      if (!v.accepted && v.unmodelled) unmodelled.add(`[${form}] ${v.message}`);
      else if (!v.accepted) verifierDiffs.push(`[${form}] ${expr}: bpfkit verify refuses at pc ${v.pc}: ${v.message}`);
      try {
        const kept = new Set(want);
        frames.forEach((fr, i) => {
          const got = runner.run(fd, { data: new Uint8Array(fr.data) }).retval >>> 0;
          runs++;
          const expect = kept.has(i);
          const ok = KEEP[form] === undefined ? (got !== 0) === expect : got === (expect ? KEEP[form] : DROP[form]);
          if (!ok)
            diffs.push(
              `[${form}] ${expr} frame ${i}: kernel returned ${got}, tcpdump ${expect ? 'keeps' : 'drops'} it`,
            );
        });
      } finally {
        closeFd(fd);
      }
    }
  }
  t.diagnostic(`${FORM_EXPRESSIONS.length} expressions × 4 forms, ${runs} test runs`);
  for (const u of unmodelled) t.diagnostic(`bpfkit verify cannot judge: ${u}`);
  assert.deepEqual(diffs, []);
  assert.deepEqual(verifierDiffs, [], 'bpfkit verify disagrees with the kernel');
});
