/**
 * A lock shared by every test process on the machine, for the few names no test can make its own: a map
 * that an object pins by name lands at /sys/fs/bpf/<map name> whoever loads it, so two copies of the suite
 * running at once (two clones) must take turns. The lock is a directory (mkdir is atomic) holding the
 * owner's pid; a lock whose owner died is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { waitUntil } from './live-wait.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryTake(dir: string): boolean {
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    let owner = NaN;
    try {
      owner = Number(readFileSync(`${dir}/pid`, 'utf8'));
    } catch {
      return false; // being created right now: its owner writes the pid next
    }
    if (alive(owner)) return false;
    rmSync(dir, { recursive: true, force: true }); // its owner died holding it
    return false;
  }
  writeFileSync(`${dir}/pid`, String(process.pid));
  return true;
}

/** Run `fn` holding the machine-wide lock `name` (a directory in /run/lock). */
export async function withMachineLock<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const dir = `/run/lock/bpfkit-test-${name}.lock`;
  await waitUntil(`the machine-wide lock ${dir}`, () => tryTake(dir), 120_000);
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
