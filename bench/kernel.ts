/**
 * The kernel engine: (1) for each example program, the VM's ns/packet beside the kernel JIT's
 * ns/packet (BPF_PROG_TEST_RUN's own duration, repeat N: the program alone, no syscall) and the
 * wall-clock cost of one test-run syscall from TypeScript; (2) map lookup/update from TypeScript into the
 * kernel (one bpf(2) call each) in ops/s, beside the VM's maps, and batch vs single element operations.
 * Needs root (CAP_BPF); prints one line and returns otherwise.
 */
import { readdirSync, existsSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { loadObjectFile } from '../src/elf/index.js';
import { loadCollection } from '../src/loader/index.js';
import type { Collection } from '../src/engine/types.js';
import { MapType, ProgType } from '../src/uapi/types.js';

const BUDGET_MS = 300;

function frame(): Uint8Array {
  // Ethernet + IPv4 + TCP to port 80 with an HTTP request: every example program has work to do on it.
  const payload = new TextEncoder().encode('GET /index.html HTTP/1.1\r\nHost: bench.test\r\n\r\n');
  const f = new Uint8Array(14 + 20 + 20 + payload.length);
  const dv = new DataView(f.buffer);
  dv.setUint16(12, 0x0800);
  f[14] = 0x45;
  dv.setUint16(16, 40 + payload.length);
  f[22] = 64;
  f[23] = 6;
  f.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  dv.setUint16(34, 40000);
  dv.setUint16(36, 80);
  f[46] = 0x50;
  f[47] = 0x18;
  f.set(payload, 54);
  return f;
}

/** Run `fn` in batches until BUDGET_MS passes; ns per call. */
function nsPer(fn: () => void, batch = 1000): number {
  for (let i = 0; i < Math.min(batch, 200); i++) fn(); // warm up (VM compiles on first runs)
  let calls = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(BUDGET_MS) * 1000000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / calls;
}

const fmt = (ns: number) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(1)} ns`);
const opsPerSec = (ns: number) => `${(1e9 / ns / 1000).toFixed(0)}k ops/s`;

function examples(): string[] {
  if (!existsSync('examples')) return [];
  const out: string[] = [];
  for (const dir of readdirSync('examples').sort()) {
    const p = `examples/${dir}`;
    try {
      for (const f of readdirSync(p)) if (f.endsWith('.o')) out.push(`${p}/${f}`);
    } catch {
      // not a directory
    }
  }
  return out;
}

async function programs(): Promise<void> {
  const data = frame();
  process.stdout.write(
    'program                             VM ns/pkt   kernel JIT ns/pkt   VM/JIT   kernel syscall/run\n',
  );
  for (const file of examples()) {
    const spec = loadObjectFile(file, { defaultProgramType: ProgType.SCHED_CLS });
    let vm: Collection | undefined;
    let kernel: Collection | undefined;
    try {
      vm = await loadCollection(spec, { engine: 'vm' });
      kernel = await loadCollection(spec, {
        engine: 'kernel',
        kernel: { pinPath: `/sys/fs/bpf/bpfkit-bench-${process.pid}` },
      });
      for (const p of spec.programs) {
        if (![ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.SCHED_ACT, ProgType.XDP].includes(p.type as never))
          continue;
        const vp = vm.program(p.name);
        const kp = kernel.program(p.name);
        const vmNs = nsPer(() => vp.run({ data }));
        const jitNs = kp.run({ data, repeat: 1_000_000 }).durationNs ?? NaN;
        const callNs = nsPer(() => kp.run({ data }), 200);
        const label = `${file.split('/').pop()!.replace(/\.o$/, '')}:${p.name}`.padEnd(34);
        process.stdout.write(
          `${label}  ${fmt(vmNs).padStart(9)}   ${fmt(jitNs).padStart(17)}   ${(vmNs / jitNs).toFixed(1).padStart(5)}x   ${fmt(callNs).padStart(9)}\n`,
        );
      }
    } catch (err) {
      process.stdout.write(`${file}: skipped (${(err as Error).message.split('\n')[0]})\n`);
    } finally {
      vm?.close();
      kernel?.close();
      rmSync(`/sys/fs/bpf/bpfkit-bench-${process.pid}`, { recursive: true, force: true }); // pinned maps (mark-stats)
    }
  }
}

async function maps(): Promise<void> {
  const spec = {
    endian: 'little' as const,
    license: 'GPL',
    kernelVersion: 0,
    programs: [],
    maps: [
      {
        name: 'h',
        type: MapType.HASH,
        keySize: 4,
        valueSize: 8,
        maxEntries: 65536,
        flags: 0,
        pinning: 'none' as const,
        contents: [],
        frozen: false,
        section: '.maps',
        btfKeyTypeId: 0,
        btfValueTypeId: 0,
      },
    ],
  };
  const vm = await loadCollection(spec, { engine: 'vm' });
  const kernelColl = await loadCollection(spec, { engine: 'kernel' });
  try {
    const N = 10000;
    const keys = Array.from({ length: N }, (_, i) => new Uint8Array(new Uint32Array([i]).buffer));
    const value = new Uint8Array(8).fill(1);
    let i = 0;
    const km = kernelColl.map('h');
    const vmm = vm.map('h');
    for (const k of keys) {
      km.update(k, value);
      vmm.update(k, value);
    }
    const kLookup = nsPer(() => km.lookup(keys[i++ % N]!));
    const kUpdate = nsPer(() => km.update(keys[i++ % N]!, value));
    const vLookup = nsPer(() => vmm.lookup(keys[i++ % N]!));
    const vUpdate = nsPer(() => vmm.update(keys[i++ % N]!, value));
    process.stdout.write(
      `\nmap (hash, 4-byte keys, 8-byte values, ${N} entries)   kernel (bpf(2) per op)   VM map   kernel/VM\n`,
    );
    process.stdout.write(
      `  lookup                                          ${opsPerSec(kLookup).padStart(14)}   ${opsPerSec(vLookup).padStart(12)}   ${(kLookup / vLookup).toFixed(1)}x slower\n`,
    );
    process.stdout.write(
      `  update                                          ${opsPerSec(kUpdate).padStart(14)}   ${opsPerSec(vUpdate).padStart(12)}   ${(kUpdate / vUpdate).toFixed(1)}x slower\n`,
    );
    // Batch vs single, kernel only (the VM has no syscalls to save).
    const kmap = km as unknown as {
      updateBatch(k: Uint8Array[], v: Uint8Array[]): number;
      lookupBatch(chunk?: number): [Uint8Array, Uint8Array][];
    };
    const values = keys.map(() => value);
    const upBatch = nsPer(() => kmap.updateBatch(keys, values), 1) / N;
    const lookBatch = nsPer(() => kmap.lookupBatch(1024), 1) / N;
    const iterSingle =
      nsPer(() => {
        for (const k of km.keys()) km.lookup(k);
      }, 1) / N;
    process.stdout.write(
      `  update, batch of ${N}                            ${opsPerSec(upBatch).padStart(14)}   ${(kUpdate / upBatch).toFixed(1)}x the single-op rate\n`,
    );
    process.stdout.write(
      `  dump: lookup batch (1024 per call)              ${opsPerSec(lookBatch).padStart(14)}   ${(iterSingle / lookBatch).toFixed(1)}x get-next-key + lookup (${opsPerSec(iterSingle)})\n`,
    );
  } finally {
    vm.close();
    kernelColl.close();
  }
}

/**
 * Live capture: a sender floods UDP on the loopback of a private network namespace for 1.5 s while a
 * PacketSocket reads, once with recvmsg(2) per packet and once through the TPACKET_V3 ring.
 */
function capture(): void {
  const ns = `bpfkit-bench-${process.pid}`;
  const socketModule = new URL('../src/kernel/packet-socket.js', import.meta.url).href;
  const script = `
const { PacketSocket } = await import(${JSON.stringify(socketModule)});
const { spawn } = await import('node:child_process');
const ring = process.argv[1] === 'ring';
const sock = PacketSocket.open({ ifname: 'lo', snaplen: 256, ring });
const sender = spawn(process.execPath, ['-e', "const d=require('node:dgram').createSocket('udp4');const b=Buffer.alloc(100);const end=Date.now()+1500;(function go(){for(let i=0;i<200;i++)d.send(b,9,'127.0.0.1');if(Date.now()<end)setImmediate(go);else setTimeout(()=>process.exit(0),100)})()"]);
const ac = new AbortController();
setTimeout(() => ac.abort(), 1800);
let n = 0;
const c0 = process.cpuUsage();
for await (const _ of sock.packets(ac.signal)) n++;
const c = process.cpuUsage(c0);
const st = sock.stats();
sock.close();
process.stdout.write(JSON.stringify({ n, cpuUs: c.user + c.system, seen: st.packets, drops: st.drops }));`;
  try {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    process.stdout.write(
      '\nlive capture (UDP flood on a namespace loopback)   packets read   CPU per packet   kernel drops\n',
    );
    for (const mode of ['recvmsg', 'ring']) {
      const out = JSON.parse(
        execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script, mode], {
          encoding: 'utf8',
        }),
      ) as {
        n: number;
        cpuUs: number;
        seen: number;
        drops: number;
      };
      const label = mode === 'ring' ? 'TPACKET_V3 ring' : 'recvmsg per packet';
      process.stdout.write(
        `  ${label.padEnd(46)}  ${String(out.n).padStart(12)}   ${((out.cpuUs * 1000) / Math.max(1, out.n)).toFixed(0).padStart(10)} ns   ${out.drops} of ${out.seen}\n`,
      );
    }
  } catch (err) {
    process.stdout.write(`live capture: skipped (${(err as Error).message.split('\n')[0]})\n`);
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // never created
    }
  }
}

export async function bench(): Promise<void> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    process.stdout.write('kernel: skipped (needs root with CAP_BPF on Linux)\n');
    return;
  }
  await programs();
  await maps();
  capture();
}
