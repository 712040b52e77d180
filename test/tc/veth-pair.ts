/**
 * Two network namespaces joined by a veth pair (v0 in A, v1 in B), named after the test process, and the
 * ways tc's live tests act in them: bpfkit and iproute2's tc entered with nsenter --net (not `ip netns
 * exec`, which mounts a fresh /sys and so another bpffs), UDP traffic from A to B, HTB class counters.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../bin/bpfkit.js', import.meta.url));

/** The pair, once `create()` has made it. */
export class VethPair {
  readonly nsA: string;
  readonly nsB: string;
  /** A /24 of 10.x.y for the pair: .1 is v0 (A), .2 is v1 (B). */
  readonly net: string;

  constructor(tag: string) {
    this.nsA = `bpfkit-${tag}-a-${process.pid}`;
    this.nsB = `bpfkit-${tag}-b-${process.pid}`;
    this.net = `10.${150 + (process.pid % 50)}.${process.pid % 250}`;
  }

  /** Make the namespaces, the veth pair and their addresses. */
  create(): void {
    const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'ignore' });
    ip('netns', 'add', this.nsA);
    ip('netns', 'add', this.nsB);
    ip('-n', this.nsA, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', this.nsB);
    ip('-n', this.nsA, 'addr', 'add', `${this.net}.1/24`, 'dev', 'v0');
    ip('-n', this.nsB, 'addr', 'add', `${this.net}.2/24`, 'dev', 'v1');
    ip('-n', this.nsA, 'link', 'set', 'v0', 'up');
    ip('-n', this.nsB, 'link', 'set', 'v1', 'up');
    ip('-n', this.nsA, 'link', 'set', 'lo', 'up');
    ip('-n', this.nsB, 'link', 'set', 'lo', 'up');
  }

  /** Remove both namespaces (and with them the veth pair and every qdisc and filter on it). */
  destroy(): void {
    for (const ns of [this.nsA, this.nsB]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }

  /** argv prefix that runs a command in namespace A (or B) with the machine's bpffs in view. */
  enter(side: 'A' | 'B' = 'A'): string[] {
    return ['nsenter', `--net=/run/netns/${side === 'A' ? this.nsA : this.nsB}`];
  }

  /** Run `bpfkit ARGS` in the namespace: status, stdout, stderr. */
  bpfkit(side: 'A' | 'B', ...args: string[]): { status: number | null; out: string; err: string } {
    const [cmd, ...pre] = this.enter(side);
    const r = spawnSync(cmd!, [...pre, process.execPath, bin, ...args], { encoding: 'utf8' });
    return { status: r.status, out: r.stdout, err: r.stderr };
  }

  /** `bpfkit tc ARGS` in the namespace, which must succeed; its stdout. */
  ok(side: 'A' | 'B', ...args: string[]): string {
    const r = this.bpfkit(side, 'tc', ...args);
    assert.equal(r.status, 0, `bpfkit tc ${args.join(' ')}: ${r.err}`);
    return r.out;
  }

  /** iproute2's `tc ARGS` in the namespace (throws on failure). */
  tc(side: 'A' | 'B', ...args: string[]): string {
    const [cmd, ...pre] = this.enter(side);
    return execFileSync(cmd!, [...pre, 'tc', ...args], { encoding: 'utf8' });
  }

  /** Any command in the namespace (throws on failure). */
  run(side: 'A' | 'B', ...args: string[]): string {
    const [cmd, ...pre] = this.enter(side);
    return execFileSync(cmd!, [...pre, ...args], { encoding: 'utf8' });
  }

  /** Send `n` UDP datagrams from A to B's port `port` (B answers with ICMP, which does not matter). */
  sendUdp(n: number, port = 9): void {
    const script = `const s=require('dgram').createSocket('udp4');let left=${n};const go=()=>s.send('x'.repeat(64),${port},'${this.net}.2',()=>{if(--left>0)go();else s.close();});go();`;
    this.run('A', process.execPath, '-e', script);
  }

  /** Packets HTB counted in class `classid` (like '1:2') on v0, or -1 when there is no such class. */
  classPackets(classid: string): number {
    const text = this.tc('A', '-s', 'class', 'show', 'dev', 'v0');
    const block = text.split(/\n(?=class )/).find((b) => b.startsWith(`class htb ${classid} `));
    const m = block && /Sent \d+ bytes (\d+) pkt/.exec(block);
    return m ? Number(m[1]) : -1;
  }

  /** An HTB root 1: on v0 whose default is 1:1, with classes 1:1, 1:2 and 1:3. */
  htbWithClasses(): void {
    this.ok('A', 'qdisc', 'add', 'dev', 'v0', 'root', 'handle', '1:', 'htb', 'default', '1');
    for (const c of ['1:1', '1:2', '1:3'])
      this.ok('A', 'class', 'add', 'dev', 'v0', 'parent', '1:', 'classid', c, 'htb', 'rate', '100mbit');
  }

  /** Remove v0's root and clsact qdiscs (with their filters), ignoring "none there". */
  resetA(): void {
    for (const q of [['clsact'], ['root']])
      spawnSync(this.enter('A')[0]!, [...this.enter('A').slice(1), 'tc', 'qdisc', 'del', 'dev', 'v0', ...q], {
        stdio: 'ignore',
      });
  }
}

/** The bpfkit CLI's path, for tests that spawn it themselves. */
export const bpfkitBin = bin;
