/**
 * Every object in the repository (examples, app filters, test fixtures) that both engines load: each
 * packet program runs on the same frames in the VM and in the kernel; return values, packets after the
 * run and the maps' contents at the end must be identical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { needs } from '../support/env.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { loadCollection } from '../../src/loader/index.js';
import type { Collection } from '../../src/engine/types.js';
import { loadKernelCollection } from '../../src/kernel/collection.js';
import { pinThreadToCpu, possibleCpus } from '../../src/kernel/cpus.js';
import { BPF_CALL, BPF_JMP } from '../../src/isa/opcodes.js';
import { MapType, ProgType } from '../../src/uapi/types.js';
import { BpfkitError } from '../../src/util/errors.js';
import { eth, ipv4, ipv6, tcp, udp } from '../programs/packets.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function frames(): Uint8Array[] {
  const http = new TextEncoder().encode('GET /index.html HTTP/1.1\r\nHost: example.test\r\n\r\n');
  const arp = new Uint8Array(46);
  return [
    eth(0x0800, ipv4(6, tcp(40000, 80, http))),
    eth(0x0800, ipv4(17, udp(5353, 53, new Uint8Array(20).fill(7)))),
    eth(0x86dd, ipv6(6, tcp(40001, 8080, http))),
    eth(0x0800, ipv4(1, new Uint8Array([8, 0, 0xf7, 0xff, 0, 0, 0, 0]))),
    eth(0x0806, arp),
    eth(0x0800, ipv4(6, tcp(443, 51000))),
  ];
}

/** Programs whose context the test run can build (skb and xdp programs). */
const runnable = new Set<number>([ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.SCHED_ACT, ProgType.XDP]);

/** ktime_get_ns, get_prandom_u32, jiffies64, ktime_get_boot_ns, ktime_get_coarse_ns, ktime_get_tai_ns */
const NONDETERMINISTIC = new Set([5, 7, 118, 125, 160, 208]);

function dumpMaps(c: Collection, keysOnly: boolean): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, m] of c.maps) {
    const handles =
      m.type === MapType.PROG_ARRAY || m.type === MapType.ARRAY_OF_MAPS || m.type === MapType.HASH_OF_MAPS;
    try {
      out[name] = [...m.keys()]
        .map((k) => `${hex(k)}=${handles || keysOnly ? 'set' : hex(m.lookup(k) ?? new Uint8Array(0))}`)
        .sort();
    } catch {
      // ring buffers, perf event arrays: no keys to compare
    }
  }
  return out;
}

function objects(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.o') && !/-(be|eb)\.o$/.test(e.name)) out.push(p);
    }
  };
  ['examples', 'src/apps', 'test/fixtures'].forEach(walk);
  return out;
}

test('every object both engines load behaves the same in the VM and in the kernel', async (t) => {
  if (!needs(t, { root: true })) return;
  const pinPath = `/sys/fs/bpf/bpfkit-test-objects-${process.pid}`;
  // Test runs execute on the caller's CPU; the VM says CPU 0: make per-CPU maps comparable.
  assert.ok(pinThreadToCpu(0), 'sched_setaffinity to CPU 0');
  const compared: string[] = [];
  const skipped: string[] = [];
  const failures: string[] = [];
  try {
    for (const file of objects()) {
      let spec;
      try {
        spec = loadObjectFile(file, { defaultProgramType: ProgType.SCHED_CLS });
      } catch (err) {
        skipped.push(`${file}: ELF loader: ${(err as Error).message.split('\n')[0]}`);
        continue;
      }
      let kernel;
      try {
        kernel = loadKernelCollection(spec, { pinPath: `${pinPath}/${compared.length + skipped.length}` }); // pinned maps must not carry over between objects
      } catch (err) {
        if (!(err instanceof BpfkitError)) throw err;
        skipped.push(`${file}: kernel: ${err.message.split('\n')[0]}`);
        continue;
      }
      let vm;
      try {
        vm = await loadCollection(spec, { engine: 'vm', vm: { cpus: possibleCpus() } });
      } catch (err) {
        kernel.close();
        if (!(err instanceof BpfkitError)) throw err;
        skipped.push(`${file}: VM: ${err.message.split('\n')[0]}`);
        continue;
      }
      try {
        let runs = 0;
        for (const p of spec.programs) {
          if (!runnable.has(p.type)) continue;
          for (const [i, f] of frames().entries()) {
            const k = kernel.program(p.name).run({ data: f });
            const v = vm.program(p.name).run({ data: f });
            runs++;
            if (k.retval !== v.retval)
              failures.push(`${file} ${p.name} frame ${i}: retval kernel ${k.retval} VM ${v.retval}`);
            if (hex(k.data) !== hex(v.data))
              failures.push(
                `${file} ${p.name} frame ${i}: packet after the run differs\n  kernel ${hex(k.data)}\n  VM     ${hex(v.data)}`,
              );
          }
        }
        // Clocks and random numbers differ between any two runs: then only the keys must agree.
        const keysOnly = spec.programs.some((p) =>
          p.insns.some((i) => i.code === (BPF_JMP | BPF_CALL) && i.src === 0 && NONDETERMINISTIC.has(i.imm)),
        );
        const km = dumpMaps(kernel, keysOnly);
        const vmm = dumpMaps(vm, keysOnly);
        for (const name of Object.keys(km)) {
          const a = km[name]!;
          const b = vmm[name] ?? [];
          if (JSON.stringify(a) === JSON.stringify(b)) continue;
          const onlyK = a.filter((x) => !b.includes(x));
          const onlyV = b.filter((x) => !a.includes(x));
          failures.push(
            `${file} map ${name} differs:\n  kernel only: ${onlyK.slice(0, 4).join(' ')}\n  VM only:     ${onlyV.slice(0, 4).join(' ')}`,
          );
        }
        compared.push(`${file} (${runs} runs)`);
      } finally {
        kernel.close();
        vm.close();
      }
    }
  } finally {
    rmSync(pinPath, { recursive: true, force: true });
  }
  t.diagnostic(`compared ${compared.length} objects: ${compared.join(', ')}`);
  for (const s of skipped) t.diagnostic(`not compared: ${s}`);
  assert.deepEqual(failures, []);
  assert.ok(compared.length >= 8, `only ${compared.length} objects could be compared`);
});
