/**
 * bpfkit map dump PINNED|ID           — every entry of a map in the kernel (bpftool's format / --json)
 * bpfkit map show                     — the kernel's maps
 * bpfkit map lookup|update|delete PINNED|ID --key HEX [--value HEX]
 */
import { onlyFlags, parseFlags } from '../args.js';
import { UsageError } from '../../util/errors.js';
import type { KernelMap } from '../../kernel/kernel-map.js';

const usage = `usage: bpfkit map dump PINNED|ID [--json]
       bpfkit map show [--json]
       bpfkit map lookup PINNED|ID --key HEX
       bpfkit map update PINNED|ID --key HEX --value HEX [--flags any|noexist|exist]
       bpfkit map delete PINNED|ID --key HEX

PINNED is a path on bpffs (/sys/fs/bpf/...), ID a kernel map id (bpfkit map show). Bytes are hex in
the map's memory order: "01 00 00 00" or 01000000 is the 32-bit key 1 on a little-endian host.
`;

async function openMap(ref: string): Promise<KernelMap> {
  const { openMapById, openPinnedMap } = await import('../../kernel/pinned.js');
  return /^\d+$/.test(ref) ? openMapById(Number(ref)) : openPinnedMap(ref);
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, {
    json: { type: 'boolean' },
    key: { type: 'string' },
    value: { type: 'string' },
    flags: { type: 'string' },
  });
  if (help) {
    process.stdout.write(usage);
    return 0;
  }
  const [sub, ref, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}\n${usage}`);
  // Every subcommand shares one parser: refuse the flags this one would ignore (delete --flags exist).
  const own: Record<string, readonly string[]> = {
    show: ['json'],
    list: ['json'],
    dump: ['json'],
    lookup: ['key', 'json'],
    update: ['key', 'value', 'flags'],
    delete: ['key'],
  };
  if (sub && own[sub]) onlyFlags(values, own[sub], `map ${sub}`);
  const inspect = await import('../../kernel/inspect.js');
  if (sub === 'show' || sub === 'list') {
    const { listIds, fdById, mapInfo, closeFd } = await import('../../kernel/objects.js');
    const infos = [];
    for (const id of listIds('map')) {
      const fd = fdById('map', id);
      if (fd === undefined) continue;
      try {
        infos.push(mapInfo(fd));
      } finally {
        closeFd(fd);
      }
    }
    if (values.json) process.stdout.write(`${JSON.stringify(infos.map(inspect.mapJson))}\n`);
    else for (const i of infos) process.stdout.write(`${inspect.mapText(i)}\n`);
    return 0;
  }
  if (!sub || !['dump', 'lookup', 'update', 'delete'].includes(sub)) throw new UsageError(usage);
  if (!ref) throw new UsageError(`map ${sub} wants a pinned path or a map id\n${usage}`);
  const bytes = (name: 'key' | 'value', want: number): Uint8Array => {
    const text = values[name];
    if (text === undefined) throw new UsageError(`map ${sub} wants --${name}`);
    const b = inspect.parseHexBytes(text);
    if (!b) throw new UsageError(`--${name} is not hex bytes: '${text}'`);
    if (b.length !== want) throw new UsageError(`--${name} has ${b.length} bytes; the map wants ${want}`);
    return b;
  };
  const map = await openMap(ref);
  try {
    switch (sub) {
      case 'dump': {
        const entries = inspect.dumpEntries(map);
        process.stdout.write(
          values.json ? `${JSON.stringify(inspect.dumpJson(map, entries))}\n` : `${inspect.dumpText(map, entries)}\n`,
        );
        return 0;
      }
      case 'lookup': {
        const key = bytes('key', map.keySize);
        const { isPerCpu } = await import('../../kernel/map-ops.js');
        const found = isPerCpu(map.type)
          ? map.lookupPerCpu(key)
          : (() => {
              const v = map.lookup(key);
              return v ? [v] : undefined;
            })();
        const entries = found ? [{ key, values: found }] : [];
        if (entries.length === 0) {
          process.stderr.write('bpfkit map lookup: no such key\n');
          return 1;
        }
        process.stdout.write(
          values.json
            ? `${JSON.stringify(inspect.dumpJson(map, entries)[0])}\n`
            : `${inspect.dumpText(map, entries).split('\n').slice(0, -1).join('\n')}\n`,
        );
        return 0;
      }
      case 'update': {
        const flagNames: Record<string, number> = { any: 0, noexist: 1, exist: 2 };
        const flags = flagNames[values.flags ?? 'any'];
        if (flags === undefined) throw new UsageError('--flags must be any, noexist or exist');
        const text = values.value;
        const v = text === undefined ? undefined : inspect.parseHexBytes(text);
        if (!v) throw new UsageError(`map update wants --value HEX`);
        if (v.length !== map.valueSize && v.length !== map.bufferValueSize)
          throw new UsageError(`--value has ${v.length} bytes; the map wants ${map.valueSize}`);
        map.update(bytes('key', map.keySize), v, flags);
        return 0;
      }
      case 'delete': {
        if (!map.delete(bytes('key', map.keySize))) {
          process.stderr.write('bpfkit map delete: no such key\n');
          return 1;
        }
        return 0;
      }
    }
    return 2;
  } finally {
    map.close();
  }
}
