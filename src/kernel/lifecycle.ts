/**
 * Every kernel object bpfkit opens (program, map, link, BTF, packet socket) registers here, so nothing
 * outlives the process by accident: close() on the owner closes it, and at exit, SIGINT or SIGTERM the
 * registry closes whatever is still open (detaching links). Pinned objects survive on purpose: the pin
 * holds its own reference in bpffs.
 */
export interface Closable {
  close(): void;
}

const live = new Set<Closable>();
let hooked = false;

export function track<T extends Closable>(obj: T): T {
  live.add(obj);
  if (!hooked) installHooks();
  return obj;
}

export function untrack(obj: Closable): void {
  live.delete(obj);
}

/** How many kernel objects this process holds open through bpfkit (for tests and diagnostics). */
export function liveCount(): number {
  return live.size;
}

/** Close everything still open, newest first (links before the programs they hold). */
export function closeAll(): void {
  const all = [...live].reverse();
  live.clear();
  for (const obj of all) {
    try {
      obj.close();
    } catch {
      // Best effort at teardown: one failure must not keep the rest open.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  closeAll();
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  // With our listener gone, re-raise so the default action (or the application's handler) still runs.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHooks(): void {
  hooked = true;
  process.on('exit', closeAll);
  // Only take over the signals when nobody else handles them; an app with its own handler should call
  // Collection.close() itself (and the exit hook still runs when it exits).
  if (process.listenerCount('SIGINT') === 0) process.on('SIGINT', onSignal);
  if (process.listenerCount('SIGTERM') === 0) process.on('SIGTERM', onSignal);
}
