/**
 * BPF objects inside another file, as a libbpf skeleton embeds one in a tool's executable
 * (src/elf/embedded.ts), and `bpfkit verify` on such an executable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfObjectsIn, elfMachine, findEmbeddedObjects } from '../../src/elf/embedded.js';
import { parseObject } from '../../src/elf/object.js';

const little = readFileSync('test/fixtures/elf/basic.o');
const big = readFileSync('test/fixtures/elf/basic-be.o');

/** An ELF64 header for x86-64 (e_machine 62) with no sections: the host executable's own header. */
function hostHeader(): Buffer {
  const h = Buffer.alloc(64);
  h.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  h.writeUInt16LE(2, 16); // ET_EXEC
  h.writeUInt16LE(62, 18); // EM_X86_64
  return h;
}

/** A host file: its header, a decoy `\x7fELF` that is no object, both fixtures, and bytes between. */
function host(): { bytes: Buffer; at: number[] } {
  const decoy = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0]);
  const parts = [
    hostHeader(),
    Buffer.alloc(37, 0xaa),
    decoy,
    Buffer.alloc(21),
    little,
    Buffer.alloc(13, 7),
    big,
    Buffer.alloc(5),
  ];
  const at: number[] = [];
  let off = 0;
  for (const p of parts) {
    if (p === little || p === big) at.push(off);
    off += p.length;
  }
  return { bytes: Buffer.concat(parts), at };
}

test('findEmbeddedObjects finds each EM_BPF object in either byte order, whole, and nothing else', () => {
  const { bytes, at } = host();
  const found = findEmbeddedObjects(bytes);
  assert.deepEqual(found, [
    { offset: at[0], length: little.length },
    { offset: at[1], length: big.length },
  ]);
  for (const o of found) {
    const spec = parseObject(bytes.subarray(o.offset, o.offset + o.length), { path: 'embedded' });
    assert.deepEqual(
      spec.programs.map((p) => p.name),
      ['count_len', 'count_proto', 'pass_all'],
    );
  }
  // An object whose sections run past the end of the file is not one.
  assert.deepEqual(findEmbeddedObjects(bytes.subarray(0, at[1]! + big.length - 1)), found.slice(0, 1));
  // A file that is an object is read as itself, not as holding one.
  assert.deepEqual(findEmbeddedObjects(little), []);
  assert.deepEqual(bpfObjectsIn(little), [{ offset: 0, length: little.length }]);
  assert.deepEqual(bpfObjectsIn(big), [{ offset: 0, length: big.length }]);
  assert.deepEqual(bpfObjectsIn(bytes), found);
  assert.equal(elfMachine(bytes), 62);
  assert.equal(elfMachine(new Uint8Array(8)), undefined);
});

function bpfkit(...args: string[]) {
  return spawnSync(process.execPath, ['bin/bpfkit.js', ...args], { encoding: 'utf8' });
}

test('bpfkit verify on an executable judges the BPF objects embedded in it', () => {
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-embedded-${process.pid}-`));
  try {
    const { bytes, at } = host();
    const tool = join(dir, 'tool');
    writeFileSync(tool, bytes);
    const r = bpfkit('verify', tool);
    assert.equal(r.status, 0, r.stderr);
    const [a, b] = at.map((o) => `0x${o.toString(16)}`);
    assert.equal(
      r.stdout,
      `${tool}: 2 BPF objects embedded (libbpf skeleton) at ${a}, ${b}\n` +
        [a, b].flatMap((o) => ['count_len', 'count_proto', 'pass_all'].map((p) => `${o}/${p}: accepted\n`)).join(''),
    );
    const one = bpfkit('verify', tool, '--program', 'pass_all');
    assert.match(one.stdout, new RegExp(`^${a}/pass_all: accepted\\n${b}/pass_all: accepted\\n`, 'm'));
    // An ELF for another machine with no object in it: one line, input error.
    const plain = join(dir, 'plain');
    writeFileSync(plain, hostHeader());
    const none = bpfkit('verify', plain);
    assert.equal(none.status, 2);
    assert.equal(
      none.stderr,
      `bpfkit verify: ${plain}: an ELF file for machine 62 with no BPF object in it (not EM_BPF 247, and no embedded one as a libbpf skeleton holds)\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('forged headers that all point at one long section table cost a bounded scan', () => {
  // 4 MiB of EM_BPF headers, each claiming the 65,535 sections of one table at the end whose last section
  // runs past the file: every candidate would read the whole table.
  const size = 4 << 20;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  const tableAt = size - 65_535 * 64;
  for (let i = 64; i + 64 <= tableAt; i += 64) {
    b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], i);
    v.setUint16(i + 18, 247, true);
    v.setBigUint64(i + 40, BigInt(tableAt - i), true);
    v.setUint16(i + 58, 64, true);
    v.setUint16(i + 60, 65_535, true);
  }
  v.setBigUint64(size - 64 + 24, BigInt(size), true);
  v.setBigUint64(size - 64 + 32, 1n, true);
  const t0 = process.cpuUsage();
  assert.deepEqual(findEmbeddedObjects(b), []);
  const { user, system } = process.cpuUsage(t0);
  // Unbounded, this is 49,000 candidates x 65,535 headers (minutes); bounded, a few reads of the table.
  assert.ok(user + system < 2_000_000, `${(user + system) / 1000} ms of CPU`);
});
