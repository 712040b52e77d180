import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { needs, repoPath } from '../support/env.js';
import { createNamespace, deleteNamespace } from './helpers/netns.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { loadKernelCollection } from '../../src/kernel/collection.js';
import { closeAll, liveCount } from '../../src/kernel/lifecycle.js';
import { PacketSocket } from '../../src/kernel/packet-socket.js';
import { readdirSync } from 'node:fs';
import { bpftoolIds } from './helpers/bpftool-show.js';

const child = fileURLToPath(new URL('./helpers/lifecycle-child.js', import.meta.url));
const hooks = repoPath('test', 'fixtures', 'kernel', 'hooks.o');
const namespaces: string[] = [];
after(() => namespaces.forEach(deleteNamespace));

const ids = bpftoolIds;

function runUntilSignal(
  signal: NodeJS.Signals,
  ns?: string,
): Promise<{ ids: number[]; links: number[]; exit: string | number | null }> {
  return new Promise((resolve, reject) => {
    const args = [child, hooks, ...(ns ? ['--link'] : [])];
    const p = ns ? spawn('ip', ['netns', 'exec', ns, process.execPath, ...args]) : spawn(process.execPath, args);
    let out = '';
    let err = '';
    let seen: { ids: number[]; links: number[] } | undefined;
    p.stderr.on('data', (d) => (err += d));
    p.stdout.on('data', (d) => {
      out += d;
      if (!seen && out.includes('\n')) {
        seen = JSON.parse(out.split('\n')[0]!);
        // Everything is loaded (and attached) while the process lives...
        const progs = ids('prog');
        if (!seen!.ids.every((id) => progs.includes(id)))
          reject(new Error('programs not visible while the child runs'));
        if (!seen!.links.every((id) => ids('link').includes(id)))
          reject(new Error('link not visible while the child runs'));
        p.kill(signal);
      }
    });
    p.on('close', (code, sig) =>
      seen ? resolve({ ...seen, exit: sig ?? code }) : reject(new Error(`child failed: ${err}`)),
    );
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal}: the registry closes every program (and link) and the signal still ends the process`, async (t) => {
    if (!needs(t, { root: true, tools: ['bpftool', 'ip'] })) return;
    const ns = createNamespace(`lc${signal.toLowerCase()}`);
    namespaces.push(ns);
    const r = await runUntilSignal(signal, ns);
    assert.equal(r.ids.length, 3);
    assert.equal(r.links.length, 1);
    // ip netns exec forwards the signal's death as exit status 128+n or the signal itself.
    assert.ok(r.exit === signal || r.exit === 128 + (signal === 'SIGINT' ? 2 : 15), `exit ${r.exit}`);
    const progs = ids('prog');
    assert.deepEqual(
      r.ids.filter((id) => progs.includes(id)),
      [],
    );
    const links = ids('link');
    assert.deepEqual(
      r.links.filter((id) => links.includes(id)),
      [],
    );
  });
}

test('closeAll() closes collections and packet sockets; the fd count returns to where it was', (t) => {
  if (!needs(t, { root: true })) return;
  const fds = readdirSync('/proc/self/fd').length;
  const before = liveCount();
  const a = loadKernelCollection(loadObjectFile(hooks));
  const b = loadKernelCollection(loadObjectFile(hooks));
  const sock = PacketSocket.open();
  assert.ok(liveCount() > before);
  assert.ok(readdirSync('/proc/self/fd').length > fds);
  closeAll();
  assert.equal(liveCount(), 0);
  assert.equal(readdirSync('/proc/self/fd').length, fds);
  a.close(); // closing twice is harmless
  b.close();
  sock.close();
});
