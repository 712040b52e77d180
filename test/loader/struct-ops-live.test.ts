/**
 * struct_ops live: a small TCP congestion control in C (vmlinux.h, CO-RE), loaded and registered by
 * bpfkit — through KernelCollection.attachStructOps (`.struct_ops.link`) and through `bpfkit struct-ops
 * register` (`.struct_ops`) — checked with bpftool (the oracle: `struct_ops list`, `dump`) and the
 * kernel's list of congestion controls, then used: a TCP connection on the loopback of a namespace the
 * test creates picks it with setsockopt(TCP_CONGESTION) and moves 16 MiB while the counters its callbacks
 * bump go up. Unregistered, the name is gone. Also the kernel selftests' bpf_cubic.o and bpf_dctcp.o when
 * BPFKIT_SELFTESTS_OBJ names a directory of built selftests (they are not part of the repository), and
 * a type the kernel lacks (one line).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC } from '../../src/compile/index.js';
import { loadCollection } from '../../src/loader/load-collection.js';
import { parseObject } from '../../src/elf/object.js';
import { KernelCollection } from '../../src/kernel/collection.js';
import { BpfkitError } from '../../src/util/errors.js';
import { needs } from '../support/env.js';
import { waitUntil } from '../support/live-wait.js';
import { withMachineLock } from '../support/global-lock.js';
import { cliScript } from '../support/cli-script.js';
import { createNamespace, deleteNamespace } from '../kernel/helpers/netns.js';

const dir = mkdtempSync(path.join(os.tmpdir(), `bpfkit-struct-ops-${process.pid}-`));
process.env.BPFKIT_CACHE_DIR ??= path.join(dir, 'cache');
const namespaces: string[] = [];
after(() => {
  namespaces.forEach(deleteNamespace);
  rmSync(dir, { recursive: true, force: true });
});

/** Built kernel BPF selftests objects (optional, outside the repository): found through one setting. */
const SELFTESTS = process.env['BPFKIT_SELFTESTS_OBJ'];
const PORT = 21000 + (process.pid % 20000);
/** Congestion-control names are machine-wide: this run's carry its pid (at most 15 characters). */
const TAG = String(process.pid % 1_000_000);

/** A Reno-like congestion control; each callback counts its calls in `calls` (init, ssthresh, cong_avoid, undo). */
function ccSource(section: string, variable: string, name: string): string {
  return `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} calls SEC(".maps");

static void bump(__u32 k) {
  __u64 *v = bpf_map_lookup_elem(&calls, &k);
  if (v) __sync_fetch_and_add(v, 1);
}

/* struct_ops programs take their arguments as an array of u64; a struct sock * is a tcp_sock here. */
SEC("struct_ops/bk_init")
int bk_init(unsigned long long *ctx) { bump(0); return 0; }

SEC("struct_ops/bk_ssthresh")
__u32 bk_ssthresh(unsigned long long *ctx) {
  struct tcp_sock *tp = (struct tcp_sock *)ctx[0];
  bump(1);
  return tp->snd_cwnd > 4 ? tp->snd_cwnd / 2 : 2;
}

SEC("struct_ops/bk_cong_avoid")
void bk_cong_avoid(unsigned long long *ctx) {
  struct tcp_sock *tp = (struct tcp_sock *)ctx[0];
  bump(2);
  if (tp->snd_cwnd < tp->snd_cwnd_clamp) tp->snd_cwnd = tp->snd_cwnd + 1;
}

SEC("struct_ops/bk_undo_cwnd")
__u32 bk_undo_cwnd(unsigned long long *ctx) {
  struct tcp_sock *tp = (struct tcp_sock *)ctx[0];
  bump(3);
  return tp->snd_cwnd;
}

SEC("${section}")
struct tcp_congestion_ops ${variable} = {
  .init = (void *)bk_init,
  .ssthresh = (void *)bk_ssthresh,
  .cong_avoid = (void *)bk_cong_avoid,
  .undo_cwnd = (void *)bk_undo_cwnd,
  .name = "${name}",
};
`;
}

/** Client and server on the namespace's loopback; the client picks congestion control argv[1] and sends 16 MiB. */
const TRAFFIC = `
import json, socket, sys, threading
name, port = sys.argv[1], int(sys.argv[2])
c = socket.socket()
try:
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, name.encode())
except OSError as e:
    print(json.dumps({'error': e.errno})); sys.exit(0)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', port)); srv.listen(1)
c.connect(('127.0.0.1', port)); s, _ = srv.accept()
got = [0]
def rx():
    while True:
        d = s.recv(1 << 16)
        if not d: break
        got[0] += len(d)
t = threading.Thread(target=rx); t.start()
chunk = b'x' * (1 << 16)
for _ in range(256): c.sendall(chunk)
cc = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).split(b'\\0')[0].decode()
c.close(); t.join(); s.close(); srv.close()
print(json.dumps({'cc': cc, 'bytes': got[0]}))
`;

function traffic(ns: string, cc: string): { cc?: string; bytes?: number; error?: number } {
  const out = execFileSync('ip', ['netns', 'exec', ns, 'python3', '-c', TRAFFIC, cc, String(PORT)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out) as { cc?: string; bytes?: number; error?: number };
}

const available = () => readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim().split(/\s+/);

/** `bpftool struct_ops list`: map id → [map name, struct_ops type]. */
function bpftoolList(): Map<number, [string, string]> {
  const out = execFileSync('bpftool', ['struct_ops', 'list'], { encoding: 'utf8' });
  const m = new Map<number, [string, string]>();
  for (const line of out.split('\n')) {
    const f = /^(\d+): (\S+)\s+(\S+)/.exec(line);
    if (f) m.set(Number(f[1]), [f[2]!, f[3]!]);
  }
  return m;
}

/** `bpftool struct_ops dump id ID`: the kernel's value of the map (state, and data member by member). */
function bpftoolDump(id: number): { common: { state: string }; data: Record<string, unknown> } {
  // `dump id` prints its objects comma-separated, without the array `dump name` puts around them.
  const raw = execFileSync('bpftool', ['-j', 'struct_ops', 'dump', 'id', String(id)], { encoding: 'utf8' }).trim();
  const dump = JSON.parse(raw.startsWith('[') ? raw : `[${raw}]`) as Record<
    string,
    { common: { state: string }; data: Record<string, unknown> }
  >[];
  return dump.find((d) => 'bpf_struct_ops_tcp_congestion_ops' in d)!.bpf_struct_ops_tcp_congestion_ops!;
}

function counters(coll: KernelCollection): bigint[] {
  const calls = coll.map('calls');
  return [0, 1, 2, 3].map((k) => {
    const v = calls.lookup(new Uint8Array([k, 0, 0, 0]))!;
    return new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
  });
}

test('a TCP congestion control in C: registered through a link, listed by bpftool, used by a connection, gone when closed', async (t) => {
  if (!needs(t, { root: true, tools: ['clang', 'bpftool', 'python3', 'ip'] })) return;
  const name = `bkl_${TAG}`;
  const compiled = await compileC(ccSource('.struct_ops.link', 'bkcc', name), { filename: 'cc.bpf.c' });
  const ops = compiled.spec.maps.find((m) => m.name === 'bkcc')!;
  assert.equal(ops.structOps?.link, true);
  const coll = (await loadCollection(compiled.spec, { engine: 'kernel' })) as KernelCollection;
  try {
    assert.ok(!available().includes(name), 'loading alone registers nothing');
    const reg = coll.attachStructOps('bkcc');
    assert.ok(reg.link, 'a .struct_ops.link map gets a BPF link');
    assert.ok(available().includes(name), `${name} is a congestion control now`);
    const mapId = (await import('../../src/kernel/objects.js')).mapInfo(coll.map('bkcc').fd).id;
    assert.deepEqual(bpftoolList().get(mapId), ['bkcc', 'tcp_congestion_ops']);
    const value = bpftoolDump(mapId);
    // A link-based map stays READY: the link, not the map's state, holds the registration.
    assert.equal(value.common.state, 'BPF_STRUCT_OPS_STATE_READY');
    assert.equal(value.data.name, name);
    assert.match(String(value.data.cong_avoid), /bk_cong_avoid\/prog_id:\d+/);
    assert.match(String(value.data.cwnd_event), / 0$/, 'a member the object leaves out stays NULL');

    const ns = createNamespace('stops');
    namespaces.push(ns);
    const before = counters(coll);
    const r = traffic(ns, name);
    assert.deepEqual(r, { cc: name, bytes: 16 << 20 });
    const after = counters(coll);
    t.diagnostic(`calls init/ssthresh/cong_avoid/undo_cwnd: ${before.join('/')} -> ${after.join('/')}`);
    assert.ok(after[0]! > before[0]!, `init ran (${before[0]} -> ${after[0]})`);
    assert.ok(after[2]! > before[2]!, `cong_avoid ran (${before[2]} -> ${after[2]})`);

    reg.close();
    assert.ok(!available().includes(name), 'closing the link unregisters it');
    assert.equal(traffic(ns, name).error, 2, 'setsockopt(TCP_CONGESTION) now says ENOENT');
  } finally {
    coll.close();
  }
  await waitUntil('the struct_ops map to go', () => ![...bpftoolList().values()].some(([n]) => n === 'bkcc'));
});

test('bpfkit struct-ops register / list / unregister a .struct_ops map, against bpftool', async (t) => {
  if (!needs(t, { root: true, tools: ['clang', 'bpftool', 'python3', 'ip'] })) return;
  const name = `bkp_${TAG}`;
  const variable = `bkp_${TAG}`;
  const compiled = await compileC(ccSource('.struct_ops', variable, name), { filename: 'cc-plain.bpf.c' });
  const obj = path.join(dir, 'cc-plain.o');
  writeFileSync(obj, compiled.object);
  const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['-e', cliScript(mainJs), '--', 'struct-ops', ...args], { encoding: 'utf8' });
  try {
    const reg = cli('register', obj);
    assert.equal(reg.stderr, '');
    const m = /^Registered tcp_congestion_ops (\S+) id (\d+)\n$/.exec(reg.stdout);
    assert.ok(m, reg.stdout);
    assert.equal(m[1], variable);
    const id = Number(m[2]);
    // Registered after bpfkit exited: the kernel holds a plain struct_ops map.
    assert.ok(available().includes(name));
    assert.deepEqual(bpftoolList().get(id), [variable, 'tcp_congestion_ops']);
    const value = bpftoolDump(id);
    assert.equal(value.common.state, 'BPF_STRUCT_OPS_STATE_INUSE');
    assert.equal(value.data.name, name);
    const listed = cli('list');
    assert.ok(listed.stdout.split('\n').includes(`${id}: ${variable.padEnd(15)} tcp_congestion_ops`), listed.stdout);
    const mine = (json: string) => (JSON.parse(json) as { id: number }[]).find((e) => e.id === id);
    const oracle = mine(execFileSync('bpftool', ['-j', 'struct_ops', 'list'], { encoding: 'utf8' }));
    assert.deepEqual(mine(cli('list', '--json').stdout), oracle);
    assert.deepEqual(oracle, { id, name: variable, kernel_struct_ops: 'tcp_congestion_ops' });
    const ns = createNamespace('stopsp');
    namespaces.push(ns);
    assert.deepEqual(traffic(ns, name), { cc: name, bytes: 16 << 20 });
    const un = cli('unregister', 'name', variable);
    assert.equal(un.stdout, `Unregistered tcp_congestion_ops ${variable} id ${id}\n`);
    assert.ok(!available().includes(name));
    await waitUntil('the struct_ops map to go', () => !bpftoolList().has(id));
    const none = cli('unregister', 'name', variable);
    assert.equal(none.status, 2);
    assert.equal(none.stderr, `bpfkit struct-ops: no struct_ops map with name ${variable}\n`);
  } finally {
    if (available().includes(name)) execFileSync('bpftool', ['struct_ops', 'unregister', 'name', variable]);
  }
});

test("bpfkit struct-ops register OBJ LINKDIR pins a .struct_ops.link map's link; without LINKDIR it refuses in one line", async (t) => {
  if (!needs(t, { root: true, tools: ['clang', 'bpftool'] })) return;
  const name = `bkk_${TAG}`;
  const compiled = await compileC(ccSource('.struct_ops.link', 'bkk', name), { filename: 'cc-link.bpf.c' });
  const obj = path.join(dir, 'cc-link.o');
  writeFileSync(obj, compiled.object);
  const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['-e', cliScript(mainJs), '--', 'struct-ops', ...args], { encoding: 'utf8' });
  const refused = cli('register', obj);
  assert.equal(refused.status, 2);
  assert.match(
    refused.stderr,
    /^bpfkit struct-ops: .*'bkk' is a \.struct_ops\.link map, which unregisters when its link closes: give LINKDIR to pin it\n$/,
  );
  assert.ok(!available().includes(name), 'nothing was registered');
  const linkDir = `/sys/fs/bpf/bpfkit-test-struct-ops-${process.pid}`;
  try {
    const reg = cli('register', obj, linkDir);
    assert.equal(reg.stderr, '');
    assert.match(reg.stdout, /^Registered tcp_congestion_ops bkk map id \d+ link id \d+\n$/);
    assert.ok(existsSync(`${linkDir}/bkk`), 'the link is pinned');
    assert.ok(available().includes(name), 'registered after bpfkit exited, held by the pinned link');
  } finally {
    rmSync(linkDir, { recursive: true, force: true });
  }
  await waitUntil(`${name} to unregister once its pin is gone`, () => !available().includes(name));
});

test('bpfkit struct-ops: usage errors exit 2; an object without struct_ops maps exits 2 with one line', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['-e', cliScript(mainJs), '--', 'struct-ops', ...args], { encoding: 'utf8' });
  const src = path.join(dir, 'plain.c');
  const obj = path.join(dir, 'plain.o');
  writeFileSync(src, 'int f(void *ctx) __attribute__((section("socket"), used));\nint f(void *ctx) { return 0; }\n');
  execFileSync('clang', ['-O2', '-target', 'bpf', '-c', src, '-o', obj]);
  const none = cli('register', obj);
  assert.equal(none.status, 2);
  assert.equal(
    none.stderr,
    `bpfkit struct-ops: ${obj}: defines no struct_ops map (.struct_ops or .struct_ops.link variable)\n`,
  );
  for (const args of [[], ['register'], ['unregister', 'id'], ['unregister', 'id', 'x'], ['frob']]) {
    const r = cli(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '');
  }
});

test("the kernel selftests' bpf_cubic.o and bpf_dctcp.o register and carry a connection", async (t) => {
  if (!SELFTESTS || !existsSync(path.join(SELFTESTS, 'bpf_cubic.o'))) {
    t.skip('BPFKIT_SELFTESTS_OBJ names no directory of built kernel selftests (not part of the repository)');
    return;
  }
  if (!needs(t, { root: true, tools: ['bpftool', 'python3', 'ip'] })) return;
  // Their congestion-control names (bpf_cubic, bpf_dctcp) are machine-wide: one run at a time.
  await withMachineLock('struct-ops-selftests', async () => {
    const ns = createNamespace('stopss');
    namespaces.push(ns);
    for (const [file, map, cc] of [
      ['bpf_cubic.o', 'cubic', 'bpf_cubic'],
      ['bpf_dctcp.o', 'dctcp', 'bpf_dctcp'],
    ] as const) {
      const f = path.join(SELFTESTS, file);
      const coll = (await loadCollection(parseObject(readFileSync(f), { path: f }), {
        engine: 'kernel',
      })) as KernelCollection;
      try {
        coll.attachStructOps(map);
        assert.ok(available().includes(cc), `${cc} registered`);
        assert.deepEqual(traffic(ns, cc), { cc, bytes: 16 << 20 });
      } finally {
        coll.close();
      }
      assert.ok(!available().includes(cc), `${cc} unregistered on close`);
    }
  });
});

test('a struct_ops variable whose type the kernel lacks is refused in one line naming it', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    t.skip('the kernel publishes no BTF');
    return;
  }
  const compiled = await compileC(
    `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
struct bpfkit_no_such_ops { int (*go)(void); char name[16]; };
SEC("struct_ops/go") int go(unsigned long long *ctx) { return 0; }
SEC(".struct_ops") struct bpfkit_no_such_ops nope = { .go = (void *)go, .name = "nope" };
char LICENSE[] SEC("license") = "GPL";
`,
    { filename: 'no-such-ops.bpf.c' },
  );
  const err = await loadCollection(compiled.spec, { engine: 'kernel' }).then(
    () => assert.fail('loaded'),
    (e: unknown) => e as BpfkitError,
  );
  assert.ok(err instanceof BpfkitError);
  assert.equal(err.exitCode, 2);
  assert.match(
    err.message,
    /struct_ops map 'nope': the kernel's BTF \(vmlinux\) has no struct_ops type 'struct bpfkit_no_such_ops'/,
  );
  assert.ok(!err.message.includes('\n'));
});
