/**
 * `bpfkit run OBJ`: run one program of an ELF object on a packet, on every packet of a capture (in order,
 * maps keeping their state), or on raw memory — in the userspace VM or in the kernel (BPF_PROG_TEST_RUN) —
 * and print the return values, the packets after the run and the maps' contents.
 */
import { readFileSync } from 'node:fs';
import { InputError, UsageError } from '../../util/errors.js';
import { intFlag, parseFlags } from '../args.js';
import { loadObjectFile } from '../../elf/index.js';
import { loadCollection } from '../../loader/index.js';
import type { BpfMap, Collection, EngineName, RunResult } from '../../engine/types.js';
import { MapType, nameOf } from '../../uapi/types.js';
import { describeRetval } from '../../vm/contexts/prog-types.js';
import { recordFilter } from '../../packet/record-filter.js';
import { typeFlag } from '../type-flag.js';
import { VM_ENGINE_HELP, vmEngineFlag } from '../vm-engine-flag.js';
import { useModuleCacheFiles } from '../../loader/module-cache-files.js';
import type { VmProgram } from '../../vm/index.js';

export const help = `usage: bpfkit run OBJ [--program NAME] (--packet FILE | --pcap FILE | --mem HEX) [options]

Run a program of an ELF object and print its return value, the packet after the run and the maps.

input (one of):
  --packet FILE        one packet: the raw frame from its Ethernet header
  --pcap FILE          every packet of a pcap/pcapng capture, in order (maps keep their state)
  --mem HEX            raw bytes given as hex (a packet, or a memory block for non-packet programs)

options:
  --program NAME       the program to run (default: the object's only program)
  --filter EXPR        with --pcap: run only the packets the pcap-filter(7) expression keeps (tcpdump
                       -r FILE EXPR), compiled for each record's link type; labels keep the packet's
                       number in the file. A bad expression: one line with the column, exit 2
  --engine vm|kernel   run in the userspace VM (default) or in the kernel (needs root / CAP_BPF)
  --no-verify          VM: run without asking bpfkit's verifier first. By default a program the kernel
                       would refuse is not run (the verifier's reason, exit 1); one the verifier cannot judge
                       (a program type or helper it does not model) runs, with a one-line note on stderr
  ${VM_ENGINE_HELP}
  --repeat N           run each packet N times (BPF_PROG_TEST_RUN's repeat); prints ns per run
  --ctx HEX            context bytes (a struct __sk_buff / xdp_md, e.g. with mark or cb[] set)
  --cpus N             VM: CPUs of per-CPU maps (default: the host's)
  --socket-view V      VM socket filters: mac (raw socket, default) or network (BPF_PROG_TEST_RUN's view)
  --btf FILE           BTF that CO-RE relocations are resolved against, in either engine
                       (default: the running kernel's /sys/kernel/btf/vmlinux)
  --type TYPE          program type for sections without a libbpf name (socket_filter, sched_cls, xdp, ...)
  --json               {"results": [{"retval", "packet"}], "maps": {"<name>": [{"key", "value"|"values"}]}}
                       (arrays list only their non-zero entries, in text and JSON)
  --quiet              no per-packet lines (maps only)

Socket filters see the frame from its MAC header, as on an AF_PACKET raw socket; cgroup_skb programs
from its network header. bpf_trace_printk lines go to stderr (kernel: read back from tracefs after the
runs); ring buffer records are listed as events (and, VM only, perf event samples). Hash maps are listed sorted by key. With --engine kernel, maps that ask to be
pinned are pinned in a private directory for the run only: every run starts from the object's contents.
`;

/** One input of the general path (readInputs): its label (`#N`, `mem`, a file) and frame. @internal */
export interface Input {
  label: string;
  data: Uint8Array;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function parseHex(text: string, flag: string): Uint8Array {
  const clean = text.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(clean))
    throw new UsageError(`--${flag} wants hex bytes (an even number of hex digits)`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

/**
 * A capture record as an Ethernet frame: Ethernet passes through, raw IP and Linux cooked captures
 * (SLL/SLL2, what `tcpdump -i any` writes) get an Ethernet header with the packet's EtherType.
 */
function asEthernet(linktype: number, data: Uint8Array, where: string): Uint8Array {
  const withType = (type: number, payload: Uint8Array) => {
    const f = new Uint8Array(14 + payload.length);
    f[12] = type >> 8;
    f[13] = type & 0xff;
    f.set(payload, 14);
    return f;
  };
  switch (linktype) {
    case 1: // ETHERNET
      return data;
    case 101: // RAW
    case 12:
    case 14: {
      const v = data.length ? data[0]! >> 4 : 0;
      return withType(v === 6 ? 0x86dd : 0x0800, data);
    }
    case 228: // IPV4
      return withType(0x0800, data);
    case 229: // IPV6
      return withType(0x86dd, data);
    case 113: // LINUX_SLL: 16-byte header, protocol at 14
      if (data.length < 16) throw new InputError('Linux cooked (SLL) record shorter than its header', where);
      return withType((data[14]! << 8) | data[15]!, data.subarray(16));
    case 276: // LINUX_SLL2: 20-byte header, protocol at 0
      if (data.length < 20) throw new InputError('Linux cooked (SLL2) record shorter than its header', where);
      return withType((data[0]! << 8) | data[1]!, data.subarray(20));
    default:
      throw new InputError(
        `link type ${linktype} is not supported (Ethernet, raw IP and Linux cooked captures are)`,
        where,
      );
  }
}

function checkInputFlags(values: { packet?: string; pcap?: string; mem?: string; filter?: string }): void {
  const given = [values.packet, values.pcap, values.mem].filter((v) => v !== undefined).length;
  if (given !== 1) throw new UsageError('give exactly one of --packet FILE, --pcap FILE, --mem HEX');
  if (values.filter !== undefined && values.pcap === undefined) throw new UsageError('--filter applies to --pcap');
}

/**
 * The inputs, one at a time: a capture is streamed, so a multi-GB file runs in constant memory, and a
 * fault part-way through surfaces only after every whole packet before it has been run and reported.
 * (The general path --ctx, --repeat and the kernel engine take; runCapture is tested against it.)
 * @internal
 */
export async function* readInputs(
  values: { packet?: string; pcap?: string; mem?: string },
  keep?: ReturnType<typeof recordFilter>,
): AsyncGenerator<Input> {
  if (values.mem !== undefined) {
    yield { label: 'mem', data: parseHex(values.mem, 'mem') };
    return;
  }
  if (values.packet !== undefined) {
    let data: Uint8Array;
    try {
      data = Uint8Array.from(readFileSync(values.packet));
    } catch (err) {
      throw new InputError(
        `cannot read packet: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        values.packet,
      );
    }
    yield { label: values.packet, data };
    return;
  }
  const { openCapture } = await import('../../packet/capture-reader.js');
  const reader = await openCapture(values.pcap!);
  let n = 0;
  try {
    for await (const p of reader) {
      n++;
      if (keep && !keep(p.linktype, p.data, p.origLen)) continue;
      // Located like every other capture error (file@offset); the packet number is extra context.
      const where = `${values.pcap}@${p.fileOffset ?? '?'} (packet ${n})`;
      yield { label: `#${n}`, data: asEthernet(p.linktype, p.data, where) };
    }
  } finally {
    await reader.close();
  }
}

/**
 * What `runCapture` reports for each packet: its label, the retval, whether the packet changed and the
 * packet after the run — the last two only when asked (they compare and copy).
 */
export type PacketReport = (
  label: () => string,
  retval: number,
  changed: () => boolean,
  after: () => Uint8Array,
) => void;

/**
 * runCapture's read size: 1 MiB rather than the reader's 4 MiB default. The two read-ahead buffers are
 * fresh memory in a process's first scan, and each 4 KiB page of them costs a page fault (10-20 µs on a
 * virtual machine): with 1 MiB reads the first scan of a 200,000-record capture (bench/programs.ts) cost
 * 85-125 ns a record instead of 250-280 (CPU time). The price is more reads: reading alone costs 2-6 ns
 * a record more once warm, which the program's run between reads hides (run --pcap's steady figure did
 * not move measurably). Since runCapture reads synchronously (the scan's syncReads: each chunk when it
 * is needed, on the main thread), 256 KiB: a chunk then lands in this core's 1 MiB L2 cache and is
 * parsed and run from there (in-process A/B, load 9: 4-7 ns a packet less than 1 MiB read ahead on
 * the thread pool; 1 MiB read synchronously was no better than read ahead, 256 KiB read ahead ~6 ns
 * worse: a thread-pool read costs ~20 µs).
 * @internal
 */
export const RUN_CHUNK = 256 << 10;

/** What runCapture's gathering arrays are before a batch needs sifting (most captures never do). */
const NO_RECORDS = new Int32Array(0);

/**
 * `--pcap` in the VM for programs with an __sk_buff: the reader fills a batch of records at a time
 * (offsets and lengths into its chunk buffer, nothing copied: CaptureReader's batch scan) and a batch of
 * Ethernet records goes as it is to the program's batch entry (VmProgram.runPackets: on the 'wasm'
 * engine, inside the module, a window at a time; elsewhere runPacketAt per record: no per-packet copy,
 * allocation or context rebuild beyond what the kernel's test run pays). With a filter, or other link
 * types in the batch, the kept Ethernet records are gathered and run together and the others converted
 * and run one at a time. The packet after the run is copied out only when it is printed. Same results,
 * maps, order and errors as one run() per packet: the records before a corrupt one are run and
 * reported before its error.
 */
export async function runCapture(
  path: string,
  prog: VmProgram,
  keep: ReturnType<typeof recordFilter> | undefined,
  report: PacketReport,
): Promise<void> {
  const { openCapture } = await import('../../packet/capture-reader.js');
  const { takeBatch, giveBackBatch } = await import('../../packet/record-batch.js');
  const { takeChunk, giveBackChunk } = await import('../../packet/chunk-pool.js');
  // the reader's buffers where the program's batch loop runs frames where they lie, when it can have
  // them (the 'wasm' engine's linear memory), else the process's pool
  const chunks = {
    take: (size: number) => prog.takeFrameChunk(size) ?? takeChunk(size),
    giveBack: (buf: Uint8Array) => void (prog.giveBackFrameChunk(buf) || giveBackChunk(buf)),
  };
  const reader = await openCapture(path, { chunkSize: RUN_CHUNK, chunks });
  const batch = takeBatch();
  // (nothing here reads a record's timestamp: the parser may skip them)
  batch.timestamps = false;
  // (nor its length on the wire, unless a filter looks at it)
  batch.wireLengths = keep !== undefined;
  // packets before the batch's first record
  let before = 0;
  // a batch run as the reader filled it (else the gathered records below)
  let whole = false;
  // the gathered records: offsets and lengths in `chunk`, packet numbers (made when a batch is sifted)
  let offs = NO_RECORDS;
  let lens = NO_RECORDS;
  let nums = NO_RECORDS;
  let count = 0;
  let chunk: Uint8Array = batch.bytes;
  // the packet being reported (made once: a packet's report calls them while the packet is current):
  // record `at` of the batch (whole) or of the gathered records, or — alone — the converted `frame`.
  // Only the index is noted per packet: its number and bytes are looked up when asked for (a report
  // that prints nothing asks for neither; noting them all cost ~1-2 ns a packet).
  let alone = false;
  let at = 0;
  let num = 0;
  let frame: Uint8Array = chunk;
  let isChanged = false;
  const label = () => `#${alone ? num : whole ? before + at + 1 : nums[at]!}`;
  const changed = () => isChanged;
  const after = (): Uint8Array => {
    if (isChanged) return prog.lastPacket();
    if (alone) return frame.slice();
    const off = whole ? batch.offsets[at]! : offs[at]!;
    return chunk.slice(off, off + (whole ? batch.caplens[at]! : lens[at]!));
  };
  const onResult = (i: number, retval: number, ch: boolean) => {
    at = i;
    isChanged = ch;
    report(label, retval >>> 0, changed, after);
  };
  const run = () => {
    if (count === 0) return;
    const c = count;
    count = 0;
    prog.runPackets(chunk, offs, lens, c, onResult);
  };
  /** The batch record by record: the filter's verdict, Ethernet records gathered, others converted. */
  const sift = () => {
    if (offs.length < batch.count) {
      offs = new Int32Array(batch.capacity);
      lens = new Int32Array(batch.capacity);
      nums = new Int32Array(batch.capacity);
    }
    for (let i = 0; i < batch.count; i++) {
      const n = before + i + 1;
      const linktype = batch.linktypes[i]!;
      if (keep && !keep(linktype, batch.data(i), batch.origLens[i]!)) continue;
      if (linktype === 1) {
        offs[count] = batch.offsets[i]!;
        lens[count] = batch.caplens[i]!;
        nums[count] = n;
        count++;
        continue;
      }
      run();
      // Located like every other capture error (file@offset); the packet number is extra context.
      frame = asEthernet(linktype, batch.data(i), `${path}@${batch.fileOffset(i)} (packet ${n})`);
      num = n;
      const retval = prog.runPacketAt(frame, 0, frame.length);
      isChanged = prog.packetChanged(frame, 0, frame.length);
      alone = true;
      try {
        report(label, retval >>> 0, changed, after);
      } finally {
        alone = false;
      }
    }
    run();
  };
  try {
    // (a batch's records stay where they are in the reader's buffer until the next batch: each is run first)
    const scan = reader.scan({ readAhead: true, syncReads: true });
    while (await scan.nextBatch(batch)) {
      chunk = batch.bytes;
      if (keep === undefined && batch.linktype === 1) {
        whole = true;
        try {
          prog.runPackets(chunk, batch.offsets, batch.caplens, batch.count, onResult);
        } finally {
          whole = false;
        }
      } else sift();
      before += batch.count;
    }
  } finally {
    giveBackBatch(batch);
    await reader.close();
  }
}

/** Hash maps list keys in an engine-specific order (insertion in the VM, buckets in the kernel): sort them. */
const hashTypes = new Set<number>([
  MapType.HASH,
  MapType.PERCPU_HASH,
  MapType.LRU_HASH,
  MapType.LRU_PERCPU_HASH,
  MapType.HASH_OF_MAPS,
]);
const perCpuTypes = new Set<number>([MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH]);
const keylessTypes = new Set<number>([MapType.QUEUE, MapType.STACK, MapType.RINGBUF, MapType.PERF_EVENT_ARRAY]);

type Row = { key: string; value: string } | { key: string; values: string[] } | { value: string };

/** Array types: every index always exists, so only the non-zero ones are listed (by both engines). */
const arrayTypes = new Set<number>([MapType.ARRAY, MapType.PERCPU_ARRAY]);

const allZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/**
 * The keys worth reading back: for arrays, the VM's map names its non-zero indexes in one scan of its slab
 * (a 20M-entry array costs a scan, not 20M lookups); everything else (and the kernel) walks its keys.
 */
function keysToList(m: BpfMap): Iterable<Uint8Array> {
  const scan = (m as BpfMap & { nonZeroKeys?: () => Uint8Array[] }).nonZeroKeys;
  return arrayTypes.has(m.type) && scan ? scan.call(m) : m.keys();
}

/** A map's rows; arrays list only their non-zero entries (`entries` still counts every index). */
function dumpMap(m: BpfMap, programNames: Map<number, string>): { rows: Row[]; entries: number } {
  const rows: Row[] = [];
  if (m.type === MapType.QUEUE || m.type === MapType.STACK) {
    const vals = (m as BpfMap & { values?: () => Uint8Array[] }).values?.();
    for (const v of vals ?? []) rows.push({ value: hex(v) });
    return { rows, entries: rows.length };
  }
  if (keylessTypes.has(m.type)) return { rows, entries: 0 };
  const array = arrayTypes.has(m.type);
  for (const k of keysToList(m)) {
    if (perCpuTypes.has(m.type)) {
      const vs = m.lookupPerCpu(k);
      if (vs && !(array && vs.every(allZero))) rows.push({ key: hex(k), values: vs.map(hex) });
    } else {
      const v = m.lookup(k);
      if (v && m.type === MapType.PROG_ARRAY) {
        const ref = new DataView(v.buffer, v.byteOffset, 4).getUint32(0, true);
        rows.push({ key: hex(k), value: programNames.get(ref) ?? `program ${ref} (not of this object)` });
      } else if (v && !(array && allZero(v))) rows.push({ key: hex(k), value: hex(v) });
    }
  }
  if (hashTypes.has(m.type))
    rows.sort((a, b) => ('key' in a && 'key' in b ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : 0));
  return { rows, entries: array ? m.maxEntries : rows.length };
}

/**
 * What a prog array's values mean, by engine: the VM stores program handles (`fd`), the kernel answers a
 * userspace lookup with the program's id. Both are shown as the program's name.
 */
function programNames(coll: Collection): Map<number, string> {
  const out = new Map<number, string>();
  for (const p of coll.programs.values()) {
    const id = coll.engine === 'kernel' ? (p as { info?: () => { id: number } }).info?.().id : p.fd;
    if (id !== undefined) out.set(id, p.name);
  }
  return out;
}

/** Other maps (hashes) can hold all-zero values too: the text output hides them, the JSON keeps them. */
function isZeroRow(r: Row): boolean {
  const z = (s: string) => /^0*$/.test(s);
  return 'values' in r ? r.values.every(z) : z(r.value);
}

export async function run(argv: string[]): Promise<number> {
  const moduleCache = useModuleCacheFiles(); // (the 'wasm' engine's modules kept between runs; BPFKIT_MODULE_CACHE=off)
  const {
    values,
    positionals,
    help: wantHelp,
  } = parseFlags(argv, {
    program: { type: 'string' },
    packet: { type: 'string' },
    pcap: { type: 'string' },
    mem: { type: 'string' },
    repeat: { type: 'string' },
    json: { type: 'boolean' },
    engine: { type: 'string' },
    'vm-engine': { type: 'string' },
    ctx: { type: 'string' },
    cpus: { type: 'string' },
    'socket-view': { type: 'string' },
    quiet: { type: 'boolean' },
    btf: { type: 'string' },
    filter: { type: 'string' },
    type: { type: 'string' },
    'no-verify': { type: 'boolean' },
  });
  if (wantHelp) {
    process.stdout.write(help);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`run takes exactly one OBJ (got ${positionals.length})\n${help}`);
  const engine = (values.engine ?? 'vm') as EngineName;
  if (engine !== 'vm' && engine !== 'kernel')
    throw new UsageError(`--engine must be vm or kernel, got '${values.engine}'`);
  const vmEngine = vmEngineFlag(values['vm-engine']);
  if (vmEngine && engine !== 'vm') throw new UsageError('--vm-engine applies to the VM engine only');
  const repeat = intFlag('repeat', values.repeat, 1, 1, 0xffffffff); // BPF_PROG_TEST_RUN's repeat is a __u32
  const cpus = values.cpus !== undefined ? intFlag('cpus', values.cpus, 1, 1) : undefined;
  // The kernel has its own CPU count and its own verifier: these would be ignored there.
  if (cpus !== undefined && engine !== 'vm') throw new UsageError('--cpus applies to the VM engine only');
  if (values['no-verify'] && engine !== 'vm')
    throw new UsageError("--no-verify applies to the VM engine only (the kernel's verifier always runs)");
  const view = values['socket-view'] ?? 'mac';
  if (view !== 'mac' && view !== 'network') throw new UsageError(`--socket-view must be mac or network, got '${view}'`);
  if (view !== 'mac' && engine !== 'vm') throw new UsageError('--socket-view applies to the VM engine only');
  const ctx = values.ctx !== undefined ? parseHex(values.ctx, 'ctx') : undefined;

  checkInputFlags(values);
  const keep = values.filter !== undefined ? recordFilter(values.filter) : undefined;
  const defaultType = typeFlag(values.type);
  const spec = loadObjectFile(positionals[0]!, defaultType ? { defaultType } : {});
  const progName = values.program ?? (spec.programs.length === 1 ? spec.programs[0]!.name : undefined);
  if (!progName) {
    const names = spec.programs.map((p) => p.name).join(', ');
    throw new UsageError(
      spec.programs.length
        ? `the object has ${spec.programs.length} programs (${names}); choose one with --program`
        : 'the object has no programs',
    );
  }

  const traceLines: string[] = [];
  // Kernel: pin maps that ask for pinning under a private directory, removed afterwards, so every run
  // starts from the object's initial map contents as it does in the VM. The collection owns it
  // (privatePinPath): closing it — in the finally below, or at exit, SIGINT or SIGTERM — removes it.
  const pinPath = engine === 'kernel' ? `/sys/fs/bpf/bpfkit-run-${process.pid}` : undefined;
  // One trace line is one printk, with or without its own newline (the kernel's trace file drops it).
  const trace = (line: string) =>
    values.json
      ? traceLines.push(line.endsWith('\n') ? line.slice(0, -1) : line)
      : process.stderr.write(`trace: ${line}${line.endsWith('\n') ? '' : '\n'}`);
  // The note is held until the load has succeeded: a load that then fails (a map the VM cannot create)
  // is bad input, reported as its one error line, with no note about a run that never happens.
  const notes: string[] = [];
  const onUnmodelled = (name: string, reason: string) =>
    notes.push(`bpfkit run: '${name}' not verified (${reason.split('\n')[0]}); running it anyway\n`);
  const coll: Collection = await loadCollection(spec, {
    engine,
    vm: { socketView: view, host: { trace }, ...(cpus ? { cpus } : {}), ...(vmEngine ? { execution: vmEngine } : {}) },
    kernel: pinPath ? { pinPath, privatePinPath: true } : {},
    ...(values.btf !== undefined ? { targetBtf: values.btf } : {}),
    // Only the program run and what it needs: another program the engine cannot take does not matter.
    ...(spec.programs.length > 1 ? { programs: [progName] } : {}),
    // The kernel engine has the kernel's own verifier; the VM runs what it is given, so ask bpfkit's.
    ...(engine === 'vm' && !values['no-verify'] ? { verify: { programs: [progName], onUnmodelled } } : {}),
  });
  for (const note of notes) process.stderr.write(note);
  await moduleCache;
  // VM: receive perf event samples on every slot, so they can be shown with ring-buffer records.
  const eventMaps = [...coll.maps.values()].filter(
    (m) => m.type === MapType.RINGBUF || m.type === MapType.PERF_EVENT_ARRAY,
  );
  for (const m of eventMaps) (m as { openSlots?: () => void }).openSlots?.();
  // Kernel: the bpf_trace_printk lines the runs write, read back from tracefs as the VM's sink gets them.
  const printk =
    engine === 'kernel' ? new (await import('../../kernel/attach/printk-capture.js')).PrintkCapture() : undefined;
  try {
    const prog = coll.program(progName);
    const results: { retval: number; packet: string; durationNs?: number }[] = [];
    const out = process.stdout;
    // A fault in the input (a truncated capture) is reported after the results and maps gathered so far.
    let inputFault: unknown;
    // The per-packet path: a capture in the VM, run as it stands (no --ctx, no --repeat).
    const perPacket =
      coll.engine === 'vm' && values.pcap !== undefined && !ctx && repeat === 1 && (prog as VmProgram).kind === 'skb';
    try {
      if (perPacket) {
        await runCapture(values.pcap!, prog as VmProgram, keep, (label, retval, changed, after) => {
          if (values.json) results.push({ retval, packet: hex(after()) });
          else if (!values.quiet) {
            const what = describeRetval(prog.type, retval);
            let line = `${label()}: retval ${retval} (0x${retval.toString(16)}${what ? `, ${what}` : ''})`;
            if (changed()) {
              const data = after();
              line += `, packet changed (${data.length} bytes): ${hex(data)}`;
            }
            out.write(line + '\n');
          }
        });
      } else
        for await (const input of readInputs(values, keep)) {
          const r: RunResult = prog.run({ data: input.data, ...(ctx ? { ctx } : {}), repeat });
          results.push({
            retval: r.retval >>> 0,
            packet: hex(r.data),
            ...(repeat > 1 && r.durationNs !== undefined ? { durationNs: r.durationNs } : {}),
          });
          if (!values.json && !values.quiet) {
            const what = describeRetval(prog.type, r.retval);
            const changed = hex(r.data) !== hex(input.data);
            let line = `${input.label}: retval ${r.retval >>> 0} (0x${(r.retval >>> 0).toString(16)}${what ? `, ${what}` : ''})`;
            if (changed) line += `, packet changed (${r.data.length} bytes): ${hex(r.data)}`;
            if (repeat > 1 && r.durationNs !== undefined) line += `, ${r.durationNs.toFixed(1)} ns/run`;
            out.write(line + '\n');
          }
        }
    } catch (err) {
      inputFault = err;
    }
    for (const line of printk?.take() ?? []) trace(line);
    const maps: Record<string, Row[]> = {};
    const entries: Record<string, number> = {};
    const names = programNames(coll);
    for (const [name, m] of coll.maps) ({ rows: maps[name], entries: entries[name] } = dumpMap(m, names));
    const events: Record<string, string[]> = {};
    for (const m of eventMaps) {
      // perf event samples are the VM's only: a test run has no perf buffer open to receive them
      if (engine === 'kernel' && m.type === MapType.PERF_EVENT_ARRAY) continue;
      const taken = (m as { consume?: () => (Uint8Array | { cpu: number; data: Uint8Array })[] }).consume?.() ?? [];
      if (taken.length)
        events[m.name] = taken.map((e) => (e instanceof Uint8Array ? hex(e) : `cpu${e.cpu}:${hex(e.data)}`));
    }
    if (values.json) {
      out.write(
        JSON.stringify({
          results,
          maps,
          ...(Object.keys(events).length ? { events } : {}),
          ...(traceLines.length ? { trace: traceLines } : {}),
        }) + '\n',
      );
    } else {
      for (const [name, list] of Object.entries(events)) {
        out.write(`events ${name} (${list.length})\n`);
        for (const e of list) out.write(`  ${e}\n`);
      }
      for (const [name, rows] of Object.entries(maps)) {
        const m = coll.map(name);
        const shown = rows.filter((r) => !isZeroRow(r));
        const n = entries[name]!;
        out.write(
          `map ${name} (${nameOf(MapType, m.type)}, ${n} entr${n === 1 ? 'y' : 'ies'}${shown.length < n ? `, ${n - shown.length} all-zero not shown` : ''})\n`,
        );
        for (const r of shown) {
          if ('values' in r) out.write(`  ${r.key}: ${r.values.map((v, i) => `cpu${i}=${v}`).join(' ')}\n`);
          else if ('key' in r) out.write(`  ${r.key}: ${r.value}\n`);
          else out.write(`  ${r.value}\n`);
        }
      }
    }
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what the catch above caught
    if (inputFault !== undefined) throw inputFault;
    return 0;
  } finally {
    coll.close();
  }
}
