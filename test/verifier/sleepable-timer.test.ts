/**
 * Timers in sleepable programs (src/verifier/timer.ts, sleepable-calls.ts): bpfkit's verdict on each
 * program of sleepable-timer-cases.ts is held to the expectation there, and as root the running kernel
 * judges every program too: same verdict, same instruction, same last line.
 */
import { test } from 'node:test';
import { judgeCPrograms } from './c-programs.js';
import { SLEEP_TIMER_CASES } from './sleepable-timer-cases.js';

test('sleepable timers: bpfkit says what each case expects, and so does the kernel (compiled C; the kernel as root)', (t) =>
  judgeCPrograms(t, SLEEP_TIMER_CASES));
