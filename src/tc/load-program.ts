/**
 * The program a filter or action runs, from what tc's command line names: `obj F [sec S]` (the object loaded
 * through the loader with tc's pinning rules, the section's program forced to SCHED_CLS or SCHED_ACT as tc
 * does), `pinned PATH` (a program on bpffs) or `bytecode`/`bytecode-file` (classic BPF, checked here).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseObject } from '../elf/index.js';
import { loadCollection } from '../loader/index.js';
import { openPinnedProgram } from '../kernel/pinned.js';
import { parseClassicBpf } from '../cbpf/numeric-text.js';
import { InputError, UsageError } from '../util/errors.js';
import { ProgType } from '../uapi/types.js';
import type { Collection } from '../engine/types.js';
import type { BpfProgramRef } from './program-ref.js';
import { objectPinDir, tcMapPinPath } from './pinning.js';
import type { ElfMapDef } from './handover-message.js';

/** Where the program comes from, as the command line said. */
export type ProgramSource =
  | { kind: 'object'; path: string; section?: string }
  | { kind: 'pinned'; path: string }
  | { kind: 'bytecode'; text: string; where: string }
  | { kind: 'bytecode-file'; path: string };

/** One of an object's maps: its fd and its definition as `struct bpf_elf_map` says it. */
export interface ExportableMap {
  name: string;
  fd: number;
  def: ElfMapDef;
}

/** A program ready to hand to the kernel, and what to release once the filter holds it. */
export interface LoadedProgram {
  ref: BpfProgramRef;
  /** The verifier log when `verbose` asked for it. */
  log: string;
  /** An object's maps in declaration order, open until release() (what `export` hands over). */
  maps: ExportableMap[];
  /** Map pins this load made (not the ones it reused): removed again when the filter is not installed. */
  createdPins: readonly string[];
  /** Close the fds bpfkit holds (the filter keeps its own reference to the program). */
  release(): void;
}

/**
 * Load `src` for a classifier ('cls', default section "classifier"), an action ('act', "action") or an XDP
 * hook ('xdp', "prog" as ip-link(8) has it).
 */
export async function loadTcProgram(
  src: ProgramSource,
  role: 'cls' | 'act' | 'xdp',
  opts: { verbose?: boolean } = {},
): Promise<LoadedProgram> {
  if ((src.kind === 'bytecode' || src.kind === 'bytecode-file') && role === 'xdp')
    throw new UsageError('XDP runs eBPF only: use obj FILE or pinned PATH');
  if (src.kind === 'bytecode') {
    return {
      ref: { kind: 'classic', insns: parseClassicBpf(src.text, src.where) },
      log: '',
      maps: [],
      createdPins: [],
      release() {},
    };
  }
  if (src.kind === 'bytecode-file') {
    let text: string;
    try {
      text = readFileSync(src.path, 'utf8');
    } catch (err) {
      throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, src.path);
    }
    return {
      ref: { kind: 'classic', insns: parseClassicBpf(text, src.path) },
      log: '',
      maps: [],
      createdPins: [],
      release() {},
    };
  }
  if (src.kind === 'pinned') {
    const p = openPinnedProgram(src.path);
    return {
      ref: { kind: 'ebpf', fd: p.fd, label: basename(src.path) },
      log: '',
      maps: [],
      createdPins: [],
      release: () => p.close(),
    };
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(src.path);
  } catch (err) {
    throw new InputError(`cannot read object: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, src.path);
  }
  const type = role === 'cls' ? ProgType.SCHED_CLS : role === 'act' ? ProgType.SCHED_ACT : ProgType.XDP;
  const section = src.section ?? (role === 'cls' ? 'classifier' : role === 'act' ? 'action' : 'prog');
  const parsed = parseObject(bytes, { path: src.path, defaultProgramType: type });
  const prog = parsed.programs.find((p) => p.section === section) ?? parsed.programs.find((p) => p.name === section);
  if (!prog) {
    const have = [...new Set(parsed.programs.map((p) => p.section))].join(', ') || 'none';
    throw new UsageError(`${src.path} has no section '${section}' (program sections: ${have})`);
  }
  // tc runs the chosen section as a classifier or an action whatever its name says.
  const spec = { ...parsed, programs: parsed.programs.map((p) => (p === prog ? { ...p, type } : p)) };
  const objDir = objectPinDir(bytes);
  const coll: Collection = await loadCollection(spec, {
    engine: 'kernel',
    kernel: {
      programs: [prog.name],
      mapPinPath: (m) => tcMapPinPath(m, objDir),
      ...(opts.verbose ? { logLevel: 2 } : {}),
    },
  });
  const loaded = coll.programs.get(prog.name)!;
  const log = (loaded as { verifierLog?: string }).verifierLog ?? '';
  const pinCode = { none: 0, object: 1, global: 2 } as const;
  const maps: ExportableMap[] = [];
  for (const m of parsed.maps) {
    const kmap = coll.maps.get(m.name) as { fd?: number } | undefined;
    // The object's own maps (legacy `maps`, BTF `.maps`), not the loader's .data/.rodata/.bss.
    if (!m.section.startsWith('maps') && m.section !== '.maps') continue;
    if (kmap?.fd === undefined) continue;
    maps.push({
      name: m.name,
      fd: kmap.fd,
      def: {
        type: m.type,
        keySize: m.keySize,
        valueSize: m.valueSize,
        maxEntries: m.maxEntries,
        flags: m.flags,
        id: m.legacyId ?? 0,
        pinning: pinCode[m.pinning],
        innerId: m.legacyInnerId ?? 0,
        innerIdx: m.legacyInnerIdx ?? 0,
      },
    });
  }
  return {
    ref: { kind: 'ebpf', fd: loaded.fd, label: `${basename(src.path)}:[${section}]` },
    log,
    maps,
    createdPins: [...((coll as { createdPins?: string[] }).createdPins ?? [])],
    release: () => coll.close(),
  };
}
