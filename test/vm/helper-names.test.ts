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
