/**
 * bpfkit tc against the kernel and iproute2, in two namespaces joined by a veth pair (v0 in A, v1 in B):
 * what bpfkit installs, iproute2's tc and bpftool read; what iproute2 installs, bpfkit lists and deletes;
 * the man page's mark and classid classifiers steer packets into an HTB class; failures leave nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { needs, isRoot, hasTool } from '../support/env.js';
import { waitUntil } from '../support/live-wait.js';
import { withMachineLock } from '../support/global-lock.js';

const bin = fileURLToPath(new URL('../../../bin/bpfkit.js', import.meta.url));
const obj = fileURLToPath(new URL('../../../test/fixtures/tc/tc-demo.o', import.meta.url));
const nsA = `bpfkit-tc-a-${process.pid}`;
const nsB = `bpfkit-tc-b-${process.pid}`;
const net = `10.${200 + (process.pid % 50)}.${process.pid % 250}`;
const STATS_PIN = '/sys/fs/bpf/tc/globals/bpfkit_tc_stats';
let ready = false;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore' });
}

before(() => {
  if (!isRoot() || !hasTool('ip') || !hasTool('tc')) return;
  ip('netns', 'add', nsA);
  ip('netns', 'add', nsB);
  ip('-n', nsA, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', nsB);
  ip('-n', nsA, 'addr', 'add', `${net}.1/24`, 'dev', 'v0');
  ip('-n', nsB, 'addr', 'add', `${net}.2/24`, 'dev', 'v1');
  ip('-n', nsA, 'link', 'set', 'v0', 'up');
  ip('-n', nsB, 'link', 'set', 'v1', 'up');
  ip('-n', nsA, 'link', 'set', 'lo', 'up');
  ready = true;
});

after(() => {
  for (const ns of [nsA, nsB]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
});

/**
 * Run bpfkit in namespace A: status, stdout, stderr. nsenter --net (not `ip netns exec`, which mounts a
 * fresh /sys) keeps the machine's bpffs in view, so pins are checked where they were made.
 */
function bpfkit(...args: string[]) {
  const r = spawnSync('nsenter', [`--net=/run/netns/${nsA}`, process.execPath, bin, 'tc', ...args], {
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** Run iproute2's tc in namespace A (throws on failure). */
function tc(...args: string[]): string {
  return execFileSync('nsenter', [`--net=/run/netns/${nsA}`, 'tc', ...args], { encoding: 'utf8' });
}

function ok(...args: string[]): string {
  const r = bpfkit(...args);
  assert.equal(r.status, 0, `bpfkit tc ${args.join(' ')}: ${r.err}`);
  return r.out;
}

function progIds(text: string): number[] {
  return [...text.matchAll(/ id (\d+) /g)].map((m) => Number(m[1]));
}

function reset(): void {
  spawnSync('ip', ['netns', 'exec', nsA, 'tc', 'qdisc', 'del', 'dev', 'v0', 'clsact'], { stdio: 'ignore' });
  spawnSync('ip', ['netns', 'exec', nsA, 'tc', 'qdisc', 'del', 'dev', 'v0', 'root'], { stdio: 'ignore' });
}

test('installed by bpfkit: iproute2 prints the same filters, bpftool sees the programs, del removes them', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'tc', 'bpftool', 'nsenter'] }) || !ready) return;
  // The object's stats map is pinned by name in tc/globals: one test at a time on the machine, and removed after.
  await withMachineLock('tc-globals-bpfkit_tc_stats', () => {
    try {
      reset();
      ok('qdisc', 'add', 'dev', 'v0', 'clsact');
      ok('qdisc', 'add', 'dev', 'v0', 'root', 'handle', '1:', 'htb', 'default', '10');
      ok('filter', 'add', 'dev', 'v0', 'ingress', 'bpf', 'obj', obj, 'da');
      ok(
        'filter',
        'add',
        'dev',
        'v0',
        'egress',
        'prio',
        '5',
        'handle',
        '7',
        'bpf',
        'obj',
        obj,
        'sec',
        'classifier',
        'classid',
        '1:2',
      );
      ok('filter', 'add', 'dev', 'v0', 'parent', '1:', 'bpf', 'bytecode', '1,6 0 0 4294967295,', 'flowid', '1:1');
      // direct_packets_stat counts live traffic (the veth's own IPv6 neighbour and MLD packets arrive at any
      // moment), so the two reads may differ by a packet: compare the text with that counter masked.
      const ourQdiscs = ok('qdisc', 'show', 'dev', 'v0');
      assert.match(ourQdiscs, /direct_packets_stat \d+ /);
      const masked = (text: string) => text.replace(/direct_packets_stat \d+/g, 'direct_packets_stat N');
      assert.equal(masked(ourQdiscs), masked(tc('qdisc', 'show', 'dev', 'v0')));
      for (const where of [['ingress'], ['egress'], ['parent', '1:'], []]) {
        const ours = ok('filter', 'show', 'dev', 'v0', ...where);
        assert.equal(ours, tc('filter', 'show', 'dev', 'v0', ...where), `filter show ${where.join(' ')}`);
        assert.ok(ours.length > 0);
      }
      const ingress = tc('filter', 'show', 'dev', 'v0', 'ingress');
      assert.match(
        ingress,
        /handle 0x1 tc-demo\.o:\[classifier\] direct-action not_in_hw id \d+ name cls_main tag [0-9a-f]{16} jited/,
      );
      assert.match(
        tc('filter', 'show', 'dev', 'v0', 'egress'),
        /pref 5 bpf chain 0 handle 0x7 flowid 1:2 tc-demo\.o:\[classifier\]/,
      );
      const [id] = progIds(ingress);
      const info = JSON.parse(
        execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(id)], { encoding: 'utf8' }),
      ) as {
        name: string;
        type: string;
      };
      assert.deepEqual([info.name, info.type], ['cls_main', 'sched_cls']);

      ok('filter', 'del', 'dev', 'v0', 'egress', 'prio', '5', 'handle', '7', 'bpf');
      assert.equal(tc('filter', 'show', 'dev', 'v0', 'egress'), '');
      ok('filter', 'del', 'dev', 'v0', 'ingress');
      assert.equal(tc('filter', 'show', 'dev', 'v0', 'ingress'), '');
      ok('qdisc', 'del', 'dev', 'v0', 'clsact');
      ok('qdisc', 'del', 'dev', 'v0', 'root', 'handle', '1:', 'htb');
      assert.doesNotMatch(tc('qdisc', 'show', 'dev', 'v0'), /clsact|htb/);
      // The program went with its filter: bpfkit held no fd past the command.
      assert.notEqual(spawnSync('bpftool', ['prog', 'show', 'id', String(id)]).status, 0);
    } finally {
      rmSync(STATS_PIN, { force: true });
    }
  });
});

test('installed by iproute2: bpfkit lists the same text and deletes the filters', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'tc', 'nsenter'] }) || !ready) return;
  // The object's stats map is pinned by name in tc/globals: one test at a time on the machine, and removed after.
  await withMachineLock('tc-globals-bpfkit_tc_stats', () => {
    try {
      reset();
      tc('qdisc', 'add', 'dev', 'v0', 'clsact');
      tc('filter', 'add', 'dev', 'v0', 'ingress', 'prio', '3', 'bpf', 'obj', obj, 'sec', 'classifier', 'da');
      tc(
        'filter',
        'add',
        'dev',
        'v0',
        'ingress',
        'prio',
        '4',
        'bpf',
        'bytecode',
        '4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0,',
      );
      const theirs = tc('filter', 'show', 'dev', 'v0', 'ingress');
      assert.equal(ok('filter', 'show', 'dev', 'v0', 'ingress'), theirs);
      assert.match(theirs, /bytecode '4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0'/);
      ok('filter', 'del', 'dev', 'v0', 'ingress', 'prio', '3');
      assert.doesNotMatch(tc('filter', 'show', 'dev', 'v0', 'ingress'), /pref 3/);
      ok('filter', 'del', 'dev', 'v0', 'ingress');
      assert.equal(tc('filter', 'show', 'dev', 'v0', 'ingress'), '');
      ok('qdisc', 'del', 'dev', 'v0', 'clsact');
    } finally {
      rmSync(STATS_PIN, { force: true });
    }
  });
});

/** Send `n` UDP datagrams from A to B (to the discard port; B answers with ICMP, which does not matter). */
function sendUdp(n: number): void {
  const script = `const s=require('dgram').createSocket('udp4');let left=${n};const go=()=>s.send('x'.repeat(64),9,'${net}.2',()=>{if(--left>0)go();else s.close();});go();`;
  execFileSync('ip', ['netns', 'exec', nsA, process.execPath, '-e', script]);
}

function classPackets(classid: string): number {
  const text = tc('-s', 'class', 'show', 'dev', 'v0');
  const block = text.split(/\n(?=class )/).find((b) => b.startsWith(`class htb ${classid} `));
  const m = block && /Sent \d+ bytes (\d+) pkt/.exec(block);
  return m ? Number(m[1]) : -1;
}

test("the man page's mark classifier: egress marks 2, HTB class 1:2 gets the packets, map_stats counts them", async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'tc', 'bpftool', 'nsenter'] }) || !ready) return;
  reset();
  await withMachineLock('tc-globals-bpfkit_tc_stats', async () => {
    rmSync(STATS_PIN, { force: true });
    try {
      ok('qdisc', 'add', 'dev', 'v0', 'clsact');
      ok('qdisc', 'add', 'dev', 'v0', 'root', 'handle', '1:', 'htb', 'default', '1');
      ok('class', 'add', 'dev', 'v0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '100mbit');
      ok('class', 'add', 'dev', 'v0', 'parent', '1:', 'classid', '1:2', 'htb', 'rate', '100mbit');
      ok('filter', 'add', 'dev', 'v0', 'egress', 'bpf', 'da', 'obj', obj, 'sec', 'mark');
      ok('filter', 'add', 'dev', 'v0', 'parent', '1:', 'bpf', 'obj', obj, 'sec', 'cls');
      assert.ok(existsSync(STATS_PIN), 'map_stats pinned in tc/globals (LIBBPF_PIN_BY_NAME)');
      // A second filter from the same object shares the pinned map rather than failing or making another.
      ok('filter', 'add', 'dev', 'v0', 'parent', '1:', 'prio', '7', 'bpf', 'obj', obj, 'sec', 'cls');
      const ids = progIds(tc('filter', 'show', 'dev', 'v0', 'parent', '1:'));
      const maps = ids.map(
        (id) =>
          (
            JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(id)], { encoding: 'utf8' })) as {
              map_ids: number[];
            }
          ).map_ids[0],
      );
      assert.equal(new Set(maps).size, 1, `both classifiers use one map: ${maps}`);

      const before = classPackets('1:2');
      sendUdp(20);
      await waitUntil('HTB class 1:2 to count 20 packets', () => classPackets('1:2') >= before + 20, 10_000);
      const stats = JSON.parse(
        execFileSync('bpftool', ['-j', 'map', 'lookup', 'pinned', STATS_PIN, 'key', '2', '0', '0', '0'], {
          encoding: 'utf8',
        }),
      ) as { formatted?: { value: { packets: number } }; value: unknown };
      const packets = stats.formatted?.value.packets ?? 0;
      assert.ok(packets >= 20, `map_stats[2].packets = ${packets}`);
    } finally {
      reset();
      rmSync(STATS_PIN, { force: true });
    }
  });
});

test('refusals: one line, the right status, nothing installed or pinned', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'tc', 'bpftool', 'nsenter'] }) || !ready) return;
  reset();
  ok('qdisc', 'add', 'dev', 'v0', 'clsact');
  const cases: [string[], number, RegExp][] = [
    [['filter', 'add', 'dev', 'nosuch', 'ingress', 'bpf', 'obj', obj], 2, /cannot find device "nosuch"/],
    [['filter', 'add', 'dev', 'v0', 'ingress', 'bpf', 'obj', obj, 'sec', 'nosec'], 2, /has no section 'nosec'/],
    [
      ['filter', 'add', 'dev', 'v0', 'ingress', 'bpf', 'bytecode', '2,6 0 0 0,'],
      2,
      /count says 2 instructions but 1 follow/,
    ],
    [['filter', 'add', 'dev', 'v0', 'ingress', 'bpf', 'bytecode', '1,21 0 0 0,'], 1, /filter add: .*EINVAL/],
    [['filter', 'add', 'dev', 'v0', 'parent', '7:', 'bpf', 'bytecode', '1,6 0 0 0,'], 1, /Parent Qdisc doesn't exists/],
    [['qdisc', 'add', 'dev', 'v0', 'clsact'], 1, /qdisc add: Exclusivity flag on, cannot modify/],
    [
      [
        'filter',
        'add',
        'dev',
        'v0',
        'ingress',
        'bpf',
        'bytecode',
        '1,6 0 0 0,',
        'action',
        'bpf',
        'bytecode',
        '1,6 0 0 0,',
      ],
      3,
      /action bpf: not supported by this kernel \(CONFIG_NET_ACT_BPF\)/,
    ],
  ];
  for (const [args, status, message] of cases) {
    const r = bpfkit(...args);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
  ok('filter', 'add', 'dev', 'v0', 'ingress', 'prio', '2', 'handle', '1', 'bpf', 'bytecode', '1,6 0 0 0,');
  const clash = bpfkit(
    'filter',
    'add',
    'dev',
    'v0',
    'ingress',
    'prio',
    '2',
    'handle',
    '1',
    'bpf',
    'bytecode',
    '1,6 0 0 1,',
  );
  assert.equal(clash.status, 1);
  assert.match(clash.err, /Filter already exists/);
  assert.match(tc('filter', 'show', 'dev', 'v0', 'ingress'), /bytecode '1,6 0 0 0'/);
  ok('filter', 'del', 'dev', 'v0', 'ingress');
  assert.equal(tc('filter', 'show', 'dev', 'v0', 'ingress'), '');

  // A pinned map of another shape: refused, and nothing else of the object stays.
  await withMachineLock('tc-globals-bpfkit_tc_stats', () => {
    rmSync(STATS_PIN, { force: true });
    execFileSync('bpftool', [
      'map',
      'create',
      STATS_PIN,
      'type',
      'hash',
      'key',
      '4',
      'value',
      '8',
      'entries',
      '4',
      'name',
      'bpfkit_tc_stats',
    ]);
    try {
      const before = readdirSync('/sys/fs/bpf/tc/globals').sort();
      const r = bpfkit('filter', 'add', 'dev', 'v0', 'egress', 'bpf', 'obj', obj, 'sec', 'cls');
      assert.equal(r.status, 3, r.err);
      assert.match(r.err, /map pinned at \/sys\/fs\/bpf\/tc\/globals\/bpfkit_tc_stats does not match/);
      assert.deepEqual(readdirSync('/sys/fs/bpf/tc/globals').sort(), before);
      assert.equal(tc('filter', 'show', 'dev', 'v0', 'egress'), '');
    } finally {
      rmSync(STATS_PIN, { force: true });
    }
  });
  reset();
});

test('netlink XDP attach: bpfkit link set attaches what ip link shows, off removes it, and the reverse', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'nsenter'] }) || !ready) return;
  await withMachineLock('tc-globals-bpfkit_tc_stats', () => {
    try {
      const link = (...args: string[]) =>
        spawnSync('nsenter', [`--net=/run/netns/${nsA}`, process.execPath, bin, 'link', ...args], { encoding: 'utf8' });
      const ipLink = () => execFileSync('ip', ['-n', nsA, 'link', 'show', 'dev', 'v0'], { encoding: 'utf8' });
      let r = link('set', 'dev', 'v0', 'xdpgeneric', 'obj', obj, 'sec', 'xdp');
      assert.equal(r.status, 0, r.stderr);
      assert.match(ipLink(), /prog\/xdp id \d+ name xdp_pass/);
      assert.match(link('show', 'dev', 'v0').stdout, /^v0: xdpgeneric id \d+$/m);
      r = link('set', 'dev', 'v0', 'xdp', 'off');
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(ipLink(), /xdp/);
      execFileSync('ip', ['-n', nsA, 'link', 'set', 'dev', 'v0', 'xdpgeneric', 'obj', obj, 'sec', 'xdp']);
      assert.match(link('show', 'dev', 'v0').stdout, /xdpgeneric id \d+/);
      assert.equal(link('set', 'dev', 'v0', 'xdpgeneric', 'off').status, 0);
      assert.doesNotMatch(ipLink(), /xdp/);
      r = link('set', 'dev', 'v0', 'xdp', 'obj', obj);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /has no section 'prog'/);
    } finally {
      rmSync(STATS_PIN, { force: true });
    }
  });
});
