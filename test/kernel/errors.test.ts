import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { needs, repoPath } from '../support/env.js';
import { createMap } from '../../src/kernel/map-ops.js';
import { loadProgram } from '../../src/kernel/prog-load.js';
import { NotSupportedError, KernelError } from '../../src/kernel/errors.js';
import { openMapById, openPinnedMap } from '../../src/kernel/pinned.js';
import { InputError } from '../../src/util/errors.js';
import { encodeProgram } from '../../src/isa/codec.js';
import { exit, mov64Imm, prog } from './helpers/insns.js';
import { MapType } from '../../src/uapi/types.js';
import { cliScript } from '../support/cli-script.js';

test('a map type the kernel does not know is NotSupportedError naming it', (t) => {
  if (!needs(t, { root: true })) return;
  assert.throws(
    () => createMap({ name: 'x', type: 999, keySize: 4, valueSize: 4, maxEntries: 1 }),
    (err: unknown) => err instanceof NotSupportedError && /map type unknown\(999\)/.test(err.message),
  );
  // A known type with impossible attributes is a plain kernel error naming the map and its shape.
  assert.throws(
    () => createMap({ name: 'bad', type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 0 }),
    (err: unknown) =>
      err instanceof KernelError &&
      /creating map 'bad' \(hash, key 4, value 4, max_entries 0/.test(err.message) &&
      err.errno === 'EINVAL',
  );
});

test('a program type the kernel does not know is NotSupportedError', (t) => {
  if (!needs(t, { root: true })) return;
  assert.throws(
    () => loadProgram({ name: 'p', type: 250, insns: encodeProgram(prog(mov64Imm(0, 0), exit())), license: 'GPL' }),
    (err: unknown) => err instanceof NotSupportedError && /program type unknown\(250\)/.test(err.message),
  );
});

test('opening a pin or an id that does not exist is an InputError (exit 2) naming it', (t) => {
  if (!needs(t, { root: true })) return;
  assert.throws(
    () => openPinnedMap('/sys/fs/bpf/bpfkit-no-such-pin'),
    (err: unknown) =>
      err instanceof InputError &&
      err.exitCode === 2 &&
      /nothing is pinned at \/sys\/fs\/bpf\/bpfkit-no-such-pin/.test(err.message),
  );
  // (ids count up from 1: the largest one is never handed out on a test machine)
  assert.throws(
    () => openMapById(0x7fffffff),
    (err: unknown) => err instanceof InputError && err.message === `no map with id ${0x7fffffff}`,
  );
});

test('an interface that does not exist is named in one line, exit 2, by every command that takes one', (t) => {
  if (!needs(t, { root: true })) return;
  for (const args of [
    ['urls', '-i', 'bpfkit-noif0'],
    ['capture', '-i', 'bpfkit-noif0'],
  ]) {
    const r = spawnSync(process.execPath, [repoPath('bin/bpfkit.js'), ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
    assert.equal(r.stderr, `bpfkit ${args[0]}: no network interface named 'bpfkit-noif0'\n`);
  }
});

test('without privileges the CLI says what is needed and exits 3 (no stack trace)', (t) => {
  if (!needs(t, { root: true, tools: ['setpriv'] })) return;
  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const script = cliScript(main);
  const drop = ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'];
  // The unprivileged user must be able to read the build (not so when the checkout is under /root).
  if (spawnSync('setpriv', [...drop, 'test', '-r', main]).status !== 0) {
    t.skip(`user nobody cannot read ${main}`);
    return;
  }
  for (const args of [
    ['prog', 'show'],
    ['prog', 'load', repoPath('test', 'fixtures', 'kernel', 'hooks.o'), '/sys/fs/bpf/bpfkit-nopriv'],
  ]) {
    const r = spawnSync('setpriv', [...drop, process.execPath, '-e', script, '--', ...args], {
      encoding: 'utf8',
      cwd: '/',
    });
    assert.equal(r.status, 3, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /needs root or CAP_BPF\/CAP_NET_ADMIN/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  }
});

test('root is never told it needs root: a refusal names what else it can be', async (t) => {
  if (!needs(t, { root: true })) return;
  const { PermissionError } = await import('../../src/kernel/errors.js');
  const e = new PermissionError('loading program p', 'EPERM');
  assert.doesNotMatch(e.message, /needs root/);
  assert.match(e.message, /^loading program p: EPERM: refused although running as root: /);
  assert.equal(e.exitCode, 3);
});
