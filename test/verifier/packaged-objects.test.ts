/**
 * The verifier on objects from other projects, as Debian ships them: the BPF objects libbpf skeletons
 * embed in bcc's libbpf-tools (biolatency, execsnoop, tcpconnect... one object per tool) and in xdp-tools'
 * binaries, and the objects xdp-tools and libxdp install under /usr/lib/<arch>/bpf. None was written
 * against bpfkit. Each program is prepared as a load prepares it (CO-RE against the running kernel, externs
 * resolved), then judged by bpfkit and loaded into the kernel (root): bpfkit must never accept what the
 * kernel refuses, never refuse what it accepts, and refuse at the kernel's instruction.
 *
 * What the tools set at run time is set as they would: a map whose max_entries the object leaves 0 (the
 * tool sizes it by the CPU count or an option) gets 1. Programs the kernel cannot be asked about are
 * counted and left out: fentry/fexit under lockdown (EPERM), attach targets this kernel lacks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseObject } from '../../src/elf/object.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { runningKernel } from '../../src/loader/kernel-env.js';
import { judgeProgram } from '../../scripts/verifier-sweep-judge.js';
import { kernelHelperProbe } from '../../src/kernel/index.js';
import { needs } from '../support/env.js';
import { needsPackages, packagedObjects } from '../support/packaged.js';

/** The packages' objects, parsed; big-endian ones are parsed only (this kernel runs little-endian ones). */
function packageObjects(pkgs: readonly string[]): {
  objects: { path: string; spec: ObjectSpec }[];
  parsedOnly: number;
} {
  const objects: { path: string; spec: ObjectSpec }[] = [];
  let parsedOnly = 0;
  for (const o of packagedObjects(pkgs)) {
    const spec = parseObject(o.bytes, { path: o.path });
    if (o.bytes[5] === 2) parsedOnly++;
    else objects.push({ path: o.path, spec });
  }
  return { objects, parsedOnly };
}

interface Tally {
  judged: number;
  agree: number;
  notModelled: string[];
  /** Wrong verdicts and refusals at another instruction, one line each. */
  wrong: string[];
  /** Left out: the kernel could not be asked (EPERM, no such attach target) or the loader refused first. */
  leftOut: number;
  /** Big-endian objects, parsed but not judged. */
  parsedOnly: number;
}

function judgePackages(pkgs: readonly string[]): Tally {
  const env = runningKernel();
  // This kernel's own helper tables (a kernel built without a subsystem refuses some helpers upstream allows).
  const j = { env, kernelBtf: env.btf(), helperAvailable: kernelHelperProbe() };
  const { objects, parsedOnly } = packageObjects(pkgs);
  const tally: Tally = { judged: 0, agree: 0, notModelled: [], wrong: [], leftOut: 0, parsedOnly };
  for (const { path, spec } of objects) {
    // The tools size these maps at run time (libbpf's bpf_map__set_max_entries before the load).
    for (const m of spec.maps) if (m.maxEntries === 0) m.maxEntries = 1;
    for (const p of spec.programs) {
      const name = `${path.split('/').pop()}/${p.name}`;
      // Judged as the selftest sweep judges (scripts/verifier-sweep-judge.ts).
      const { kernel: k, bpfkit: v } = judgeProgram(spec, path, p.name, j);
      // Left out: the loader refused first, or the load failed before the kernel's verifier ran.
      if (!k || !v || k.verdict === 'not-judged') {
        tally.leftOut++;
        continue;
      }
      tally.judged++;
      const kernelSays = k.verdict === 'accepted' ? 'ok' : `refused at ${k.pc ?? '?'}: ${k.message}`;
      if (v.verdict === 'not-modelled') tally.notModelled.push(`${name}: ${v.message}`);
      else if (
        v.verdict === 'error' ||
        (v.verdict === 'ok') !== (k.verdict === 'accepted') ||
        (k.verdict === 'refused' && v.verdict === 'refused' && k.pc !== undefined && v.pc !== k.pc)
      )
        tally.wrong.push(
          `${name}: kernel ${kernelSays}; bpfkit ${v.verdict === 'ok' ? 'ok' : v.verdict === 'refused' ? `refused at ${v.pc}: ${v.message}` : `threw: ${v.message}`}`,
        );
      else tally.agree++;
    }
  }
  return tally;
}

for (const [pkgs, minJudged, maxNotModelled] of [
  [['libbpf-tools'], 150, 0],
  [['xdp-tools', 'libxdp1', 'xdp-tests'], 100, 0],
  // cilium/ebpf's test objects (clang 7, 9, 14; both byte orders) and Knot DNS's embedded XDP program.
  [['golang-github-cilium-ebpf-dev', 'libknot13'], 15, 0],
] as const) {
  const pkg = pkgs.join(', ');
  test(`${pkg}: bpfkit's verdicts are the kernel's on every program it can be asked about`, (t) => {
    if (!needs(t, { root: true, tools: ['dpkg-query'] })) return;
    if (!needsPackages(t, pkgs)) return;
    const r = judgePackages(pkgs);
    t.diagnostic(
      `${pkg}: ${r.judged} programs judged, ${r.agree} agree, ${r.notModelled.length} not modelled, ${r.leftOut} left out; ${r.parsedOnly} big-endian objects parsed`,
    );
    assert.deepEqual(r.wrong, [], 'no wrong verdict, no refusal at another instruction');
    assert.ok(r.judged >= minJudged, `at least ${minJudged} programs judged (${r.judged})`);
    assert.ok(r.notModelled.length <= maxNotModelled, `not modelled:\n${r.notModelled.join('\n')}`);
  });
}
