// A TypeScript consumer of the installed package: the pack test copies this file into a scratch project
// outside the repository, type-checks it with tsc (NodeNext) and runs the output. It is not part of the
// repository's build (tsconfig includes *.ts only), since it imports the package by name.
import assert from 'node:assert/strict';
import {
  assemble,
  disassemble,
  loadObjectFile,
  loadCollection,
  readCapture,
  type Collection,
  type Instruction,
  type RunResult,
} from 'bpfkit';
import { encodeProgram, decodeProgram, BPF_EXIT, BPF_JMP } from 'bpfkit/isa';
import { formatLlvm } from 'bpfkit/asm';
import { Vm, type VmRunResult } from 'bpfkit/vm';
import { PacketView, IPPROTO } from 'bpfkit/packet';
import { UpdateFlag } from 'bpfkit/engine';
import { assembleBpfAsm, checkClassic, prepareClassic, runClassic, formatBytecode } from 'bpfkit/cbpf';

// Assemble, encode, decode and disassemble: the text comes back.
const insns: Instruction[] = assemble('r0 = 42\nexit', { syntax: 'llvm' });
const bytes: Uint8Array = encodeProgram(insns, 'little');
assert.equal(bytes.length, 16);
const decoded = decodeProgram(bytes);
assert.deepEqual(disassemble(decoded, { syntax: 'llvm' }), ['r0 = 42', 'exit']);
assert.equal(decoded[1]!.code, BPF_JMP | BPF_EXIT);
assert.equal(formatLlvm(decoded[0]!), 'r0 = 42');

// The bare VM runs the bytes.
const vm = new Vm();
const res: VmRunResult = vm.runOnMemory(vm.load(decoded, { name: 'answer' }), new Uint8Array(4));
assert.equal(res.r0, 42n);

// An object shipped with the package, loaded into the VM and run on every IPv4 frame of a bundled capture.
const spec = loadObjectFile('node_modules/bpfkit/examples/proto-count/proto-count.o');
const coll: Collection = await loadCollection(spec, { engine: 'vm' });
const capture = await readCapture('node_modules/bpfkit/examples/captures/http-demo.pcap');
const view = new PacketView();
let tcpFrames = 0;
for (const p of capture.packets) {
  const r: RunResult = coll.program('count_protocols').run({ data: p.data });
  assert.equal(r.retval, 0);
  view.decode(p.data, p.linktype, 0, p.data.length);
  if (view.ipVersion === 4 && view.proto === IPPROTO.TCP) tcpFrames++;
}
const key = new Uint8Array(4);
new DataView(key.buffer).setUint32(0, IPPROTO.TCP, true);
const counters = coll.map('proto_stats').lookup(key);
assert.ok(counters, 'proto_stats has a TCP slot');
assert.ok(tcpFrames > 0, 'the capture has IPv4 TCP frames');
assert.equal(new DataView(counters.buffer, counters.byteOffset).getBigUint64(0, true), BigInt(tcpFrames));
assert.equal(UpdateFlag.NOEXIST, 1);
coll.close();

// Classic BPF: the tc-bpf(8) toy filter (IPv4 only) assembled, checked, printed as tc bytecode and run.
const ipv4Only = assembleBpfAsm('ldh [12]\njne #0x800, drop\nret #-1\ndrop: ret #0\n');
assert.equal(checkClassic(ipv4Only), undefined);
assert.equal(formatBytecode(ipv4Only), '4,40 0 0 12,21 0 1 2048,6 0 0 4294967295,6 0 0 0,'); // bpf_asm's form, trailing comma included
const ethernetIpv4 = new Uint8Array(64);
ethernetIpv4[12] = 0x08;
assert.equal(runClassic(prepareClassic(ipv4Only), ethernetIpv4).retval, 0xffffffff);

console.log(`typed: ok (${capture.packets.length} packets, ${tcpFrames} IPv4 TCP)`);
