/**
 * The messages between `bpfkit urls`' main thread and its filter thread (filter-thread.ts), in a module of
 * their own so the main thread can name them without loading the filter thread's code.
 */
import type { ObjectSpec } from '../../elf/spec.js';

/** Batches in flight: the one being filtered, the one the main thread is parsing, and one queued between. */
export const WINDOW = 3;
/** Per kept frame in `meta`: offset in `frames`, length, link type, timestamp (seconds). */
export const META_FIELDS = 4;

export interface FilterThreadInput {
  path: string;
}

export type ToMain =
  /**
   * frames: the chunk holding the kept frames; seen: frames read since the last batch (cut: of them, those
   * the snapshot length cut short); bytes: file offset reached
   */
  | {
      type: 'batch';
      seq: number;
      frames: ArrayBuffer;
      meta: ArrayBuffer;
      count: number;
      seen: number;
      cut: number;
      bytes: number;
    }
  | { type: 'end'; seen: number; cut: number }
  | { type: 'error'; name: string; message: string; exitCode: number };

export type ToFilter =
  /** the parsed filter object (the main thread parses it while this thread boots) */
  | { type: 'spec'; spec: ObjectSpec }
  | { type: 'ack'; seq: number; frames: ArrayBuffer; meta: ArrayBuffer; forget: Uint8Array }
  | { type: 'stop' };
