/**
 * The sweep: every expression of sweep.txt (primitive × qualifier × id combinations and the standalone
 * primitives) compiled for every link type bpfkit knows, by bpfkit and by `tcpdump -d` (libpcap 1.10).
 * Both must accept or both refuse, and a refusal must be of the same class (a syntax error, or a message
 * naming what is wrong). Where bpfkit refuses what it does not compile (the one-line "is not supported by
 * bpfkit's filter compiler"), the case is counted and listed, not failed. Instruction counts are reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileFilter } from '../../src/pcap-filter/index.js';
import { needs, repoPath } from '../support/env.js';
import { tcpdumpListing } from './oracle.js';

const LINKTYPES = [
  'EN10MB',
  'RAW',
  'LINUX_SLL',
  'LINUX_SLL2',
  'NULL',
  'LOOP',
  'PPP',
  'IEEE802_11',
  'IEEE802_11_RADIO',
  'PFLOG',
  'C_HDLC',
  'SLIP',
  'FRELAY',
  'IPNET',
  'ATM_RFC1483',
  'ARCNET_LINUX',
  'JUNIPER_ETHER',
  'JUNIPER_ATM1',
];

/** tcpdump's verdict: the instruction count, or the error line without tcpdump's prefixes. */
async function tcpdumpCompile(linktype: string, expr: string): Promise<number | string> {
  const r = await tcpdumpListing(linktype, expr);
  return 'listing' in r ? r.listing.trim().split('\n').length : r.error;
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return out;
}

const isSyntax = (msg: string): boolean => /syntax error/.test(msg);

test('sweep: bpfkit accepts and refuses what libpcap does on every link type', async (t) => {
  if (!needs(t, { tools: ['tcpdump'], long: true })) return;
  const exprs = readFileSync(repoPath('test', 'pcap-filter', 'sweep.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'));
  const cases = LINKTYPES.flatMap((linktype) => exprs.map((expr) => ({ linktype, expr })));
  const refs = await mapLimited(cases, 4, (c) => tcpdumpCompile(c.linktype, c.expr));
  const failures: string[] = [];
  const gaps: string[] = [];
  let gapsValid = 0;
  let wording = 0;
  let valid = 0;
  let atOrBelow = 0;
  let mine = 0;
  let theirs = 0;
  cases.forEach(({ linktype, expr }, i) => {
    const ref = refs[i]!;
    let ours: number | string;
    try {
      ours = compileFilter(expr, { linktype, savefile: false }).length;
    } catch (e) {
      ours = (e as Error).message.replace(/^column \d+: /, '');
    }
    const tag = `[${linktype}] ${expr}`;
    if (typeof ref === 'number') {
      valid++;
      if (typeof ours === 'number') {
        mine += ours;
        theirs += ref;
        if (ours <= ref) atOrBelow++;
      } else if (/not supported by bpfkit/.test(ours)) {
        gaps.push(tag);
        gapsValid++;
      } else failures.push(`${tag}: libpcap compiles, bpfkit refuses: ${ours}`);
      return;
    }
    if (typeof ours === 'number') failures.push(`${tag}: libpcap refuses (${ref}), bpfkit compiles`);
    else if (/not supported by bpfkit/.test(ours)) gaps.push(`${tag} (libpcap refuses too: ${ref})`);
    else if (isSyntax(ref) !== isSyntax(ours)) failures.push(`${tag}: libpcap says "${ref}", bpfkit "${ours}"`);
    else if (ref !== ours) wording++;
  });
  const compiled = valid - gapsValid;
  const pct = ((100 * atOrBelow) / Math.max(1, compiled)).toFixed(1);
  const byLink = LINKTYPES.map((l) => `${l} ${gaps.filter((g) => g.startsWith(`[${l}]`)).length}`).join(', ');
  t.diagnostic(`${cases.length} cases, ${valid} valid for libpcap; ${failures.length} disagreements`);
  t.diagnostic(`refused by bpfkit as not supported: ${gaps.length} (${gapsValid} that libpcap compiles): ${byLink}`);
  const missing = gaps.filter((g) => !g.startsWith('[IEEE802_11') && !g.includes('libpcap refuses too'));
  t.diagnostic(`outside 802.11, compiled by libpcap only: ${missing.join('; ')}`);
  t.diagnostic(`refusals worded differently from libpcap (same class): ${wording}`);
  t.diagnostic(
    `instructions on the ${compiled} both compile: bpfkit ${mine}, libpcap ${theirs}; at or below: ${atOrBelow} (${pct}%)`,
  );
  assert.deepEqual(failures, []);
});
