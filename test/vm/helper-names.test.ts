/**
 * Every helper id of the kernel's uapi has a name, so no refusal ever says "helper 126": the VM's table
 * against the installed <linux/bpf.h> (when there is one), and every implemented helper under its name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { HELPERS, KERNEL_HELPER_NAMES, helperName } from '../../src/vm/helpers/index.js';
import { loadVmCollection } from '../../src/vm/collection.js';
import { assemble } from '../../src/asm/index.js';
import { ProgType } from '../../src/uapi/types.js';

test('the name table covers every helper of Linux 6.18 and agrees with the installed header', () => {
  assert.equal(KERNEL_HELPER_NAMES.length, 212);
  assert.equal(KERNEL_HELPER_NAMES[211], 'cgrp_storage_delete');
  for (const h of HELPERS) assert.equal(KERNEL_HELPER_NAMES[h.id], h.name, `helper ${h.id}`);
  const header = '/usr/include/linux/bpf.h';
  if (!existsSync(header)) return;
  const names = [...readFileSync(header, 'utf8').matchAll(/^\s*FN\((\w+)/gm)].map((m) => m[1]);
  assert.ok(names.length > 150);
  assert.deepEqual(KERNEL_HELPER_NAMES.slice(0, names.length), names);
});

test('a helper the VM lacks is refused by name', () => {
  assert.equal(helperName(126), 'bpf_seq_printf (126)');
  assert.equal(helperName(9999), 'helper 9999');
  const insns = assemble('call 126\nexit');
  const spec = {
    programs: [{ name: 'p', section: 'xdp', type: ProgType.XDP, insns, mapRefs: [], license: 'GPL' }],
    maps: [],
    endian: 'little',
  };
  assert.throws(
    () => loadVmCollection(spec as never, {}),
    /program 'p' calls bpf_seq_printf \(126\), which the VM does not implement/,
  );
});

test('the current task is what vm.host.task holds: probe reads through get_current_task read its bytes', () => {
  const insns = assemble(
    [
      'call 35',
      'r6 = r0',
      'r1 = r10',
      'r1 += -8',
      'r2 = 4',
      'r3 = r6',
      'r3 += 16',
      'call 113',
      'r7 = r0',
      'r0 = *(u32 *)(r10 - 8)',
      'r7 <<= 32',
      'r0 |= r7',
      'exit',
    ].join('\n'),
  );
  const spec = {
    programs: [{ name: 'p', section: 'kprobe/x', type: ProgType.KPROBE, insns, mapRefs: [], license: 'GPL' }],
    maps: [],
    endian: 'little',
  };
  const task = new Uint8Array(64);
  new DataView(task.buffer).setUint32(16, 4242, true);
  const withTask = loadVmCollection(spec as never, { cpus: 1, host: { task } });
  assert.equal(withTask.program('p').run({ data: new Uint8Array(8) }).retval, 4242);
  // without a task image: NULL, and the probe read says -ERANGE (r7's low half lands in r0's upper half)
  const none = loadVmCollection(spec as never, { cpus: 1 });
  const r = none.program('p').run({ data: new Uint8Array(8) });
  assert.equal(r.retval, 0);
});
