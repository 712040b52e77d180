import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { needs, repoPath } from '../support/env.js';
import { createNamespace, deleteNamespace } from './helpers/netns.js';
import { cliScript } from '../support/cli-script.js';
import { bpftoolShow } from './helpers/bpftool-show.js';

const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const script = cliScript(mainJs);

/** Run the CLI; `ns` runs it in that network namespace only (nsenter keeps the host's bpffs mount). */
function bpfkit(args: string[], ns?: string, env: Record<string, string> = {}) {
  const cmd = ns
    ? ['nsenter', [`--net=/run/netns/${ns}`, process.execPath, '-e', script, '--', ...args]]
    : [process.execPath, ['-e', script, '--', ...args]];
  return spawnSync(cmd[0] as string, cmd[1] as string[], { encoding: 'utf8', env: { ...process.env, ...env } });
}

const namespaces: string[] = [];
const dirs: string[] = [];
after(() => {
  namespaces.forEach(deleteNamespace);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const hooks = repoPath('test', 'fixtures', 'kernel', 'hooks.o');

test('prog load pins programs and maps; prog show and map dump/update/lookup read them back', (t) => {
  if (!needs(t, { root: true, tools: ['bpftool'] })) return;
  const dir = `/sys/fs/bpf/bpfkit-clitest-${process.pid}`;
  dirs.push(dir);
  const load = bpfkit(['prog', 'load', hooks, dir]);
  assert.equal(load.status, 0, load.stderr);
  assert.match(load.stdout, /loaded 3 programs and 3 maps/);
  assert.ok(existsSync(`${dir}/sock_count`) && existsSync(`${dir}/hooks_bss`));
  const id = Number(/sock_count\s+program socket_filter id (\d+)/.exec(load.stdout)?.[1]);
  const show = bpfkit(['prog', 'show', '--json']);
  assert.equal(show.status, 0, show.stderr);
  const progs = JSON.parse(show.stdout) as { id: number; name: string; type: string; tag: string; map_ids: number[] }[];
  const mine = progs.find((p) => p.id === id);
  assert.ok(mine, 'loaded program is listed');
  assert.equal(mine.type, 'socket_filter');
  assert.equal(mine.name, 'sock_count');
  assert.match(mine.tag, /^[0-9a-f]{16}$/);
  // Same view as bpftool.
  const bt = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(id)], { encoding: 'utf8' })) as {
    tag: string;
    map_ids: number[];
  };
  assert.equal(bt.tag, mine.tag);
  assert.deepEqual([...bt.map_ids].sort(), [...mine.map_ids].sort());
  const text = bpfkit(['prog', 'show', String(id)]);
  assert.match(text.stdout, new RegExp(`^${id}: socket_filter  name sock_count  tag ${mine.tag}  gpl`));

  const dump = bpfkit(['map', 'dump', `${dir}/hooks_bss`, '--json']);
  assert.equal(dump.status, 0, dump.stderr);
  assert.deepEqual(JSON.parse(dump.stdout), [
    { key: ['0x00', '0x00', '0x00', '0x00'], value: ['0x00', '0x00', '0x00', '0x00'] },
  ]); // verdict = 0
  assert.equal(
    bpfkit(['map', 'update', `${dir}/len_counts`, '--key', '07 00 00 00', '--value', '2a00000000000000']).status,
    0,
  );
  const look = bpfkit(['map', 'lookup', `${dir}/len_counts`, '--key', '07000000']);
  assert.equal(look.stdout.trim(), 'key: 07 00 00 00  value: 2a 00 00 00 00 00 00 00');
  assert.equal(bpfkit(['map', 'lookup', `${dir}/len_counts`, '--key', '08000000']).status, 1);
  const bad = bpfkit(['map', 'update', `${dir}/len_counts`, '--key', '07', '--value', '00']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /has 1 bytes; the map wants/);
});

function linkIds(): { id: number; prog_id: number; type: string | number }[] {
  return bpftoolShow('link');
}

test('attach xdp / tc pins a link that outlives the command; detach removes it', (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'bpftool', 'nsenter'] })) return;
  const ns = createNamespace('cli');
  namespaces.push(ns);
  const xdpDir = `/sys/fs/bpf/bpfkit-clitest-xdp-${process.pid}`;
  const tcDir = `/sys/fs/bpf/bpfkit-clitest-tc-${process.pid}`;
  dirs.push(xdpDir, tcDir);

  const a = bpfkit(['attach', 'xdp', 'lo', hooks, '--mode', 'skb', '--pin', xdpDir], ns);
  assert.equal(a.status, 0, a.stderr);
  const progId = Number(/prog id (\d+)/.exec(a.stdout)?.[1]);
  assert.ok(existsSync(`${xdpDir}/link`));
  assert.ok(
    linkIds().some((l) => l.prog_id === progId && l.type === 'xdp'),
    'the XDP link is still there after the command exited',
  );
  const again = bpfkit(['attach', 'xdp', 'lo', hooks, '--mode', 'skb', '--pin', xdpDir], ns);
  assert.equal(again.status, 3);
  assert.match(again.stderr, /already holds an attachment/);

  const tc = bpfkit(
    ['attach', 'tc', 'lo', hooks, '--program', 'tc_count', '--direction', 'egress', '--pin', tcDir],
    ns,
  );
  assert.equal(tc.status, 0, tc.stderr);
  const tcProg = Number(/prog id (\d+)/.exec(tc.stdout)?.[1]);
  assert.ok(
    linkIds().some(
      (l) => l.prog_id === tcProg && (l.type === 'tcx' || l.type === 11) /* older bpftool prints the number */,
    ),
  );

  const d1 = bpfkit(['detach', 'xdp', 'lo', '--pin', xdpDir], ns);
  assert.equal(d1.status, 0, d1.stderr);
  const d2 = bpfkit(['detach', 'tc', 'lo', '--direction', 'egress', '--pin', tcDir], ns);
  assert.equal(d2.status, 0, d2.stderr);
  assert.ok(!existsSync(xdpDir) && !existsSync(tcDir));
  assert.ok(!linkIds().some((l) => l.prog_id === progId || l.prog_id === tcProg), 'links are gone');
  // The kernel detaches a released XDP link from the device in deferred work, so for a moment after the
  // last fd closes the device can still report the link: wait for that to pass (the deadline only bounds
  // a hang), then the device must say nothing is attached.
  let none = bpfkit(['detach', 'xdp', 'lo', '--pin', xdpDir], ns);
  for (const deadline = Date.now() + 20_000; /from elsewhere/.test(none.stderr) && Date.now() < deadline;)
    none = bpfkit(['detach', 'xdp', 'lo', '--pin', xdpDir], ns);
  assert.equal(none.status, 3);
  assert.match(none.stderr, /nothing is attached to lo xdp/);
});

test('usage errors exit 2 without a stack trace', (t) => {
  const r = bpfkit(['attach', 'nope', 'lo', 'x.o']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: bpfkit attach/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  void t;
});

test('bpfkit run --engine kernel prints exactly what the VM prints', (t) => {
  if (!needs(t, { root: true })) return;
  const capture = repoPath('examples', 'captures', 'http-demo.pcap');
  // Objects with pinned maps (mark-stats) would reuse pins from earlier runs: give each run its own.
  const pins = `/sys/fs/bpf/bpfkit-clitest-run-${process.pid}`;
  dirs.push(pins);
  let n = 0;
  for (const obj of ['proto-count', 'port-demux', 'mark-stats']) {
    const args = ['run', repoPath('examples', obj, `${obj}.o`), '--pcap', capture];
    const vm = bpfkit([...args, '--engine', 'vm']);
    const kernel = bpfkit([...args, '--engine', 'kernel'], undefined, { BPFKIT_PIN_PATH: `${pins}/${n++}` });
    assert.equal(vm.status, 0, vm.stderr);
    assert.equal(kernel.status, 0, kernel.stderr);
    assert.ok(vm.stdout.length > 0);
    assert.equal(kernel.stdout, vm.stdout, `${obj}: kernel output differs from the VM's`);
  }
});

test('attach under ip netns exec warns that the attachment dies with the mount namespace', (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'nsenter'] })) return;
  const ns = createNamespace(`bpfkit-cliwarn-${process.pid}`);
  namespaces.push(ns);
  const dir = `/sys/fs/bpf/bpfkit-clitest-warn-${process.pid}`;
  const r = spawnSync(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      '-e',
      script,
      '--',
      'attach',
      'xdp',
      'lo',
      hooks,
      '--mode',
      'skb',
      '--pin',
      dir,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: this runs in a mount namespace of its own \(ip netns exec\?\).*nsenter --net=/);
  // through nsenter (the network namespace only) the pins are on the host's bpffs: no warning
  const dir2 = `${dir}-nsenter`;
  dirs.push(dir2);
  const quiet = bpfkit(['attach', 'xdp', 'lo', hooks, '--mode', 'skb', '--pin', dir2], ns);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /warning/);
});

test('attach xdp says the mode the kernel chose, and --mode native on a driver without it is refused', (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'nsenter'] })) return;
  const ns = createNamespace('climode');
  namespaces.push(ns);
  const dir = `/sys/fs/bpf/bpfkit-clitest-xdpmode-${process.pid}`;
  dirs.push(dir);
  // before: lo (no native XDP) got a generic attach printed as 'xdp (native)', with or without --mode native
  const native = bpfkit(['attach', 'xdp', 'lo', hooks, '--program', 'xdp_count', '--mode', 'native', '--pin', dir], ns);
  assert.equal(native.status, 3, native.stderr);
  assert.equal(
    native.stderr,
    'bpfkit attach: lo: the driver has no native XDP (--mode native); --mode skb attaches generic XDP\n',
  );
  assert.ok(!existsSync(dir), 'nothing pinned');
  const auto = bpfkit(['attach', 'xdp', 'lo', hooks, '--program', 'xdp_count', '--pin', dir], ns);
  assert.equal(auto.status, 0, auto.stderr);
  assert.match(auto.stdout, /to lo xdp \(skb\); pinned under/);
  assert.equal(bpfkit(['detach', 'xdp', 'lo', '--pin', dir], ns).status, 0);
});
