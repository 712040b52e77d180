/**
 * tc's word grammar for `qdisc`, `class` and `filter … bpf …`, turned into plain requests with no syscall:
 * each word is consumed in order, as iproute2 reads its argv, and a word tc would not take is a UsageError
 * naming it. Devices stay names here; the caller resolves them.
 */
import { UsageError } from '../util/errors.js';
import { parseHandle, parseFilterHandle, clsactParent } from './handle.js';
import { parseProtocol } from './tcmsg.js';
import { parseRate } from './qdisc-message.js';
import { parseVerb } from './action-message.js';
import type { ProgramSource } from './load-program.js';
import { TC_H } from './uapi.js';

/** `qdisc add|del|show`. */
export interface QdiscRequest {
  verb: 'add' | 'del' | 'show';
  dev?: string;
  kind?: string;
  parent?: number;
  handle?: number;
  htbDefault?: number;
  /** HTB's rate-to-quantum divisor (`r2q N`; the kernel's default, as tc's, is 10). */
  htbR2q?: number;
}

/** `class add|change|replace … htb`. */
export interface ClassRequest {
  verb: 'add' | 'change' | 'replace';
  dev: string;
  parent: number;
  classid: number;
  rate: number;
  ceil?: number;
  burst?: number;
  prio?: number;
}

/** One `action bpf …` on a filter's command line. */
export interface ActionRequest {
  source: ProgramSource;
  verdict?: number;
}

/** `filter add|replace|change|del|show`. */
export interface FilterRequest {
  verb: 'add' | 'replace' | 'change' | 'del' | 'show';
  dev: string;
  parent?: number;
  prio?: number;
  handle?: number;
  protocol?: number;
  chain?: number;
  kind?: string;
  source?: ProgramSource;
  directAction?: boolean;
  classid?: number;
  skipHw?: boolean;
  skipSw?: boolean;
  verbose?: boolean;
  exportTo?: string;
  actions: ActionRequest[];
}

class Words {
  private i = 0;
  constructor(private readonly words: readonly string[]) {}
  get done(): boolean {
    return this.i >= this.words.length;
  }
  peek(): string | undefined {
    return this.words[this.i];
  }
  next(what?: string): string {
    const w = this.words[this.i++];
    if (w === undefined) throw new UsageError(`'${this.words[this.i - 2] ?? ''}' needs ${what ?? 'an argument'}`);
    return w;
  }
}

function int(text: string, what: string, max = 0xffffffff): number {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text) || Number(text) > max)
    throw new UsageError(`${what}: '${text}' is not a number (0..${max})`);
  return Number(text);
}

/** A u32 in hex, with or without 0x (tc's get_u32(…, 16)). */
function hexInt(text: string, what: string): number {
  if (!/^(0x)?[0-9a-f]{1,8}$/i.test(text)) throw new UsageError(`${what}: '${text}' is not a hex number (0..ffffffff)`);
  return parseInt(text, 16);
}

/** Parse the words after `tc qdisc`. */
export function parseQdiscArgs(argv: readonly string[]): QdiscRequest {
  const w = new Words(argv);
  const verb = w.next('a verb');
  if (verb !== 'add' && verb !== 'del' && verb !== 'delete' && verb !== 'show' && verb !== 'list' && verb !== 'ls')
    throw new UsageError(`qdisc: unknown verb '${verb}' (add, del, show)`);
  const r: QdiscRequest = { verb: verb === 'add' ? 'add' : verb.startsWith('del') ? 'del' : 'show' };
  while (!w.done) {
    const word = w.next();
    if (word === 'dev') r.dev = w.next('a device');
    else if (word === 'root') r.parent = TC_H.ROOT;
    else if (word === 'parent') r.parent = parseHandle(w.next('a handle'), 'parent');
    else if (word === 'handle') r.handle = parseHandle(w.next('a handle'), 'handle');
    else if (word === 'clsact' || word === 'ingress') r.kind = word;
    else if (word === 'htb') {
      r.kind = 'htb';
      while (!w.done) {
        const o = w.next();
        // As tc: `default` is hex (get_u32 base 16), `r2q` decimal; a word that is not one is refused,
        // not read as 0 (parseInt's NaN) — and r2q reaches the kernel instead of being skipped.
        if (o === 'default') r.htbDefault = hexInt(w.next('a class minor'), 'htb default');
        else if (o === 'r2q') {
          const text = w.next('a number');
          if (!/^\d+$/.test(text)) throw new UsageError(`htb r2q: '${text}' is not a decimal number`);
          r.htbR2q = int(text, 'htb r2q');
        } else throw new UsageError(`htb: unknown option '${o}' (default N)`);
      }
    } else throw new UsageError(`qdisc: unknown word '${word}' (dev, root, parent, handle, clsact, ingress, htb)`);
  }
  if (r.verb !== 'show' && !r.dev) throw new UsageError(`qdisc ${r.verb} needs 'dev DEVICE'`);
  if (r.verb === 'add' && !r.kind) throw new UsageError('qdisc add needs a kind (clsact, ingress or htb)');
  if (r.kind === 'htb' && r.parent === undefined) throw new UsageError("htb needs 'root' or 'parent X:Y'");
  return r;
}

/** Parse the words after `tc class`. */
export function parseClassArgs(argv: readonly string[]): ClassRequest {
  const w = new Words(argv);
  const verb = w.next('a verb');
  if (verb !== 'add' && verb !== 'change' && verb !== 'replace')
    throw new UsageError(`class: unknown verb '${verb}' (add, change, replace; show with iproute2's tc -s class show)`);
  let dev: string | undefined;
  let parent: number | undefined;
  let classid: number | undefined;
  let rate: number | undefined;
  let ceil: number | undefined;
  let burst: number | undefined;
  let prio: number | undefined;
  let kind: string | undefined;
  while (!w.done) {
    const word = w.next();
    if (word === 'dev') dev = w.next('a device');
    else if (word === 'parent') parent = parseHandle(w.next('a handle'), 'parent');
    else if (word === 'classid') classid = parseHandle(w.next('a class id'), 'classid');
    else if (word === 'htb') kind = 'htb';
    else if (kind && word === 'rate') rate = parseRate(w.next('a rate'));
    else if (kind && word === 'ceil') ceil = parseRate(w.next('a rate'));
    else if (kind && word === 'burst') burst = int(w.next('bytes'), 'burst');
    else if (kind && word === 'prio') prio = int(w.next('a number'), 'prio', 7);
    else throw new UsageError(`class: unknown word '${word}'`);
  }
  if (!dev || parent === undefined || classid === undefined || kind !== 'htb' || rate === undefined)
    throw new UsageError(
      'usage: class add dev DEV parent X: classid X:Y htb rate RATE [ceil RATE] [burst BYTES] [prio N]',
    );
  return { verb, dev, parent, classid, rate, ceil, burst, prio };
}

/** Parse the words after `tc filter`. */
export function parseFilterArgs(argv: readonly string[]): FilterRequest {
  const w = new Words(argv);
  const v = w.next('a verb');
  const verbs: Record<string, FilterRequest['verb']> = {
    add: 'add',
    replace: 'replace',
    change: 'change',
    del: 'del',
    delete: 'del',
    show: 'show',
    list: 'show',
    ls: 'show',
  };
  const verb = verbs[v];
  if (!verb) throw new UsageError(`filter: unknown verb '${v}' (add, replace, change, del, show)`);
  let dev: string | undefined;
  const r: Omit<FilterRequest, 'dev'> = { verb, actions: [] };
  while (!w.done) {
    const word = w.next();
    if (word === 'dev') dev = w.next('a device');
    else if (word === 'ingress' || word === 'egress') r.parent = clsactParent(word);
    else if (word === 'root') r.parent = TC_H.ROOT;
    else if (word === 'parent') r.parent = parseHandle(w.next('a handle'), 'parent');
    else if (word === 'prio' || word === 'pref' || word === 'priority') r.prio = int(w.next('a number'), word, 0xffff);
    else if (word === 'handle') r.handle = parseFilterHandle(w.next('a handle'));
    else if (word === 'protocol') r.protocol = parseProtocol(w.next('a protocol'));
    else if (word === 'chain') r.chain = int(w.next('a number'), 'chain');
    else if (word === 'bpf') {
      r.kind = 'bpf';
      parseBpfOptions(w, r);
    } else throw new UsageError(`filter: unknown word '${word}'`);
  }
  if (!dev) throw new UsageError(`filter ${verb} needs 'dev DEVICE'`);
  if (verb === 'add' || verb === 'replace' || verb === 'change') {
    if (r.kind !== 'bpf') throw new UsageError(`filter ${verb}: only the 'bpf' classifier is supported`);
    if (!r.source) throw new UsageError('bpf needs obj FILE, bytecode STRING, bytecode-file FILE or pinned PATH');
    if (r.parent === undefined) throw new UsageError(`filter ${verb} needs ingress, egress, root or parent X:Y`);
  }
  if (r.handle !== undefined && r.prio === undefined && verb === 'del')
    throw new UsageError('filter del with a handle needs its prio as well');
  return { ...r, dev };
}

function programWord(w: Words, word: string): ProgramSource | undefined {
  if (word === 'obj' || word === 'object-file') return { kind: 'object', path: w.next('an object file') };
  if (word === 'bytecode') return { kind: 'bytecode', text: w.next('a bytecode string'), where: 'bytecode' };
  if (word === 'bytecode-file' || word === 'bpf-file') {
    return { kind: 'bytecode-file', path: w.next('a file') };
  }
  if (word === 'pinned' || word === 'object-pinned' || word === 'fd') return { kind: 'pinned', path: w.next('a path') };
  return undefined;
}

function parseBpfOptions(w: Words, r: Omit<FilterRequest, 'dev'>): void {
  while (!w.done) {
    const word = w.peek()!;
    if (word === 'action') break;
    w.next();
    const src = programWord(w, word);
    if (src) {
      if (r.source) throw new UsageError(`bpf: '${word}' given after another program source`);
      r.source = src;
    } else if (word === 'sec' || word === 'section') {
      if (r.source?.kind !== 'object') throw new UsageError(`'${word}' belongs after obj FILE`);
      r.source.section = w.next('a section name');
    } else if (word === 'da' || word === 'direct-action') r.directAction = true;
    else if (word === 'classid' || word === 'flowid') r.classid = parseHandle(w.next('a class id'), word);
    else if (word === 'skip_hw') r.skipHw = true;
    else if (word === 'skip_sw') r.skipSw = true;
    else if (word === 'verbose') r.verbose = true;
    else if (word === 'export' || word === 'exp') r.exportTo = w.next('a socket path');
    else if (word === 'police') throw new UsageError('bpf: police is not supported by bpfkit tc');
    else throw new UsageError(`bpf: unknown option '${word}'`);
  }
  while (!w.done && w.peek() === 'action') {
    w.next();
    const kind = w.next('an action kind');
    if (kind !== 'bpf') throw new UsageError(`action '${kind}': only 'action bpf' is supported`);
    let source: ProgramSource | undefined;
    let verdict: number | undefined;
    while (!w.done && w.peek() !== 'action') {
      const word = w.next();
      const src = programWord(w, word);
      // A second program or verdict would replace the first: refused, as tc refuses it (duparg).
      if (src) {
        if (source) throw new UsageError(`action bpf: '${word}' given after another program source`);
        source = src;
      } else if ((word === 'sec' || word === 'section') && source?.kind === 'object')
        source.section = w.next('a section');
      else {
        const v = parseVerb(word);
        if (verdict !== undefined) throw new UsageError(`action bpf: verdict '${word}' given after another one`);
        verdict = v;
      }
    }
    if (!source) throw new UsageError('action bpf needs obj FILE or bytecode STRING');
    r.actions.push({ source, ...(verdict !== undefined ? { verdict } : {}) });
  }
}
