/**
 * bpfkit struct-ops register|list|unregister — `bpftool struct_ops` for bpfkit: register the struct_ops
 * maps of an object (TCP congestion controls, sched_ext schedulers...), list those the kernel holds,
 * unregister one. Unlike bpftool, register is all or nothing: when one map of the object fails, the
 * others are unregistered again and nothing stays loaded.
 */
import { parseFlags } from '../args.js';
import { EnvironmentError, UsageError } from '../../util/errors.js';
import { MapFlag, MapType } from '../../uapi/types.js';

const usage = `usage: bpfkit struct-ops register OBJ [LINKDIR]
       bpfkit struct-ops list [--json]
       bpfkit struct-ops unregister id ID | name NAME

register  loads OBJ and registers every struct_ops map it defines (.struct_ops and .struct_ops.link
          variables). A .struct_ops map stays registered after bpfkit exits; a .struct_ops.link map's
          link is pinned as LINKDIR/<map> (without LINKDIR it would go when bpfkit exits: refused).
list      the kernel's struct_ops maps: id, map name, struct_ops type.
unregister  a .struct_ops map by map id or name (a .struct_ops.link map: remove its pinned link).
`;

/** The prefix of the kernel's map-value type of each struct_ops type. */
const VALUE_PREFIX = 'bpf_struct_ops_';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, { json: { type: 'boolean' } });
  if (help) {
    process.stdout.write(usage);
    return 0;
  }
  const [verb, ...rest] = positionals;
  if (verb === 'register' && (rest.length === 1 || rest.length === 2)) return register(rest[0]!, rest[1]);
  if (verb === 'list' && rest.length === 0) return list(values.json === true);
  if (verb === 'unregister' && rest.length === 2 && (rest[0] === 'id' || rest[0] === 'name'))
    return unregister(rest[0], rest[1]!);
  throw new UsageError(usage);
}

async function register(obj: string, linkDir: string | undefined): Promise<number> {
  const { loadObjectFile } = await import('../../elf/index.js');
  const { loadCollection } = await import('../../loader/load-collection.js');
  const { mapInfo } = await import('../../kernel/objects.js');
  const spec = loadObjectFile(obj);
  // `?.struct_ops` maps are not created (libbpf's autocreate off), so not registered either.
  const ops = spec.maps.filter((m) => m.structOps && m.structOps.autocreate !== false);
  if (ops.length === 0)
    throw new UsageError(`${obj}: defines no struct_ops map (.struct_ops or .struct_ops.link variable)`);
  const linked = ops.find((m) => m.structOps!.link);
  if (linked && linkDir === undefined)
    throw new UsageError(
      `${obj}: '${linked.name}' is a .struct_ops.link map, which unregisters when its link closes: give LINKDIR to pin it`,
    );
  const { KernelCollection } = await import('../../kernel/collection.js');
  const coll = await loadCollection(spec, { engine: 'kernel' });
  if (!(coll instanceof KernelCollection))
    throw new EnvironmentError('the kernel engine returned no kernel collection');
  const lines: string[] = [];
  try {
    for (const m of ops) {
      const reg = coll.attachStructOps(m.name);
      const id = mapInfo(coll.map(m.name).fd).id;
      if (reg.link) {
        const { linkInfo } = await import('../../kernel/objects.js');
        reg.pin(`${linkDir}/${m.name}`);
        lines.push(`Registered ${m.structOps!.typeName} ${m.name} map id ${id} link id ${linkInfo(reg.link.fd).id}`);
      } else {
        lines.push(`Registered ${m.structOps!.typeName} ${m.name} id ${id}`);
      }
    }
  } catch (err) {
    // All or nothing: collection close unregisters what was registered; remove the pins made.
    const { rmSync } = await import('node:fs');
    for (const m of ops)
      if (m.structOps!.link && linkDir !== undefined) rmSync(`${linkDir}/${m.name}`, { force: true });
    coll.close();
    throw err;
  }
  // Leave every registration in place when this process ends (the kernel holds plain maps; pins hold links).
  for (const r of coll.structOps) r.disconnect();
  coll.close();
  process.stdout.write(lines.map((l) => `${l}\n`).join(''));
  return 0;
}

interface Listed {
  id: number;
  name: string;
  type: string;
  flags: number;
}

async function structOpsMaps(): Promise<Listed[]> {
  const { listIds, fdById, mapInfo, closeFd } = await import('../../kernel/objects.js');
  const { kernelBtf } = await import('../../loader/core.js');
  const btf = kernelBtf();
  const out: Listed[] = [];
  for (const id of listIds('map')) {
    const fd = fdById('map', id);
    if (fd === undefined) continue; // gone since the listing
    try {
      const info = mapInfo(fd);
      if (info.type !== MapType.STRUCT_OPS) continue;
      const value = btf.types[info.btfVmlinuxValueTypeId]?.name ?? '';
      const type = value.startsWith(VALUE_PREFIX) ? value.slice(VALUE_PREFIX.length) : value || '?';
      out.push({ id, name: info.name, type, flags: info.flags });
    } finally {
      closeFd(fd);
    }
  }
  return out;
}

async function list(json: boolean): Promise<number> {
  const maps = await structOpsMaps();
  if (json)
    process.stdout.write(
      `${JSON.stringify(maps.map((m) => ({ id: m.id, name: m.name, kernel_struct_ops: m.type })))}\n`,
    );
  else process.stdout.write(maps.map((m) => `${m.id}: ${m.name.padEnd(15)} ${m.type}\n`).join(''));
  return 0;
}

async function unregister(by: 'id' | 'name', what: string): Promise<number> {
  if (by === 'id' && !/^\d+$/.test(what)) throw new UsageError(`map id '${what}' is not a number`);
  const maps = (await structOpsMaps()).filter((m) => (by === 'id' ? m.id === Number(what) : m.name === what));
  if (maps.length === 0) throw new UsageError(`no struct_ops map with ${by} ${what}`);
  if (maps.length > 1)
    throw new UsageError(
      `${maps.length} struct_ops maps are named '${what}' (ids ${maps.map((m) => m.id).join(', ')}): give the id`,
    );
  const m = maps[0]!;
  if (m.flags & MapFlag.LINK)
    throw new UsageError(
      `struct_ops map ${m.name} (id ${m.id}) is registered through a BPF link: remove the link's pin to unregister it`,
    );
  const { openMapById } = await import('../../kernel/pinned.js');
  const map = openMapById(m.id);
  try {
    if (!map.delete(new Uint8Array(4)))
      throw new EnvironmentError(`struct_ops map ${m.name} (id ${m.id}) is not registered`);
  } finally {
    map.close();
  }
  process.stdout.write(`Unregistered ${m.type} ${m.name} id ${m.id}\n`);
  return 0;
}
