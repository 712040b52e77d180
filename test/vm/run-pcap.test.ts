// `bpfkit run --pcap` in the VM takes the per-packet entry (runPacketAt, the packet compared and copied
// out only when printed): its results are one run() per packet's, in JSON and in the text's
// "packet changed" lines — for a program run in place and one that rewrites packets, both socket views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { repoPath } from '../support/env.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { framesInPlace, loadVmCollection } from '../../src/vm/collection.js';
import { openCapture } from '../../src/packet/capture-reader.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VmProgram } from '../../src/vm/collection.js';
import { createCaptureWriter } from '../../src/packet/capture-writer.js';
import { readCapture } from '../../src/packet/read-capture.js';
import { recordFilter } from '../../src/packet/record-filter.js';
import { readInputs, runCapture } from '../../src/cli/commands/run.js';

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

/** The (label, retval, packet after) runCapture reports, and the error it ends with. */
async function viaRunCapture(
  prog: VmProgram,
  file: string,
  keep: ReturnType<typeof recordFilter> | undefined,
): Promise<{ rows: string[]; error: string | undefined }> {
  const rows: string[] = [];
  let error: string | undefined;
  try {
    await runCapture(file, prog, keep, (label, retval, changed, after) => {
      rows.push(`${label()} ${retval} ${changed() ? hex(after()) : '='}`);
    });
  } catch (err) {
    error = (err as Error).message;
  }
  return { rows, error };
}

/** The same from one run() per input of the general path (readInputs), in a collection of its own. */
async function viaRun(
  prog: VmProgram,
  file: string,
  keep: ReturnType<typeof recordFilter> | undefined,
): Promise<{ rows: string[]; error: string | undefined }> {
  const rows: string[] = [];
  let error: string | undefined;
  try {
    for await (const input of readInputs({ pcap: file }, keep)) {
      const r = prog.run({ data: input.data });
      const changed = hex(r.data) !== hex(input.data);
      rows.push(`${input.label} ${r.retval >>> 0} ${changed ? hex(r.data) : '='}`);
    }
  } catch (err) {
    error = (err as Error).message;
  }
  return { rows, error };
}

test('runCapture over reader batches: whole Ethernet batches, mixed link types, a filter and a corrupt record mid-chunk give what one run() per packet gives', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-runcap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const demo = await readCapture(repoPath('examples', 'captures', 'http-demo.pcap'));
  const eth = demo.packets.map((p) => p.data);
  // Ethernet only: two batches and more (4096 records each), 4.9 MB: several of runCapture's 1 MiB reads
  const many = join(dir, 'many.pcap');
  const w = createCaptureWriter(many);
  for (let i = 0; i < 9000; i++) w.write({ tsSec: i, tsNsec: 0, data: eth[i % eth.length]! });
  w.close();
  // Ethernet and Linux cooked (SLL2) interfaces interleaved: batches of mixed link types
  const mixed = join(dir, 'mixed.pcapng');
  const m = createCaptureWriter(mixed, { format: 'pcapng', noDefaultInterface: true });
  const e0 = m.addInterface({ linktype: 1 });
  const s1 = m.addInterface({ linktype: 276 });
  eth.forEach((f, i) => {
    if (i % 3 !== 1) return m.write({ tsSec: i, tsNsec: 0, data: f, interfaceId: e0 });
    const sll2 = new Uint8Array(20 + f.length - 14);
    sll2.set(f.subarray(12, 14), 0); // protocol
    sll2.set(f.subarray(14), 20);
    m.write({ tsSec: i, tsNsec: 0, data: sll2, interfaceId: s1 });
  });
  m.close();
  // a corrupt record header after 5000 good records
  const bytes = readFileSync(many);
  let at = 24;
  for (let i = 0; i < 5000; i++) at += 16 + bytes.readUInt32LE(at + 8);
  bytes.writeUInt32LE(0x7ffffff0, at + 8);
  const bad = join(dir, 'bad.pcap');
  writeFileSync(bad, bytes);

  const obj = repoPath('examples', 'port-demux', 'port-demux.o');
  const fresh = () => loadVmCollection(loadObjectFile(obj)).program('lb_main');
  const filter = recordFilter('tcp and dst port 80');
  // (a filter on the length on the wire: the batch must carry it when filtered, though runCapture
  // leaves it out otherwise — RecordBatch.wireLengths; first, so no earlier scan left it in the batch)
  const longer = recordFilter('greater 100');
  for (const [file, keep] of [
    [many, longer],
    [many, undefined],
    [mixed, undefined],
    [mixed, filter],
    [many, filter],
    [bad, undefined],
  ] as const) {
    const inPlace = framesInPlace.records;
    const got = await viaRunCapture(fresh(), file, keep);
    const want = await viaRun(fresh(), file, keep);
    const what = `${file}${keep ? ' (filtered)' : ''}`;
    // a whole Ethernet capture is read into linear memory and run where it lies (the path under test)
    // (all but the first, run on its own while the module compiles)
    if (file === many && keep === undefined) assert.ok(framesInPlace.records - inPlace >= 8990, what);
    assert.equal(got.rows.length, want.rows.length, what);
    assert.deepEqual(got, want, what);
    assert.ok(got.rows.length > 0, what);
    assert.ok(
      got.rows.some((r) => !r.endsWith(' =')),
      `${what}: port-demux rewrites some packets`,
    );
  }
  const b = await viaRunCapture(fresh(), bad, undefined);
  assert.equal(b.rows.length, 5000);
  assert.match(b.error!, new RegExp(`bad\\.pcap@${at}: pcap record: captured length`));
});
