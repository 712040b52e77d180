/**
 * tc-bpf(8)'s remaining examples, live in a veth pair: the map hand-over (bpfkit → iproute2's `tc exec bpf
 * imp`, and bpfkit → bpfkit with an agent that steers the classifier), the legacy `struct bpf_elf_map`
 * object (PIN_OBJECT_NS shared by two filters, an id/inner_id map of maps, map flags in the pinned-map
 * check), the port-80 demultiplexer with its checksum fix-up (checked by the receiving TCP stack and
 * tcpdump), and classic classifiers from `tcpdump -ddd` and bpf_asm steering UDP into HTB classes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { needs, isRoot, hasTool } from '../support/env.js';
import { waitUntil, stderrLine } from '../support/live-wait.js';
import { withMachineLock } from '../support/global-lock.js';
import { VethPair, bpfkitBin } from './veth-pair.js';

const legacy = fileURLToPath(new URL('../../../test/fixtures/tc/tc-legacy.o', import.meta.url));
const kernelApi = pathToFileURL(fileURLToPath(new URL('../../src/kernel/index.js', import.meta.url))).href;
const objDir = `/sys/fs/bpf/tc/${createHash('sha1').update(readFileSync(legacy)).digest('hex')}`;
const SEEN_PIN = `${objDir}/map_seen`;
const FLAGS_PIN = '/sys/fs/bpf/tc/globals/bpfkit_tc_flags';
const LOCK = 'tc-legacy-object-pins';
const pair = new VethPair('tcseed');
let ready = false;
const scratch = mkdtempSync(join(tmpdir(), 'bpfkit-tc-seed-'));

before(() => {
  if (!isRoot() || !hasTool('ip') || !hasTool('tc') || !hasTool('nsenter')) return;
  pair.create();
  ready = true;
});

after(() => {
  pair.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

function clearPins(): void {
  rmSync(objDir, { recursive: true, force: true });
  rmSync(FLAGS_PIN, { force: true });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

function collect(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return () => text;
}

// Prints what the hand-over gave the command: the count, then each BPF_MAP<id> and what its fd is.
const REPORT =
  'echo "n=$BPF_NUM_MAPS"; for v in $(env | grep "^BPF_MAP" | sort); do ' +
  'echo "$(echo $v | cut -d= -f1) $(readlink /proc/self/fd/$(echo $v | cut -d= -f2))"; done';

test("hand-over: bpfkit's export reaches iproute2's tc exec bpf imp, which runs a shell with the maps", async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'tc', 'nsenter'] }) || !ready) return;
  await withMachineLock(LOCK, async () => {
    const sock = join(scratch, 'imp-tc.sock');
    const [cmd, ...pre] = pair.enter('A');
    const imp = spawn(cmd!, [...pre, 'tc', 'exec', 'bpf', 'imp', sock, 'run', 'sh', '-c', REPORT]);
    const output = collect(imp);
    try {
      clearPins();
      pair.resetA();
      await waitUntil('tc exec bpf imp to bind its socket', () => existsSync(sock), 10_000);
      pair.ok('A', 'qdisc', 'add', 'dev', 'v0', 'clsact');
      pair.ok('A', 'filter', 'add', 'dev', 'v0', 'ingress', 'bpf', 'obj', legacy, 'export', sock, 'da');
      assert.equal(await exited(imp), 0, output());
      const lines = output().trim().split('\n');
      assert.equal(lines[0], 'n=5', output());
      // The ids are struct bpf_elf_map's `id` members: map_class 1 ... bpfkit_tc_flags 5.
      assert.deepEqual(
        lines.slice(1).map((l) => l.split(' ')[0]),
        ['BPF_MAP1', 'BPF_MAP2', 'BPF_MAP3', 'BPF_MAP4', 'BPF_MAP5'],
      );
      for (const l of lines.slice(1)) assert.match(l, / anon_inode:bpf-map$/);
      assert.ok(!existsSync(sock), 'the importer removed its socket file');
    } finally {
      imp.kill();
      pair.resetA();
      clearPins();
    }
  });
});

test('hand-over: an agent run by bpfkit tc exec bpf imp updates a map through its fd and the classifier follows', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'tc', 'bpftool', 'nsenter'] }) || !ready) return;
  await withMachineLock(LOCK, async () => {
    const sock = join(scratch, 'imp-bpfkit.sock');
    // The agent: BPF_MAP1 is map_class; writing 0x10002 there sends every packet to class 1:2.
    const agent = `const { mapFromFd } = await import(${JSON.stringify(kernelApi)});
const m = mapFromFd(Number(process.env.BPF_MAP1));
const v = new Uint8Array(4); new DataView(v.buffer).setUint32(0, 0x10002, true);
m.update(new Uint8Array(4), v);
console.log('agent: class 1:2 through fd ' + process.env.BPF_MAP1 + ' of ' + process.env.BPF_NUM_MAPS);`;
    const [cmd, ...pre] = pair.enter('A');
    const imp = spawn(cmd!, [
      ...pre,
      process.execPath,
      bpfkitBin,
      'tc',
      'exec',
      'bpf',
      'imp',
      sock,
      'run',
      process.execPath,
      '--input-type=module',
      '-e',
      agent,
    ]);
    const output = collect(imp);
    try {
      clearPins();
      pair.resetA();
      pair.htbWithClasses();
      await waitUntil('bpfkit tc exec bpf imp to bind its socket', () => existsSync(sock), 10_000);
      pair.ok('A', 'filter', 'add', 'dev', 'v0', 'parent', '1:', 'bpf', 'obj', legacy, 'flowid', '1:1', 'export', sock);
      assert.equal(await exited(imp), 0, output());
      assert.match(output(), /agent: class 1:2 through fd 3 of 5/);
      const before = pair.classPackets('1:2');
      pair.sendUdp(20);
      await waitUntil('HTB class 1:2 to count 20 packets', () => pair.classPackets('1:2') >= before + 20, 10_000);
      // map_seen (PIN_OBJECT_NS) counted them in the object's own pin directory.
      const seen = JSON.parse(
        execFileSync('bpftool', ['-j', 'map', 'lookup', 'pinned', SEEN_PIN, 'key', '0', '0', '0', '0'], {
          encoding: 'utf8',
        }),
      ) as { value: string[] };
      const count = Buffer.from(seen.value.map((b) => Number(b))).readBigUInt64LE();
      assert.ok(count >= 20n, `map_seen = ${count}`);
    } finally {
      imp.kill();
      pair.resetA();
      clearPins();
    }
  });
});

test('hand-over refusals: no importer, an object without maps, a stray socket path; nothing installed or pinned', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'tc', 'nsenter'] }) || !ready) return;
  await withMachineLock(LOCK, async () => {
    try {
      clearPins();
      pair.resetA();
      pair.ok('A', 'qdisc', 'add', 'dev', 'v0', 'clsact');
      const nobody = join(scratch, 'nobody.sock');
      let r = pair.bpfkit('A', 'tc', 'filter', 'add', 'dev', 'v0', 'ingress', 'bpf', 'obj', legacy, 'export', nobody);
      assert.equal(r.status, 1, r.err);
      assert.match(r.err, /cannot connect to .*nobody\.sock: ENOENT/);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.equal(pair.tc('A', 'filter', 'show', 'dev', 'v0', 'ingress'), '');
      assert.ok(!existsSync(SEEN_PIN) && !existsSync(FLAGS_PIN), 'the pins this load made are gone');
      r = pair.bpfkit(
        'A',
        'tc',
        'filter',
        'add',
        'dev',
        'v0',
        'ingress',
        'bpf',
        'bytecode',
        '1,6 0 0 0,',
        'export',
        nobody,
      );
      assert.equal(r.status, 2, r.err);
      r = pair.bpfkit('A', 'tc', 'exec', 'bpf', 'imp');
      assert.equal(r.status, 2, r.err);
      assert.match(r.err, /'imp' needs a socket path/);
      writeFileSync(nobody, '');
      r = pair.bpfkit('A', 'tc', 'exec', 'bpf', 'imp', nobody);
      assert.equal(r.status, 1, r.err);
      assert.match(r.err, /cannot bind .*EADDRINUSE \(the file exists: remove it first\)/);
    } finally {
      pair.resetA();
      clearPins();
    }
  });
});

test('SIGINT while tc exec bpf imp waits: exit 130, the socket file removed', async (t) => {
  if (!needs(t, { root: true, tools: ['nsenter'] }) || !ready) return;
  const sock = join(scratch, 'sigint.sock');
  const imp = spawn(process.execPath, [bpfkitBin, 'tc', 'exec', 'bpf', 'imp', sock]);
  const output = collect(imp);
  await waitUntil('the importer to bind its socket', () => existsSync(sock), 10_000);
  imp.kill('SIGINT');
  assert.equal(await exited(imp), 130, output());
  assert.match(output(), /interrupted \(SIGINT\) while waiting at/);
  assert.ok(!existsSync(sock));
});

function progMapIds(id: number): number[] {
  return (
    JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(id)], { encoding: 'utf8' })) as {
      map_ids: number[];
    }
  ).map_ids;
}

function mapShow(args: string[]): { id: number; name: string; type: string } {
  return JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', ...args], { encoding: 'utf8' })) as {
    id: number;
    name: string;
    type: string;
  };
}

test('legacy maps: PIN_OBJECT_NS shared by two filters, id/inner_id map of maps, flags in the pinned-map check', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'tc', 'bpftool', 'nsenter'] }) || !ready) return;
  await withMachineLock(LOCK, async () => {
    try {
      clearPins();
      pair.resetA();
      pair.ok('A', 'qdisc', 'add', 'dev', 'v0', 'clsact');
      pair.ok('A', 'filter', 'add', 'dev', 'v0', 'ingress', 'prio', '1', 'bpf', 'obj', legacy, 'da');
      pair.ok('A', 'filter', 'add', 'dev', 'v0', 'ingress', 'prio', '2', 'bpf', 'obj', legacy, 'da');
      pair.ok('A', 'filter', 'add', 'dev', 'v0', 'ingress', 'prio', '3', 'bpf', 'obj', legacy, 'sec', 'inner', 'da');
      const shown = pair.tc('A', 'filter', 'show', 'dev', 'v0', 'ingress');
      assert.equal(pair.ok('A', 'filter', 'show', 'dev', 'v0', 'ingress'), shown);
      const ids = [...shown.matchAll(/ id (\d+) /g)].map((m) => Number(m[1]));
      assert.equal(ids.length, 3);
      // PIN_OBJECT_NS: /sys/fs/bpf/tc/<sha1 of the object>/map_seen, one map for both classifiers.
      const seen = mapShow(['pinned', SEEN_PIN]);
      assert.ok(progMapIds(ids[0]!).includes(seen.id) && progMapIds(ids[1]!).includes(seen.id));
      // PIN_GLOBAL_NS with its flags (BPF_F_NO_PREALLOC).
      const flagsMap = JSON.parse(
        execFileSync('bpftool', ['-j', 'map', 'show', 'pinned', FLAGS_PIN], { encoding: 'utf8' }),
      ) as { flags: number; type: string };
      assert.deepEqual([flagsMap.type, flagsMap.flags], ['hash', 1]);
      // map_outer (inner_id 3) holds map_inner (id 3) at inner_idx 0.
      const maps = progMapIds(ids[2]!).map((id) => mapShow(['id', String(id)]));
      const outer = maps.find((m) => m.type === 'array_of_maps');
      assert.ok(outer, JSON.stringify(maps));
      const slot = JSON.parse(
        execFileSync('bpftool', ['-j', 'map', 'lookup', 'id', String(outer.id), 'key', '0', '0', '0', '0'], {
          encoding: 'utf8',
        }),
      ) as { value: number | string[] };
      const innerId =
        typeof slot.value === 'number' ? slot.value : Buffer.from(slot.value.map((b) => Number(b))).readUInt32LE();
      assert.equal(mapShow(['id', String(innerId)]).name, 'map_inner');

      // The same global map pinned without BPF_F_NO_PREALLOC: refused in one line, nothing installed.
      pair.ok('A', 'filter', 'del', 'dev', 'v0', 'ingress');
      clearPins();
      execFileSync('bpftool', [
        'map',
        'create',
        FLAGS_PIN,
        'type',
        'hash',
        'key',
        '4',
        'value',
        '4',
        'entries',
        '8',
        'name',
        'bpfkit_tc_flags',
      ]);
      const r = pair.bpfkit(
        'A',
        'tc',
        'filter',
        'add',
        'dev',
        'v0',
        'ingress',
        'bpf',
        'obj',
        legacy,
        'sec',
        'inner',
        'da',
      );
      assert.equal(r.status, 3, r.err);
      assert.match(
        r.err,
        /map pinned at \/sys\/fs\/bpf\/tc\/globals\/bpfkit_tc_flags does not match .*flags 0x0 != 0x1/,
      );
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.equal(pair.tc('A', 'filter', 'show', 'dev', 'v0', 'ingress'), '');
      assert.ok(!existsSync(SEEN_PIN), 'no pin of the failed load stays');
    } finally {
      pair.resetA();
      clearPins();
    }
  });
});

function tcpInCsumErrors(): number {
  const snmp = pair.run('B', 'cat', '/proc/net/snmp').split('\n');
  const head = snmp.find((l) => l.startsWith('Tcp: RtoAlgorithm'))!.split(/\s+/);
  const values = snmp.filter((l) => l.startsWith('Tcp: '))[1]!.split(/\s+/);
  return Number(values[head.indexOf('InCsumErrors')]);
}

test("the man page's port-80 demultiplexer: B's TCP stack answers from 8080 with the checksum fixed up", async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'tc', 'tcpdump', 'ethtool', 'nsenter'] }) || !ready) return;
  // Loading the object pins its PIN_OBJECT_NS and PIN_GLOBAL_NS maps: one user at a time, removed after.
  await withMachineLock(LOCK, () => demux());
});

async function demux(): Promise<void> {
  // Full checksums on the wire and checked on receipt: A computes them (no offload), B verifies them.
  pair.run('A', 'ethtool', '-K', 'v0', 'tx', 'off');
  pair.run('B', 'ethtool', '-K', 'v1', 'rx', 'off');
  pair.ok('B', 'qdisc', 'add', 'dev', 'v1', 'handle', 'ffff:', 'ingress');
  pair.ok('B', 'filter', 'add', 'dev', 'v1', 'parent', 'ffff:', 'bpf', 'obj', legacy, 'sec', 'lb');
  assert.match(pair.tc('B', 'filter', 'show', 'dev', 'v1', 'parent', 'ffff:'), /tc-legacy\.o:\[lb\] .*name lb_main/);
  const [cmd, ...pre] = pair.enter('B');
  // B's answers to A's SYNs for port 80: a SYN-ACK or RST from 8080..8087 means the rewritten segment
  // reached B's TCP stack and passed its checksum test (a bad checksum is dropped without an answer).
  const dump = spawn(cmd!, [
    ...pre,
    'tcpdump',
    '-i',
    'v1',
    '-n',
    '-l',
    '-vv',
    '-c',
    '1',
    'tcp and src portrange 8080-8087',
  ]);
  const text = collect(dump);
  const errorsBefore = tcpInCsumErrors();
  const [acmd, ...apre] = pair.enter('A');
  let connector: ChildProcess | undefined;
  try {
    await stderrLine(dump, /listening on v1/, 'tcpdump on v1');
    const script = `const s=require('net').connect(80,'${pair.net}.2');s.on('error',()=>{});setTimeout(()=>process.exit(0),8000);`;
    connector = spawn(acmd!, [...apre, process.execPath, '-e', script], { stdio: 'ignore' });
    assert.equal(await exited(dump), 0, text());
    assert.match(
      text(),
      new RegExp(
        `${pair.net.replace(/\./g, '\\.')}\\.2\\.808[0-7] > ${pair.net.replace(/\./g, '\\.')}\\.1\\.\\d+: Flags \\[R\\.\\]`,
      ),
    );
    assert.doesNotMatch(text(), /incorrect/);
    assert.equal(tcpInCsumErrors(), errorsBefore, 'B counted no TCP checksum error');
  } finally {
    connector?.kill();
    dump.kill();
    pair.run('B', 'tc', 'qdisc', 'del', 'dev', 'v1', 'ingress');
    clearPins();
  }
}

test('classic classifiers from tcpdump -ddd and from bpf_asm source steer UDP into HTB classes', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'tc', 'tcpdump', 'nsenter'] }) || !ready) return;
  pair.resetA();
  try {
    pair.htbWithClasses();
    // tcpdump's program returns its snap length for a match; cls_bpf takes a return value as the class
    // id, so -s 65538 (0x10002) makes its matches land in class 1:2.
    const ddd = pair.run('A', 'tcpdump', '-i', 'v0', '-s', '65538', '-ddd', 'udp dst port 9');
    const bytecode = ddd.trim().split('\n').join(',');
    pair.ok(
      'A',
      'filter',
      'add',
      'dev',
      'v0',
      'parent',
      '1:',
      'prio',
      '1',
      'bpf',
      'bytecode',
      bytecode,
      'flowid',
      '1:1',
    );
    // The man page's bpf_asm toy, for UDP to port 7 and class 1:3, assembled by bpfkit into a bytecode file.
    const asm = join(scratch, 'udp7.asm');
    writeFileSync(
      asm,
      'ldh [12]\njne #0x800, drop\nldb [23]\njneq #17, drop\nldxb 4*([14]&0xf)\nldh [x + 16]\njneq #7, drop\nret #0x10003\ndrop: ret #0\n',
    );
    const file = join(scratch, 'udp7.bc');
    const assembled = execFileSync(process.execPath, [bpfkitBin, 'cbpf', 'asm', asm], { encoding: 'utf8' });
    writeFileSync(file, assembled);
    pair.ok(
      'A',
      'filter',
      'add',
      'dev',
      'v0',
      'parent',
      '1:',
      'prio',
      '2',
      'bpf',
      'bytecode-file',
      file,
      'flowid',
      '1:1',
    );
    const shown = pair.tc('A', 'filter', 'show', 'dev', 'v0', 'parent', '1:');
    assert.equal(pair.ok('A', 'filter', 'show', 'dev', 'v0', 'parent', '1:'), shown);
    assert.ok(shown.includes(`bytecode '${bytecode.replace(/,$/, '')}'`), shown);
    assert.ok(shown.includes(`bytecode '${assembled.trim().replace(/,$/, '')}'`), shown);

    const [two, three] = [pair.classPackets('1:2'), pair.classPackets('1:3')];
    pair.sendUdp(20, 9);
    pair.sendUdp(15, 7);
    await waitUntil(
      'class 1:2 to count 20 and 1:3 to count 15',
      () => {
        return pair.classPackets('1:2') >= two + 20 && pair.classPackets('1:3') >= three + 15;
      },
      10_000,
    );
    assert.equal(pair.classPackets('1:2'), two + 20, 'only port 9 went to 1:2');
    assert.equal(pair.classPackets('1:3'), three + 15, 'only port 7 went to 1:3');
  } finally {
    pair.resetA();
  }
});

test('tc -batch: commands run in order, the first failure stops the batch naming its line, -force goes on', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'tc', 'nsenter'] }) || !ready) return;
  pair.resetA();
  try {
    const file = join(scratch, 'cmds.batch');
    writeFileSync(
      file,
      [
        '# clsact and two classic filters',
        'qdisc add dev v0 clsact',
        'filter add dev v0 ingress prio 1 bpf bytecode "1,6 0 0 4294967295,"',
        'filter add dev v0 ingress prio 2 bpf bytecode "1,6 0 0 4294967295," flowid 1:1',
        'filter add dev nosuch ingress prio 3 bpf bytecode "1,6 0 0 0,"',
        'filter add dev v0 ingress prio 4 bpf bytecode "1,6 0 0 0,"',
        '',
      ].join('\n'),
    );
    let r = pair.bpfkit('A', 'tc', '-batch', file);
    assert.equal(r.status, 2, r.err);
    assert.match(r.err, /cmds\.batch:5: dev: cannot find device "nosuch"/);
    const prefs = () =>
      [...pair.tc('A', 'filter', 'show', 'dev', 'v0', 'ingress').matchAll(/pref (\d+) bpf chain 0 handle/g)].map(
        (m) => m[1],
      );
    assert.deepEqual(prefs(), ['1', '2']);
    pair.resetA();
    r = pair.bpfkit('A', 'tc', '-force', '-batch', file);
    assert.equal(r.status, 2, r.err);
    assert.deepEqual(prefs(), ['1', '2', '4']);
    // What tc's own batch shows is what bpfkit's show prints.
    assert.equal(
      pair.ok('A', 'filter', 'show', 'dev', 'v0', 'ingress'),
      pair.tc('A', 'filter', 'show', 'dev', 'v0', 'ingress'),
    );
  } finally {
    pair.resetA();
  }
});
