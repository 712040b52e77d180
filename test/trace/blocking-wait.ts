/**
 * A wait that blocks the thread: for tests that must keep an async reader from running between the
 * moment the kernel has written events and the moment the test acts (an abort), so that the reader has
 * provably not read them yet. The condition is polled (a map counter), with a deadline that only bounds
 * a hang, as waitUntil does.
 */
const cell = new Int32Array(new SharedArrayBuffer(4));

/** Poll `check` without yielding to the event loop until it holds; fails after `limitMs` naming `what`. */
export function pollBlocking(what: string, check: () => boolean, limitMs = 30_000): void {
  const end = Date.now() + limitMs;
  for (let pause = 1; !check(); pause = Math.min(pause * 2, 20)) {
    if (Date.now() > end) throw new Error(`gave up after ${limitMs / 1000} s waiting for ${what}`);
    Atomics.wait(cell, 0, 0, pause);
  }
}
