// A plain-ESM consumer of the installed package (no TypeScript): the pack test runs it in a scratch project
// outside the repository. It checks the root and subpath entries work and that nothing else is reachable.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assemble, disassemble, parseObject, loadCollection, readCapture, InputError } from 'bpfkit';
import { encodeProgram, decodeProgram } from 'bpfkit/isa';
import { parseObject as parseObjectFromElf } from 'bpfkit/elf';
import { loadVmCollection } from 'bpfkit/vm';
import { openCapture, frameOf } from 'bpfkit/packet';
import { buildPipeline } from 'bpfkit/http';
import { possibleCpus, interfaceIndex } from 'bpfkit/kernel';

// Round trip in the conformance syntax.
const text = ['mov %r0, 7', 'add %r0, 35', 'exit'];
assert.deepEqual(
  disassemble(decodeProgram(encodeProgram(assemble(text.join('\n'), { syntax: 'conformance' }))), {
    syntax: 'conformance',
  }),
  text,
);

// parseObject on bytes (the pure core), then the program in the VM through loadCollection.
const spec = parseObject(readFileSync('node_modules/bpfkit/examples/proto-count/proto-count.o'), {
  path: 'proto-count.o',
});
assert.equal(parseObjectFromElf, parseObject);
assert.deepEqual(
  spec.programs.map((p) => p.name),
  ['count_protocols'],
);
assert.ok(spec.maps.some((m) => m.name === 'proto_stats'));
const coll = await loadCollection(spec, { engine: 'vm' });
const { packets } = await readCapture('node_modules/bpfkit/examples/captures/http-demo.pcap');
for (const p of packets) coll.program('count_protocols').run({ data: p.data });
const key = new Uint8Array([6, 0, 0, 0]); // IPPROTO_TCP, little-endian u32
const tcp = coll.map('proto_stats').lookup(key);
assert.ok(tcp && new DataView(tcp.buffer, tcp.byteOffset).getBigUint64(0, true) > 0n);
coll.close();
assert.equal(typeof loadVmCollection, 'function');

// Streaming reader and a user error that is one clear line.
const reader = await openCapture('node_modules/bpfkit/examples/captures/http-demo.pcap');
assert.equal(await reader.forEachPacket(() => {}), packets.length);
await reader.close();
await assert.rejects(readCapture('no-such.pcap'), InputError);

// The URL sniffer as a library, on the bundled capture (its filter object ships in the package).
const records = [];
const built = await buildPipeline({
  mode: 'full',
  engine: 'vm',
  live: false,
  immediate: false,
  limits: { maxLine: 65536, maxHeaderLine: 16384 },
  maxFlows: 1000,
  idleTimeoutSec: 60,
  onRecord: (r) => records.push(r),
  onText: () => {},
});
for (const p of packets) built.pipeline.packet(frameOf(p.data, p.linktype, p.tsSec + p.tsNsec / 1e9));
built.pipeline.finish();
built.close();
const truth = readFileSync('node_modules/bpfkit/examples/captures/http-demo.truth.jsonl', 'utf8').trim().split('\n');
assert.equal(records.length, truth.length, 'one record per request of the ground truth');

// The kernel entry loads koffi and binds libc (no privilege needed for this call).
assert.ok(possibleCpus() >= 1);
if (process.platform === 'linux') assert.equal(interfaceIndex('lo'), 1);

// Only the exports map is reachable.
await assert.rejects(import('bpfkit/dist/src/index.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
await assert.rejects(import('bpfkit/vm/test-helpers'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });

console.log(`plain: ok (${packets.length} packets, ${records.length} requests)`);
