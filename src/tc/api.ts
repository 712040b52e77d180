/**
 * tc as an API: `qdisc.add(...)`, `htbClass.add(...)`, `filter.add(...)`, `filter.list(...)`. Each call takes
 * device names, loads what it must (objects through the loader, with tc's pinning), sends one rtnetlink
 * request and releases bpfkit's own fds: once installed, the kernel's filter holds the program, and bpfkit
 * leaves nothing else behind — a failed request closes the programs and removes the pins it created.
 */
import { NetlinkError } from '../kernel/netlink/socket.js';
import { progInfo, fdById, closeFd } from '../kernel/objects.js';
import { deviceIndex, deviceName } from './device.js';
import { hookQdisc, type QdiscEntry } from './qdisc-message.js';
import {
  addQdisc,
  deleteQdisc,
  listQdiscs,
  addHtbClass,
  installBpfFilter,
  deleteFilters,
  listFilters,
} from './netlink-ops.js';
import { formatQdisc } from './qdisc-format.js';
import { formatFilter, type ProgSummary } from './filter-format.js';
import { loadTcProgram, type LoadedProgram } from './load-program.js';
import { isMissingActBpf, actBpfMissing } from './act-support.js';
import type { QdiscRequest, ClassRequest, FilterRequest } from './command-line.js';
import type { FilterEntry } from './filter-message.js';
import { TC_H } from './uapi.js';
import { makeHandle } from './handle.js';
import { exportMaps } from './handover.js';
import { UsageError } from '../util/errors.js';
import { track, untrack } from '../kernel/lifecycle.js';
import { rmSync } from 'node:fs';

/** Qdiscs: clsact, ingress and HTB. */
export const qdisc = {
  /** Add the qdisc a request names (clsact/ingress at ffff:, HTB where `parent`/`handle` say). */
  add(r: QdiscRequest): void {
    addQdisc(qdiscSpec(r));
  },
  /** Delete the qdisc a request names. */
  del(r: QdiscRequest): void {
    deleteQdisc(qdiscSpec(r));
  },
  /** The qdiscs of a device (or of all devices). */
  list(dev?: string): QdiscEntry[] {
    return listQdiscs(dev ? deviceIndex(dev) : 0);
  },
  /** `tc qdisc show` text. */
  show(dev?: string): string {
    return this.list(dev)
      .map((q) => formatQdisc(q, dev ? undefined : deviceName(q.ifindex)))
      .join('');
  },
};

function qdiscSpec(r: QdiscRequest) {
  const ifindex = deviceIndex(r.dev!);
  if (r.kind === 'clsact' || r.kind === 'ingress') return hookQdisc(ifindex, r.kind);
  return {
    ifindex,
    kind: r.kind ?? '',
    parent: r.parent ?? TC_H.ROOT,
    handle: r.handle ?? makeHandle(1, 0),
    ...(r.htbDefault !== undefined ? { htbDefault: r.htbDefault } : {}),
    ...(r.htbR2q !== undefined ? { htbR2q: r.htbR2q } : {}),
  };
}

/** HTB classes (enough for classid classifiers to have somewhere to send packets). */
export const htbClass = {
  /** `class add dev D parent X: classid X:Y htb rate R …`. */
  add(r: ClassRequest): void {
    const c = {
      ifindex: deviceIndex(r.dev),
      parent: r.parent,
      classid: r.classid,
      rate: r.rate,
      ...(r.ceil !== undefined ? { ceil: r.ceil } : {}),
      ...(r.burst !== undefined ? { burst: r.burst, cburst: r.burst } : {}),
      ...(r.prio !== undefined ? { prio: r.prio } : {}),
    };
    addHtbClass(c, r.verb);
  },
};

/** What installing a filter printed or produced: verifier logs when `verbose` asked. */
export interface InstallResult {
  logs: string[];
}

/** cls_bpf filters. */
export const filter = {
  /** add / replace / change one bpf filter (with its actions). */
  async install(r: FilterRequest): Promise<InstallResult> {
    if (r.verb !== 'add' && r.verb !== 'replace' && r.verb !== 'change') throw new Error(`install with verb ${r.verb}`);
    const ifindex = deviceIndex(r.dev);
    const held: LoadedProgram[] = [];
    let installed = false;
    // Until the kernel holds the filter, the pins this request made are undone on failure, and also at
    // SIGINT/SIGTERM (the lifecycle registry closes this first, before the programs and maps).
    const undoPins = {
      close: () => {
        if (!installed) for (const h of held) for (const p of h.createdPins) rmSync(p, { force: true });
      },
    };
    track(undoPins);
    try {
      const main = await loadTcProgram(r.source!, 'cls', { verbose: r.verbose ?? false });
      held.push(main);
      const actions = [];
      for (const a of r.actions) {
        const p = await loadTcProgram(a.source, 'act', { verbose: r.verbose ?? false });
        held.push(p);
        actions.push({ program: p.ref, ...(a.verdict !== undefined ? { verdict: a.verdict } : {}) });
      }
      // iproute2 hands the maps over before it sends the filter: an agent holds them from the start.
      if (r.exportTo) {
        if (r.source!.kind !== 'object') throw new UsageError('bpf: export needs obj FILE (the maps of an object)');
        exportMaps(r.exportTo, r.source!.path, main.maps);
      }
      try {
        installBpfFilter(
          {
            ifindex,
            parent: r.parent!,
            program: main.ref,
            actions,
            ...pick(r, ['prio', 'protocol', 'handle', 'chain', 'directAction', 'classid', 'skipHw', 'skipSw']),
          },
          r.verb,
        );
      } catch (err) {
        if (actions.length && err instanceof NetlinkError && isMissingActBpf(err.errno, err.extack))
          throw actBpfMissing();
        throw err;
      }
      installed = true;
      return { logs: held.map((h) => h.log).filter(Boolean) };
    } finally {
      untrack(undoPins);
      undoPins.close();
      for (const h of held) h.release();
    }
  },
  /** Delete the filters the request selects (all under the parent when it names no prio). */
  del(r: FilterRequest): void {
    deleteFilters(
      { ifindex: deviceIndex(r.dev), parent: r.parent ?? 0, ...pick(r, ['prio', 'protocol', 'handle', 'chain']) },
      r.kind,
    );
  },
  /** The filters under a parent (default: the root qdisc's). */
  list(r: Pick<FilterRequest, 'dev' | 'parent' | 'prio' | 'protocol' | 'handle' | 'chain'>): FilterEntry[] {
    const key = { ifindex: deviceIndex(r.dev), parent: r.parent ?? 0, ...pick(r, ['chain']) };
    return listFilters(key).filter(
      (e) =>
        (r.prio === undefined || e.prio === r.prio) &&
        (r.protocol === undefined || e.protocol === r.protocol) &&
        (r.handle === undefined || e.handle === r.handle),
    );
  },
  /** `tc filter show` text for the request. */
  show(r: Pick<FilterRequest, 'dev' | 'parent' | 'prio' | 'protocol' | 'handle' | 'chain'>): string {
    const req = {
      ...(r.parent !== undefined ? { parent: r.parent } : {}),
      ...(r.prio !== undefined ? { prio: r.prio } : {}),
      ...(r.protocol !== undefined ? { protocol: r.protocol } : {}),
    };
    return this.list(r)
      .map((e) => formatFilter(e, req, programSummary))
      .join('');
  },
};

/** Name and JIT state of a program by id, as tc prints them (undefined when it went away). */
function programSummary(id: number): ProgSummary | undefined {
  const fd = fdById('prog', id);
  if (fd === undefined) return undefined;
  try {
    const info = progInfo(fd);
    return { name: info.name, jited: info.jitedLen > 0 };
  } finally {
    closeFd(fd);
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
