/**
 * Node's side of the VM's host environment (src/vm/host-environment.ts): src/vm uses no Node API, so that
 * it also runs in a browser, and this module — imported for its effect by the loader, the CLI and the
 * benchmarks — tells it what only Node can: the CPU count (per-CPU maps get one value per CPU, like the
 * kernel's possible CPUs), the process's ids and name for the current-task helpers, and V8's flag setter
 * for the JIT engine's large programs.
 */
import { cpus } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { configureVmHost } from '../vm/host-environment.js';

configureVmHost({
  cpus: Math.max(1, cpus().length),
  pid: process.pid,
  uid: typeof process.getuid === 'function' ? process.getuid() : 0,
  gid: typeof process.getgid === 'function' ? process.getgid() : 0,
  comm: process.title.split('/').pop() ?? 'node',
  setEngineFlag: setFlagsFromString,
});
