/**
 * Thousands of random valid programs (helpers/random-program.ts) on both engines: the kernel (JIT, via
 * BPF_PROG_TEST_RUN) and the VM must leave the same registers and stack bytes in the packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needs } from '../support/env.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { loadCollection } from '../../src/loader/index.js';
import { loadKernelCollection } from '../../src/kernel/collection.js';
import { VerifierError } from '../../src/kernel/errors.js';
import { disassemble } from '../../src/asm/disassemble.js';
import { ProgType } from '../../src/uapi/types.js';
import { PACKET_BYTES, randomProgram, type GeneratedProgram } from './helpers/random-program.js';

const TOTAL = Number(process.env.BPFKIT_RANDOM_PROGRAMS ?? 2000); // every other one with subprogram calls
const CHUNK = 200;
const BASE_SEED = Number(process.env.BPFKIT_RANDOM_SEED ?? 20261123);

function specOf(progs: GeneratedProgram[]): ObjectSpec {
  return {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [],
    programs: progs.map((p) => ({
      name: `r${p.seed}`,
      section: 'xdp',
      type: ProgType.XDP,
      insns: p.insns,
      mapRefs: [],
      license: 'GPL',
      kernelVersion: 0,
    })),
  };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function describeState(b: Uint8Array): string {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const regs = Array.from({ length: 10 }, (_, i) => `r${i}=0x${dv.getBigUint64(i * 8, true).toString(16)}`);
  return `${regs.join(' ')}\nstack ${hex(b.subarray(80, 144))}`;
}

test(`${TOTAL} random valid programs: the VM and the kernel end in the same state`, async (t) => {
  if (!needs(t, { root: true })) return;
  const packet = Uint8Array.from({ length: PACKET_BYTES }, (_, i) => (i * 7 + 3) & 0xff);
  let compared = 0;
  for (let start = 0; start < TOTAL; start += CHUNK) {
    const progs = Array.from({ length: Math.min(CHUNK, TOTAL - start) }, (_, i) =>
      randomProgram(BASE_SEED + start + i, 30 + ((start + i) % 40), (start + i) % 2 === 1),
    );
    const spec = specOf(progs);
    let kernel;
    try {
      kernel = loadKernelCollection(spec);
    } catch (err) {
      if (err instanceof VerifierError) {
        const bad = progs.find((p) => `r${p.seed}` === err.program)!;
        assert.fail(
          `the verifier refused generated program seed ${bad.seed} (a generator bug):\n${err.log.split('\n').slice(-8).join('\n')}\n${disassemble(bad.insns).join('\n')}`,
        );
      }
      throw err;
    }
    const vm = await loadCollection(spec, { engine: 'vm' });
    try {
      for (const p of progs) {
        const name = `r${p.seed}`;
        const k = kernel.program(name).run({ data: packet });
        const v = vm.program(name).run({ data: packet });
        if (k.retval !== v.retval || hex(k.data) !== hex(v.data)) {
          assert.fail(
            `engines differ on seed ${p.seed} (rerun with BPFKIT_RANDOM_SEED=${p.seed} BPFKIT_RANDOM_PROGRAMS=1):\n` +
              `program:\n${disassemble(p.insns)
                .map((l, i) => `${String(i).padStart(3)}: ${l}`)
                .join('\n')}\n` +
              `kernel retval ${k.retval}\n${describeState(k.data)}\nvm retval ${v.retval}\n${describeState(v.data)}`,
          );
        }
        compared++;
      }
    } finally {
      kernel.close();
      vm.close();
    }
  }
  assert.equal(compared, TOTAL);
  t.diagnostic(`${compared} random programs gave identical registers and stack on both engines`);
});
