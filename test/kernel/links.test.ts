import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { needs } from '../support/env.js';
import { createNamespace, deleteNamespace, runInNamespace } from './helpers/netns.js';
import { AttachType } from '../../src/uapi/types.js';
import { LinkType } from '../../src/kernel/objects.js';

const namespaces: string[] = [];
after(() => namespaces.forEach(deleteNamespace));

test('tcx ingress/egress and XDP links on lo count traffic and detach on close()', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'bpftool'] })) return;
  const ns = createNamespace('links');
  namespaces.push(ns);
  const out = JSON.parse(
    await runInNamespace(ns, fileURLToPath(new URL('./helpers/link-child.js', import.meta.url)), []),
  ) as {
    infos: { type: number; ifindex: number; attachType?: number }[];
    counts: number[];
    listedBefore: boolean;
    listedAfter: number[];
  };
  assert.deepEqual(
    out.infos.map((i) => i.type),
    [LinkType.TCX, LinkType.TCX, LinkType.XDP],
  );
  assert.deepEqual(
    out.infos.map((i) => i.ifindex),
    [1, 1, 1],
  );
  assert.equal(out.infos[0]!.attachType, AttachType.TCX_INGRESS);
  assert.equal(out.infos[1]!.attachType, AttachType.TCX_EGRESS);
  // Each datagram leaves lo (egress) and comes back in (ingress, XDP); ICMP unreachable replies add more.
  assert.ok(out.counts[0]! >= 5 && out.counts[1]! >= 5 && out.counts[2]! >= 5, `counts ${out.counts}`);
  assert.equal(out.listedBefore, true);
  assert.deepEqual(out.listedAfter, []);
});
