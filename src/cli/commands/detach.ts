/**
 * bpfkit detach tc|xdp IFACE — undo `bpfkit attach`: detach the pinned link and remove its pins.
 */
import { parseFlags } from '../args.js';
import { UsageError, EnvironmentError } from '../../util/errors.js';

const usage = `usage: bpfkit detach tc IFACE [--direction ingress|egress] [--pin DIR] [--force]
       bpfkit detach xdp IFACE [--pin DIR] [--force]

Detaches what 'bpfkit attach' pinned (default dir /sys/fs/bpf/bpfkit/attach/IFACE-HOOK) and removes
the pins. --force also detaches links on that hook that bpfkit did not pin (other tools' links).
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, {
    direction: { type: 'string' },
    pin: { type: 'string' },
    force: { type: 'boolean' },
  });
  if (help) {
    process.stdout.write(usage);
    return 0;
  }
  const [kind, ifname, ...extra] = positionals;
  if ((kind !== 'tc' && kind !== 'xdp') || !ifname || extra.length > 0) throw new UsageError(usage);
  // As attach: an XDP hook has no direction, so --direction on one would be ignored.
  if (kind === 'xdp' && values.direction) throw new UsageError('--direction is for tc only');
  const direction = values.direction ?? 'ingress';
  if (direction !== 'ingress' && direction !== 'egress') throw new UsageError('--direction must be ingress or egress');
  const hook = kind === 'xdp' ? 'xdp' : (`tc-${direction}` as const);
  const { defaultAttachDir, detachPinned, linksAt, detachById } = await import('../../kernel/attachments.js');
  const { interfaceIndex } = await import('../../kernel/libc.js');
  const dir = values.pin ?? defaultAttachDir(ifname, hook);
  if (detachPinned(dir)) {
    process.stdout.write(`detached ${hook} from ${ifname}; removed ${dir}\n`);
    return 0;
  }
  const others = linksAt(interfaceIndex(ifname), hook);
  if (others.length > 0 && values.force) {
    for (const id of others) detachById(id);
    process.stdout.write(
      `detached link${others.length > 1 ? 's' : ''} ${others.join(', ')} (${hook}) from ${ifname}\n`,
    );
    return 0;
  }
  if (others.length > 0) {
    throw new EnvironmentError(
      `nothing bpfkit attached is pinned at ${dir}; ${ifname} ${hook} has link id ${others.join(', ')} from elsewhere (--force detaches it)`,
    );
  }
  throw new EnvironmentError(`nothing is attached to ${ifname} ${hook}`);
}
