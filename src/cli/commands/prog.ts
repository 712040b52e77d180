/**
 * bpfkit prog load OBJ DIR   — load an object's programs and maps into the kernel and pin them under DIR
 * bpfkit prog show [ID]      — the kernel's programs, like `bpftool prog show`
 */
import { onlyFlags, parseFlags, intFlag } from '../args.js';
import { UsageError } from '../../util/errors.js';

const usage = `usage: bpfkit prog load OBJ DIR [--program NAME]... [--type TYPE] [--log-level N] [--btf FILE]
       bpfkit prog show [ID] [--json]

load: load every program and map of OBJ into the kernel and pin them under DIR (on bpffs, e.g.
      /sys/fs/bpf/myobj): DIR/<program>, DIR/<map>. They stay loaded after bpfkit exits; rm -r DIR unloads.
      --type gives the program type for sections without a libbpf-style name (iproute2 objects): a type as
      bpftool names it (socket_filter, sched_cls, xdp, tracing...) or a libbpf section name (tp_btf/NAME).
      --btf FILE: the BTF that CO-RE relocations are resolved against (default /sys/kernel/btf/vmlinux).
show: list loaded programs: id, type, name, tag, load time, size, map ids (--json: bpftool's keys).
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, {
    json: { type: 'boolean' },
    program: { type: 'string', multiple: true },
    type: { type: 'string' },
    'log-level': { type: 'string' },
    btf: { type: 'string' },
  });
  if (help) {
    process.stdout.write(usage);
    return 0;
  }
  const [sub, ...rest] = positionals;
  // Both subcommands share one parser: refuse the flags this one would ignore (show --program X).
  if (sub === 'load') onlyFlags(values, ['program', 'type', 'log-level', 'btf'], 'prog load');
  else onlyFlags(values, ['json'], `prog ${sub ?? 'show'}`);
  if (sub === 'load') {
    if (rest.length !== 2) throw new UsageError(`prog load wants OBJ and DIR\n${usage}`);
    const [obj, dir] = rest as [string, string];
    const { loadObjectFile } = await import('../../elf/index.js');
    const { progTypeName } = await import('../../kernel/inspect.js');
    const { loadCollection } = await import('../../loader/load-collection.js');
    const { typeFlag } = await import('../type-flag.js');
    const defaultType = typeFlag(values.type);
    const spec = loadObjectFile(obj, defaultType ? { defaultType } : {});
    const logLevel = intFlag('log-level', values['log-level'], 0);
    // A load or pin that fails leaves nothing behind: not even DIR, when this command made it.
    const { existsSync, rmdirSync } = await import('node:fs');
    const dirExisted = existsSync(dir);
    const dropDir = () => {
      if (dirExisted) return;
      try {
        rmdirSync(dir);
      } catch {
        // not empty (someone else's pins) or never made
      }
    };
    let coll: import('../../kernel/collection.js').KernelCollection;
    try {
      // Through loadCollection: CO-RE, externs and attach targets are resolved there.
      coll = (await loadCollection(spec, {
        engine: 'kernel',
        kernel: logLevel ? { logLevel } : {},
        ...(values.program ? { programs: values.program } : {}),
        ...(values.btf !== undefined ? { targetBtf: values.btf } : {}),
      })) as import('../../kernel/collection.js').KernelCollection;
    } catch (err) {
      dropDir();
      throw err;
    }
    try {
      const { ensureBpffs } = await import('../../kernel/objects.js');
      let pinned: string[];
      try {
        ensureBpffs(dir);
        pinned = coll.pinAll(dir);
      } catch (err) {
        dropDir();
        throw err;
      }
      process.stdout.write(
        `loaded ${coll.programs.size} program${coll.programs.size === 1 ? '' : 's'} and ${coll.maps.size} map${coll.maps.size === 1 ? '' : 's'} from ${obj}\n`,
      );
      for (const path of pinned) {
        const name = path.slice(dir.length + 1);
        const p = coll.programs.get(name);
        process.stdout.write(`  ${path}  ${p ? `program ${progTypeName(p.type)} id ${p.info().id}` : 'map'}\n`);
      }
      if (logLevel)
        for (const p of coll.programs.values())
          process.stdout.write(`--- verifier log of ${p.name} ---\n${p.verifierLog}\n`);
    } finally {
      coll.close(); // the pins keep everything loaded
    }
    return 0;
  }
  if (sub === 'show' || sub === 'list' || sub === undefined) {
    if (rest.length > 1) throw new UsageError(usage);
    const { listIds, fdById, progInfo, closeFd } = await import('../../kernel/objects.js');
    const { progText, progJson } = await import('../../kernel/inspect.js');
    const ids = rest.length === 1 ? [intFlag('id', rest[0], 0, 1)] : listIds('prog');
    const infos = [];
    for (const id of ids) {
      const fd = fdById('prog', id);
      if (fd === undefined) {
        if (rest.length === 1) throw new UsageError(`no program with id ${id}`);
        continue; // unloaded between listing and opening
      }
      try {
        infos.push(progInfo(fd));
      } finally {
        closeFd(fd);
      }
    }
    if (values.json) process.stdout.write(`${JSON.stringify(infos.map(progJson))}\n`);
    else for (const i of infos) process.stdout.write(`${progText(i)}\n`);
    return 0;
  }
  throw new UsageError(`unknown prog subcommand '${sub}'\n${usage}`);
}
