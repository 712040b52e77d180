// `bpfkit run --pcap` in the VM takes the per-packet entry (runPacketAt, the packet compared and copied
// out only when printed): its results are one run() per packet's, in JSON and in the text's
// "packet changed" lines — for a program run in place and one that rewrites packets, both socket views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { repoPath } from '../support/env.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { loadVmCollection } from '../../src/vm/collection.js';
import { openCapture } from '../../src/packet/capture-reader.js';

const bin = fileURLToPath(new URL('../../../bin/bpfkit.js', import.meta.url));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('run --pcap (VM): the per-packet path prints what one run() per packet gives', async () => {
  const capture = repoPath('examples', 'captures', 'http-demo.pcap');
  for (const [name, prog] of [
    ['proto-count', 'count_protocols'],
    ['port-demux', 'lb_main'],
  ] as const) {
    const obj = repoPath('examples', name, `${name}.o`);
    for (const view of ['mac', 'network'] as const) {
      const p = loadVmCollection(loadObjectFile(obj), { socketView: view, execution: 'interpreter' }).program(prog);
      const ref: { retval: number; packet: string }[] = [];
      let changed = 0;
      const reader = await openCapture(capture);
      for await (const pk of reader) {
        const r = p.run({ data: pk.data });
        ref.push({ retval: r.retval >>> 0, packet: hex(r.data) });
        if (hex(r.data) !== hex(pk.data)) changed++;
      }
      await reader.close();
      const cli = (...flags: string[]) => {
        const r = spawnSync(
          process.execPath,
          [bin, 'run', obj, '--program', prog, '--pcap', capture, '--socket-view', view, '--no-verify', ...flags],
          { encoding: 'utf8' },
        );
        assert.equal(r.status, 0, r.stderr);
        return r.stdout;
      };
      assert.deepEqual((JSON.parse(cli('--json')) as { results: unknown }).results, ref, `${name} ${view}`);
      const lines = cli().split('\n');
      assert.equal(lines.filter((l) => l.startsWith('#')).length, ref.length);
      assert.equal(lines.filter((l) => l.includes('packet changed')).length, changed, `${name} ${view}`);
      if (name === 'port-demux') assert.ok(changed > 0, 'port-demux rewrites some packets');
    }
  }
});
