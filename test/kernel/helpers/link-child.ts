/**
 * Runs inside a test namespace: loads the counter object, attaches tcx ingress/egress and XDP (generic
 * mode) to lo, sends UDP datagrams, reads the counters and the link info, then closes and reports
 * whether the links are gone. Prints JSON.
 */
import dgram from 'node:dgram';
import { loadKernelCollection } from '../../../src/kernel/collection.js';
import { linkInfo } from '../../../src/kernel/objects.js';
import { XdpFlags } from '../../../src/kernel/links.js';
import { counterObject } from './counter-object.js';
import { bpftoolIds } from './bpftool-show.js';

const linkIds = () => bpftoolIds('link');

async function main(): Promise<void> {
  const coll = loadKernelCollection(counterObject());
  const links = [
    coll.attachTc('tc_in', 'lo', 'ingress'),
    coll.attachTc('tc_out', 'lo', 'egress'),
    coll.attachXdp('xdp_count', 'lo', XdpFlags.SKB_MODE),
  ];
  const infos = links.map((l) => linkInfo(l.fd));
  const tx = dgram.createSocket('udp4');
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => tx.send(Buffer.from('hello'), 9, '127.0.0.1', () => r()));
  tx.close();
  // Each datagram passes tc egress at once and ingress and XDP when the loopback's softirq runs: wait for
  // the counters (the deadline only bounds a hang).
  const read = () =>
    [0, 1, 2].map((k) =>
      Number(new DataView(coll.map('counts').lookup(new Uint8Array([k, 0, 0, 0]))!.buffer).getBigUint64(0, true)),
    );
  let counts = read();
  for (const end = Date.now() + 20_000; counts.some((n) => n < 5) && Date.now() < end; counts = read())
    await new Promise((r) => setTimeout(r, 10));
  const ids = infos.map((i) => i.id);
  const listedBefore = ids.every((id) => linkIds().includes(id));
  coll.close();
  const listedAfter = ids.filter((id) => linkIds().includes(id));
  process.stdout.write(JSON.stringify({ infos, counts, listedBefore, listedAfter }));
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err));
  process.exit(1);
});
