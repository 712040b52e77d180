/**
 * bpfkit attach tc|xdp IFACE OBJ [--program NAME] — attach a program to an interface through a BPF link
 * (tcx for tc, kernel 6.6+; an XDP link for xdp) and pin it so it stays after the command exits.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { parseFlags } from '../args.js';
import { UsageError, EnvironmentError } from '../../util/errors.js';
import { ProgType } from '../../uapi/types.js';
import type { KernelCollection } from '../../kernel/collection.js';

const usage = `usage: bpfkit attach tc IFACE OBJ [--program NAME] [--direction ingress|egress] [--pin DIR]
       bpfkit attach xdp IFACE OBJ [--program NAME] [--mode skb|native] [--pin DIR]

Loads OBJ, attaches one program (--program, or the object's only tc/xdp program) to IFACE and pins the
link, the program and the maps under DIR (default /sys/fs/bpf/bpfkit/attach/IFACE-HOOK), so the
attachment persists after bpfkit exits. Undo with 'bpfkit detach tc|xdp IFACE'.
tc uses tcx links (kernel 6.6+); xdp uses native mode when the driver supports it, else generic (said
in the output); --mode native refuses a driver without it, --mode skb asks for generic.
`;

/**
 * Is this process in a named network namespace (one of /run/netns, as `ip netns exec` enters) with no
 * bpffs on /sys/fs/bpf? That is `ip netns exec`'s signature: its private mount namespace remounts /sys,
 * so the bpffs bpfkit mounts there lives only as long as the command. (nsenter --net keeps the host's
 * mounts and their bpffs.) Anything unreadable counts as no.
 */
function inIpNetnsExec(): boolean {
  try {
    const mounted = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[1] === '/sys/fs/bpf' && l.split(' ')[2] === 'bpf');
    if (mounted) return false;
    const net = statSync('/proc/self/ns/net').ino;
    return readdirSync('/run/netns').some((n) => {
      try {
        return statSync(`/run/netns/${n}`).ino === net;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** An XDP link in `mode`; a driver without native XDP, asked for it, is said as such (the kernel says ENOTSUP). */
function attachXdpIn(coll: KernelCollection, name: string, ifname: string, mode: string, flags: number) {
  try {
    return coll.attachXdp(name, ifname, flags);
  } catch (err) {
    if (mode === 'native' && /\b(ENOTSUP|EOPNOTSUPP)\b/.test((err as Error).message))
      throw new EnvironmentError(
        `${ifname}: the driver has no native XDP (--mode native); --mode skb attaches generic XDP`,
      );
    throw err;
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, {
    program: { type: 'string' },
    direction: { type: 'string' },
    mode: { type: 'string' },
    pin: { type: 'string' },
  });
  if (help) {
    process.stdout.write(usage);
    return 0;
  }
  const [kind, ifname, obj, ...extra] = positionals;
  if ((kind !== 'tc' && kind !== 'xdp') || !ifname || !obj || extra.length > 0) throw new UsageError(usage);
  const direction = values.direction ?? 'ingress';
  if (direction !== 'ingress' && direction !== 'egress') throw new UsageError('--direction must be ingress or egress');
  if (kind === 'xdp' && values.direction) throw new UsageError('--direction is for tc only');
  const mode = values.mode ?? 'auto';
  if (mode !== 'skb' && mode !== 'native' && mode !== 'auto') throw new UsageError('--mode must be skb or native');
  if (kind === 'tc' && values.mode) throw new UsageError('--mode is for xdp only');

  const { loadObjectFile } = await import('../../elf/index.js');
  const { loadKernelCollection } = await import('../../kernel/collection.js');
  const { interfaceIndex } = await import('../../kernel/libc.js');
  const { defaultAttachDir } = await import('../../kernel/attachments.js');
  const { ensureBpffs } = await import('../../kernel/objects.js');
  const { XdpFlags } = await import('../../kernel/links.js');

  const hook = kind === 'xdp' ? 'xdp' : (`tc-${direction}` as const);
  interfaceIndex(ifname); // fail early on a wrong name
  const wanted: number[] = kind === 'xdp' ? [ProgType.XDP] : [ProgType.SCHED_CLS, ProgType.SCHED_ACT];
  const spec = loadObjectFile(obj, { defaultProgramType: kind === 'xdp' ? ProgType.XDP : ProgType.SCHED_CLS });
  const candidates = spec.programs.filter((p) => wanted.includes(p.type));
  let name = values.program;
  if (name) {
    const p = spec.programs.find((x) => x.name === name);
    if (!p)
      throw new UsageError(
        `${obj} has no program '${name}' (programs: ${spec.programs.map((x) => x.name).join(', ')})`,
      );
    if (!wanted.includes(p.type))
      throw new UsageError(`program '${name}' is not a ${kind === 'xdp' ? 'XDP' : 'tc (SCHED_CLS)'} program`);
  } else {
    if (candidates.length === 0) throw new UsageError(`${obj} has no ${kind} program`);
    if (candidates.length > 1)
      throw new UsageError(
        `${obj} has several ${kind} programs (${candidates.map((p) => p.name).join(', ')}): pick one with --program`,
      );
    name = candidates[0]!.name;
  }
  const dir = values.pin ?? defaultAttachDir(ifname, hook);
  if (existsSync(`${dir}/link`))
    throw new EnvironmentError(`${dir} already holds an attachment: 'bpfkit detach ${kind} ${ifname}' first`);

  const { applyCore } = await import('../../loader/core.js');
  const doomedPins = inIpNetnsExec(); // asked before bpfkit mounts a bpffs of its own
  const coll = loadKernelCollection(applyCore(spec));
  try {
    const link =
      kind === 'xdp'
        ? // --mode native asks the kernel for driver mode (refused where the driver has none); without
          // --mode the kernel picks driver mode when it can, generic otherwise — said below as it is.
          attachXdpIn(
            coll,
            name,
            ifname,
            mode,
            mode === 'skb' ? XdpFlags.SKB_MODE : mode === 'native' ? XdpFlags.DRV_MODE : 0,
          )
        : coll.attachTc(name, ifname, direction);
    ensureBpffs(dir);
    try {
      link.pin(`${dir}/link`);
      coll.pinAll(dir);
    } catch (err) {
      link.detach();
      throw err;
    }
    const id = coll.program(name).info().id;
    // The mode the kernel chose, from the link's own report (it printed 'native' for a generic attach).
    const xdpMode =
      kind === 'xdp'
        ? mode !== 'auto'
          ? mode
          : ({ xdpdrv: 'native', xdpgeneric: 'skb', xdpoffload: 'offload' }[
              (await import('../../tc/xdp.js')).xdpState(ifname).attached
            ] ?? 'mode unknown')
        : '';
    process.stdout.write(
      `attached ${name} (prog id ${id}) to ${ifname} ${kind === 'xdp' ? `xdp (${xdpMode})` : `tcx ${direction}`}; pinned under ${dir}\n`,
    );
    if (doomedPins)
      process.stderr.write(
        `bpfkit attach: warning: this runs in a mount namespace of its own (ip netns exec?): the pins under ${dir} ` +
          `are on that namespace's bpffs, which goes when the command exits — and the attachment with it. ` +
          `Attach with 'nsenter --net=/run/netns/NAME bpfkit attach ...' (the network namespace only, the ` +
          `host's bpffs), or pin with --pin on a bpffs that outlives the command\n`,
      );
  } finally {
    coll.close(); // the pins keep the link, program and maps alive
  }
  return 0;
}
