/**
 * The fields of OpenBSD pf's log header (PFLOG captures): `on`/`ifname`, `rset`/`ruleset`, `rnr`/`rulenum`,
 * `srnr`/`subrulenum`, `reason`, `action`, as libpcap 1.10's gen_pf_* compile them. struct pfloghdr: length
 * (1), af (1), action (1), reason (1), ifname (16), ruleset (16), rulenr (4), subrulenr (4), ...
 */
import { BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_B, BPF_K, BPF_LD, BPF_ST, BPF_W } from '../cbpf/insn.js';
import type { Frag, Stmt } from './blocks.js';
import { FilterSyntaxError } from './errors.js';
import { VAR_NL_REG, type Gen } from './gencode.js';

const OFF_ACTION = 2;
const OFF_REASON = 3;
const OFF_IFNAME = 4;
const OFF_RULESET = 20;
const OFF_RULENR = 36;
const OFF_SUBRULENR = 40;
/** IFNAMSIZ and PFLOG_RULESET_NAME_SIZE: both names are NUL-terminated in 16 bytes. */
const NAME_SIZE = 16;

/** pf's reasons in their numeric order (PFRES_NAMES). */
const REASONS = [
  'match',
  'bad-offset',
  'fragment',
  'short',
  'normalize',
  'memory',
  'bad-timestamp',
  'congestion',
  'ip-option',
  'proto-cksum',
  'state-mismatch',
  'state-insert',
  'state-limit',
  'src-limit',
  'synproxy',
];

/** pf's actions by the names libpcap accepts (PF_PASS ... PF_NORDR). */
const ACTIONS: Record<string, number> = {
  pass: 0,
  accept: 0,
  drop: 1,
  block: 1,
  scrub: 2,
  noscrub: 3,
  nat: 4,
  nonat: 5,
  binat: 6,
  nobinat: 7,
  rdr: 8,
  nordr: 9,
};

/** A reason name (any case) to its number; libpcap checks the name before the link type. */
export function pfReason(name: string): number {
  const i = REASONS.indexOf(name.toLowerCase());
  if (i < 0) throw new FilterSyntaxError(`unknown PF reason "${name}"`, 0);
  return i;
}

/** An action name (any case) to its number. */
export function pfAction(name: string): number {
  const v = ACTIONS[name.toLowerCase()];
  if (v === undefined) throw new FilterSyntaxError(`unknown PF action "${name}"`, 0);
  return v;
}

function onlyPflog(gen: Gen, what: string): void {
  if (gen.link.kind !== 'pflog') throw new FilterSyntaxError(`${what} supported only on PF linktype`, 0);
}

/** `on NAME` / `ifname NAME`: the interface name's bytes (without the NUL). */
export function pfIfname(gen: Gen, name: string): Frag {
  onlyPflog(gen, 'ifname');
  if (name.length >= NAME_SIZE) {
    throw new FilterSyntaxError(`ifname interface names can only be ${NAME_SIZE - 1} characters`, 0);
  }
  return gen.bcmp(OFF_IFNAME, new TextEncoder().encode(name));
}

/** `rset NAME` / `ruleset NAME`. */
export function pfRuleset(gen: Gen, name: string): Frag {
  onlyPflog(gen, 'ruleset');
  if (name.length >= NAME_SIZE) throw new FilterSyntaxError(`ruleset names can only be ${NAME_SIZE - 1} characters`, 0);
  return gen.bcmp(OFF_RULESET, new TextEncoder().encode(name));
}

/** `rnr N`, `srnr N`, `reason N`, `action N`: one header field equal to `v`. */
export function pfField(gen: Gen, what: 'rnr' | 'srnr' | 'reason' | 'action', v: number): Frag {
  onlyPflog(gen, what);
  switch (what) {
    case 'rnr':
      return gen.cmp(OFF_RULENR, BPF_W, v);
    case 'srnr':
      return gen.cmp(OFF_SUBRULENR, BPF_W, v);
    case 'reason':
      return gen.cmp(OFF_REASON, BPF_B, v);
    case 'action':
      return gen.cmp(OFF_ACTION, BPF_B, v);
  }
}

/** Where the IP packet starts: the header's length byte rounded up to 4 (BPF_WORDALIGN), into M[VAR_NL_REG]. */
export function pflogPrologue(): Stmt[] {
  return [
    { code: BPF_LD | BPF_B | BPF_ABS, k: 0 },
    { code: BPF_ALU | BPF_ADD | BPF_K, k: 3 },
    { code: BPF_ALU | BPF_AND | BPF_K, k: 0xfffffffc },
    { code: BPF_ST, k: VAR_NL_REG },
  ];
}
