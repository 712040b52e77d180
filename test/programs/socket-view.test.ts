/**
 * The socket-filter packet view. On Linux 6.18, BPF_PROG_TEST_RUN gives a SOCKET_FILTER the packet from
 * its network header (skb->len is the IP length, LD_ABS offset 0 is the IP header) and hands back
 * data_out with the Ethernet header zeroed; an AF_PACKET raw socket runs the same filter from the MAC
 * header. The VM's `socketView: 'network'` reproduces the former, checked here against raw bpftool
 * (no bpfkit kernel code involved); the default 'mac' view is what the examples and the kernel engine use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { helpersForThisKernel } from './kernel-fixture.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBpffs } from './differential.js';
import { needs, repoPath } from '../support/env.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { loadVmCollection } from '../../src/vm/collection.js';
import { frames, hex } from './packets.js';

const obj = repoPath('test', 'programs', 'fixtures', 'helpers.o');

function vmRun(view: 'mac' | 'network', frame: Uint8Array) {
  const c = loadVmCollection(loadObjectFile(obj), { cpus: 1, socketView: view });
  const r = c.program('sock_ctx').run({ data: frame });
  const out = c.map('out');
  const values = [...Array(20).keys()].map((i) =>
    Buffer.from(out.lookup(new Uint8Array([i, 0, 0, 0]))!).readBigInt64LE(0),
  );
  return { retval: r.retval, data: hex(r.data), values };
}

test('socket filter views: raw socket (MAC header) and test run (network header)', () => {
  const f = frames.http();
  const mac = vmRun('mac', f);
  assert.equal(mac.values[0], BigInt(f.length), 'len counts the Ethernet header');
  assert.equal(mac.values[17], 0x0800n, 'load_half(12) is the EtherType');
  assert.equal(mac.data, hex(f));
  const net = vmRun('network', f);
  assert.equal(net.values[0], BigInt(f.length - 14), 'len starts at the IP header');
  assert.equal(net.values[16], 0x45n, 'load_byte(0) is the IP version/IHL byte');
  assert.equal(net.values[4], 0x0008n, 'protocol still says IPv4 (network order)');
  assert.equal(net.data, '00'.repeat(14) + hex(f.subarray(14)), 'data_out has the Ethernet header zeroed');
});

test('the network view equals what bpftool prog run reports from the kernel', (t) => {
  if (!needs(t, { root: true, tools: ['bpftool'] })) return;
  const f = frames.udpDns();
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-sv-'));
  const progs = `/sys/fs/bpf/bpfkit-sv-${process.pid}`;
  const maps = `${progs}-maps`;
  try {
    ensureBpffs();
    mkdirSync(progs);
    mkdirSync(maps);
    // (the fixture without bpf_xdp_adjust_meta on a kernel that refuses it to XDP: sock_ctx is the same)
    const load = spawnSync('bpftool', ['prog', 'loadall', helpersForThisKernel().path, progs, 'pinmaps', maps], {
      encoding: 'utf8',
    });
    if (load.status !== 0) {
      // bpftool loads every program of the object: a kernel that refuses a helper upstream allows to one of
      // them (this machine's refuses bpf_xdp_adjust_meta to XDP) leaves no sock_ctx to run.
      const refused = /cannot use helper (\S+)/.exec(load.stderr);
      if (!refused) throw new Error(`bpftool prog loadall failed: ${load.stderr.trim().split('\n').pop()}`);
      t.skip(`this kernel refuses ${refused[1]} to a program of helpers.o, so bpftool cannot load the object`);
      return;
    }
    writeFileSync(join(dir, 'in.bin'), f);
    const text = execFileSync(
      'bpftool',
      ['prog', 'run', 'pinned', `${progs}/sock_ctx`, 'data_in', join(dir, 'in.bin'), 'data_out', join(dir, 'out.bin')],
      { encoding: 'utf8' },
    );
    const retval = Number(/Return value: (\d+)/.exec(text)![1]);
    const dump = JSON.parse(
      execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', `${maps}/out`], { encoding: 'utf8' }),
    ) as { key: string[]; value: string[] }[];
    const kernelValues = dump
      .slice(0, 20)
      .map((e) => Buffer.from(e.value.map((b) => parseInt(b, 16))).readBigInt64LE(0));
    const vm = vmRun('network', f);
    assert.equal(vm.retval, retval);
    assert.equal(vm.data, hex(readFileSync(join(dir, 'out.bin'))));
    assert.deepEqual(vm.values, kernelValues);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(progs, { recursive: true, force: true });
    rmSync(maps, { recursive: true, force: true });
  }
});
