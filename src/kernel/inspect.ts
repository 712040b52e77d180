/**
 * What `bpfkit prog show` and `bpfkit map dump` print: the kernel's view of programs and maps, in text
 * shaped like bpftool's and in JSON with bpftool's key names, so scripts written for one read the other.
 */
import { readFileSync } from 'node:fs';
import { MapType } from '../uapi/types.js';
import { BpfkitError } from '../util/errors.js';
import type { KernelMap } from './kernel-map.js';
import { isPerCpu, isQueueLike } from './map-ops.js';
import type { MapInfo, ProgInfo } from './objects.js';

/** enum bpf_prog_type names as bpftool prints them. */
const PROG_TYPES = [
  'unspec',
  'socket_filter',
  'kprobe',
  'sched_cls',
  'sched_act',
  'tracepoint',
  'xdp',
  'perf_event',
  'cgroup_skb',
  'cgroup_sock',
  'lwt_in',
  'lwt_out',
  'lwt_xmit',
  'sock_ops',
  'sk_skb',
  'cgroup_device',
  'sk_msg',
  'raw_tracepoint',
  'cgroup_sock_addr',
  'lwt_seg6local',
  'lirc_mode2',
  'sk_reuseport',
  'flow_dissector',
  'cgroup_sysctl',
  'raw_tracepoint_writable',
  'cgroup_sockopt',
  'tracing',
  'struct_ops',
  'ext',
  'lsm',
  'sk_lookup',
  'syscall',
  'netfilter',
];

export function progTypeName(type: number): string {
  return PROG_TYPES[type] ?? `type ${type}`;
}

export function mapTypeName(type: number): string {
  for (const [k, v] of Object.entries(MapType)) if (v === type) return k.toLowerCase();
  return `type ${type}`;
}

/** Wall-clock time of boot in ms (load times are CLOCK_BOOTTIME nanoseconds). */
function bootTimeMs(): number {
  try {
    const up = Number.parseFloat(readFileSync('/proc/uptime', 'utf8').split(' ')[0]!);
    return Date.now() - up * 1000;
  } catch {
    return 0;
  }
}

export function loadedAt(info: ProgInfo): Date {
  return new Date(bootTimeMs() + Number(info.loadTime / 1000000n));
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, '+0000');
}

export function progText(info: ProgInfo): string {
  const head = `${info.id}: ${progTypeName(info.type)}  ${info.name ? `name ${info.name}  ` : ''}tag ${info.tag}${info.gplCompatible ? '  gpl' : ''}`;
  const when = `\tloaded_at ${isoSeconds(loadedAt(info))}  uid ${info.uid}`;
  const size = `\txlated ${info.xlatedLen}B  ${info.jitedLen ? `jited ${info.jitedLen}B` : 'not jited'}${info.mapIds.length ? `  map_ids ${info.mapIds.join(',')}` : ''}`;
  return `${head}\n${when}\n${size}`;
}

export function progJson(info: ProgInfo): Record<string, unknown> {
  return {
    id: info.id,
    type: progTypeName(info.type),
    name: info.name,
    tag: info.tag,
    gpl_compatible: info.gplCompatible,
    loaded_at: Math.floor(loadedAt(info).getTime() / 1000),
    uid: info.uid,
    bytes_xlated: info.xlatedLen,
    jited: info.jitedLen > 0,
    bytes_jited: info.jitedLen,
    map_ids: info.mapIds,
    verified_insns: info.verifiedInsns,
  };
}

export function mapText(info: MapInfo): string {
  return `${info.id}: ${mapTypeName(info.type)}  ${info.name ? `name ${info.name}  ` : ''}flags 0x${info.flags.toString(16)}\n\tkey ${info.keySize}B  value ${info.valueSize}B  max_entries ${info.maxEntries}`;
}

export function mapJson(info: MapInfo): Record<string, unknown> {
  return {
    id: info.id,
    type: mapTypeName(info.type),
    name: info.name,
    flags: info.flags,
    bytes_key: info.keySize,
    bytes_value: info.valueSize,
    max_entries: info.maxEntries,
  };
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const hexJson = (b: Uint8Array) => Array.from(b, (x) => `0x${x.toString(16).padStart(2, '0')}`);

export interface DumpEntry {
  key: Uint8Array;
  /** One value, or one per CPU for per-CPU maps. */
  values: Uint8Array[];
}

/** Every entry of a map (keys by get-next-key; queue/stack maps are shown by peeking only). */
export function dumpEntries(map: KernelMap): DumpEntry[] {
  if (isQueueLike(map.type)) {
    const v = map.peek();
    return v ? [{ key: new Uint8Array(0), values: [v] }] : [];
  }
  if (map.type === MapType.RINGBUF || map.type === MapType.USER_RINGBUF) {
    throw new BpfkitError(
      `map '${map.name}' is a ${mapTypeName(map.type)}: it has no keys to dump (read it with a ring buffer consumer)`,
    );
  }
  const out: DumpEntry[] = [];
  for (const key of map.keys()) {
    const values = isPerCpu(map.type)
      ? map.lookupPerCpu(key)
      : (() => {
          const v = map.lookup(key);
          return v ? [v] : undefined;
        })();
    if (values) out.push({ key, values });
  }
  return out;
}

export function dumpText(map: KernelMap, entries: DumpEntry[]): string {
  const lines: string[] = [];
  const perCpu = isPerCpu(map.type);
  for (const e of entries) {
    if (perCpu) {
      lines.push(`key:\n${hex(e.key)}`);
      e.values.forEach((v, cpu) => lines.push(`value (CPU ${String(cpu).padStart(2, '0')}): ${hex(v)}`));
    } else if (isQueueLike(map.type)) {
      lines.push(`value (head): ${hex(e.values[0]!)}`);
    } else {
      lines.push(`key: ${hex(e.key)}  value: ${hex(e.values[0]!)}`);
    }
  }
  lines.push(`Found ${entries.length} element${entries.length === 1 ? '' : 's'}`);
  return lines.join('\n');
}

export function dumpJson(map: KernelMap, entries: DumpEntry[]): unknown[] {
  const perCpu = isPerCpu(map.type);
  return entries.map((e) =>
    perCpu
      ? { key: hexJson(e.key), values: e.values.map((v, cpu) => ({ cpu, value: hexJson(v) })) }
      : { key: hexJson(e.key), value: hexJson(e.values[0]!) },
  );
}

/** Parse bytes written as hex: "01 00 00 00", "01000000", "0x01 0x00". */
export function parseHexBytes(text: string): Uint8Array | undefined {
  const parts = text
    .trim()
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((p) => p.replace(/^0x/i, ''));
  const joined = parts.every((p) => p.length <= 2) ? parts.map((p) => p.padStart(2, '0')).join('') : parts.join('');
  if (!/^([0-9a-f]{2})*$/i.test(joined)) return undefined;
  return Uint8Array.from(joined.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
}
