/**
 * The link types added after the first ones (Cisco HDLC, SLIP, Frame Relay, Solaris ipnet, RFC 1483 ATM, Linux
 * ARCNET, Juniper's): for each expression below, bpfkit's optimized program must be libpcap 1.10's instruction for
 * instruction (`tcpdump -d -y LINKTYPE`), and an expression libpcap refuses must be refused with its message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, findLinkType } from '../../src/pcap-filter/index.js';
import { formatImage } from '../../src/cbpf/index.js';
import { needs } from '../support/env.js';
import { tcpdumpListing } from './oracle.js';

const LINKTYPES = [
  'C_HDLC',
  'SLIP',
  'FRELAY',
  'IPNET',
  'ATM_RFC1483',
  'ARCNET_LINUX',
  'JUNIPER_MLPPP',
  'JUNIPER_MLFR',
  'JUNIPER_GGSN',
  'JUNIPER_MFR',
  'JUNIPER_ATM2',
  'JUNIPER_ATM1',
  'JUNIPER_MONITOR',
  'JUNIPER_PPPOE',
  'JUNIPER_PPPOE_ATM',
  'JUNIPER_ETHER',
  'JUNIPER_PPP',
  'JUNIPER_FRELAY',
  'JUNIPER_CHDLC',
];

const EXPRS = [
  'ip',
  'ip6',
  'arp',
  'rarp',
  'tcp',
  'udp',
  'icmp or arp',
  'icmp6',
  'tcp port 80',
  'udp port 53',
  'portrange 50-60',
  'host 10.0.0.1',
  'src net 10.0.0.0/8',
  'host ::1',
  'ip proto 6',
  'ip6 proto 17',
  'proto 6',
  'protochain 6',
  'tcp[tcpflags] & tcp-syn != 0',
  'icmp[icmptype] = icmp-echo',
  'ip[0] & 0xf > 5',
  'greater 100',
  'less 64',
  'len > 10',
  'link[0] = 1',
  'ether[1] & 3 = 3',
  'ip broadcast',
  'ip multicast',
  'ip6 multicast',
  'broadcast',
  'multicast',
  'ether host 00:11:22:33:44:55',
  'inbound',
  'outbound',
  'vlan',
  'vlan 10',
  'mpls',
  'mpls 100 and ip',
  'pppoed',
  'pppoes and ip',
  'iso',
  'clnp',
  'esis',
  'isis',
  'l1',
  'iso proto 6',
  'stp',
  'netbeui',
  'ipx',
  'atalk',
  'aarp',
  'decnet',
  'decnet host 1.2',
  'lat',
  'not ip and not ip6',
  '(tcp or udp) and not icmp',
  'host localhost',
];

/** tcpdump's program text, or its error line without tcpdump's prefixes. */
async function tcpdump(linktype: string, expr: string): Promise<string> {
  const r = await tcpdumpListing(linktype, expr);
  return 'listing' in r ? r.listing : 'error: ' + r.error;
}

function bpfkit(linktype: string, expr: string): string {
  try {
    return formatImage(compileFilter(expr, { linktype, savefile: false }));
  } catch (e) {
    return 'error: ' + (e as Error).message.replace(/^column \d+: /, '');
  }
}

test('the added link types: names, numbers and offsets as libpcap', () => {
  assert.equal(findLinkType(104).name, 'C_HDLC');
  assert.equal(findLinkType(100).name, 'ATM_RFC1483'); // DLT 11 is LINKTYPE 100 in files
  // A file's number that is no LINKTYPE value is libpcap's DLT value (tcpdump's test llc-xid-heapoverflow.pcap has 11).
  assert.equal(findLinkType(11).name, 'ATM_RFC1483');
  assert.equal(findLinkType(12).name, 'RAW');
  assert.equal(findLinkType('dlt_slip').linktype, 8);
  // Recorded from tcpdump 4.99 / libpcap 1.10 (`tcpdump -d -y C_HDLC 'ip proto 6'`).
  assert.equal(
    bpfkit('C_HDLC', 'ip proto 6'),
    [
      '(000) ldh      [2]',
      '(001) jeq      #0x800           jt 2\tjf 5',
      '(002) ldb      [13]',
      '(003) jeq      #0x6             jt 4\tjf 5',
      '(004) ret      #262144',
      '(005) ret      #0',
      '',
    ].join('\n'),
  );
  assert.equal(bpfkit('FRELAY', 'vlan'), 'error: no VLAN support for Frame Relay');
  assert.equal(bpfkit('SLIP', 'mpls'), 'error: no MPLS support for SLIP');
});

test('the added link types compile as libpcap does, instruction for instruction', async (t) => {
  if (!needs(t, { tools: ['tcpdump'] })) return;
  const cases = LINKTYPES.flatMap((linktype) => EXPRS.map((expr) => ({ linktype, expr })));
  const refs: string[] = [];
  for (let i = 0; i < cases.length; i += 4) {
    refs.push(...(await Promise.all(cases.slice(i, i + 4).map((c) => tcpdump(c.linktype, c.expr)))));
  }
  const failures: string[] = [];
  cases.forEach(({ linktype, expr }, i) => {
    const ref = refs[i]!;
    const ours = bpfkit(linktype, expr);
    if (ours === ref) return;
    // Refusals agree where both refuse; bpfkit's words may differ only for what it declines to compile.
    if (ref.startsWith('error: ') && /not supported by bpfkit/.test(ours)) return;
    // As on Ethernet, libpcap's inbound/outbound here is a Linux ancillary load, which capture files lack.
    if (ref.includes('[type]') && /not supported by bpfkit/.test(ours)) return;
    failures.push(
      `[${linktype}] ${expr}\n  libpcap: ${ref.replace(/\n/g, ' | ')}\n  bpfkit:  ${ours.replace(/\n/g, ' | ')}`,
    );
  });
  assert.deepEqual(failures, []);
});
