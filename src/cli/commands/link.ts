/**
 * bpfkit link set dev DEV xdp|xdpgeneric|xdpdrv|xdpoffload { obj FILE [sec NAME] | pinned PATH | off } —
 * the netlink XDP attach of ip-link(8) (docs/tc.md); `bpfkit attach xdp` makes a BPF link instead.
 */
import { UsageError } from '../../util/errors.js';

const usage = `usage: bpfkit link set dev DEV xdp|xdpgeneric|xdpdrv|xdpoffload { obj FILE [sec NAME] | pinned PATH | off } [verbose]
       bpfkit link show dev DEV

Attaches an XDP program to a device over rtnetlink, as 'ip link set dev DEV xdp obj FILE' does: the device
holds the program after bpfkit exits, until 'off'. xdp picks driver mode when the driver has it, else generic.
The default section is 'prog', as in ip-link(8).
`;

export async function run(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h') {
    process.stdout.write(usage);
    return verb ? 0 : 2;
  }
  const tc = await import('../../tc/index.js');
  let dev: string | undefined;
  let mode: string | undefined;
  let source: { kind: 'object'; path: string; section?: string } | { kind: 'pinned'; path: string } | undefined;
  let off = false;
  let verbose = false;
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    const arg = () => {
      const v = rest[++i];
      if (v === undefined) throw new UsageError(`'${w}' needs an argument`);
      return v;
    };
    if (w === 'dev') dev = arg();
    // (own keys only: `in` also matched 'toString' and attached in whatever mode a function's flags became)
    else if (Object.hasOwn(tc.XDP_MODE_FLAGS, w)) {
      if (mode) throw new UsageError(`link: '${w}' given after '${mode}' (one mode)`);
      mode = w;
    } else if (w === 'obj' || w === 'object') source = { kind: 'object', path: arg() };
    else if ((w === 'sec' || w === 'section') && source?.kind === 'object') source.section = arg();
    else if (w === 'pinned') source = { kind: 'pinned', path: arg() };
    else if (w === 'off') off = true;
    else if (w === 'verbose') verbose = true;
    else throw new UsageError(`link: unknown word '${w}'\n${usage}`);
  }
  if (!dev) throw new UsageError(`link ${verb} needs 'dev DEVICE'`);
  if (verb === 'show') {
    const s = tc.xdpState(dev);
    process.stdout.write(s.progId ? `${dev}: ${s.attached} id ${s.progId}\n` : `${dev}: no xdp program\n`);
    return 0;
  }
  if (verb !== 'set') throw new UsageError(usage);
  if (!mode) throw new UsageError('link set needs xdp, xdpgeneric, xdpdrv or xdpoffload');
  const flags = tc.XDP_MODE_FLAGS[mode]!;
  if (off) tc.detachXdpNetlink(dev, flags);
  else {
    if (!source) throw new UsageError(`${mode} needs obj FILE, pinned PATH or off`);
    const log = await tc.attachXdpNetlink(dev, source, flags, { verbose });
    if (log) process.stderr.write(log.endsWith('\n') ? log : `${log}\n`);
  }
  return 0;
}
