/**
 * Writing a command's output file (`-o OUT`): a path that cannot be written (a directory, a missing
 * directory, no permission) is one line naming it, exit 3, as `pcap filter` reports its OUT — not the
 * file system's error with a stack trace.
 */
import { writeFileSync } from 'node:fs';
import { EnvironmentError } from '../util/errors.js';

/** Write `data` to `path`, or throw EnvironmentError naming the path and the errno. */
export function writeOutputFile(path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new EnvironmentError(`cannot write ${path}: ${err.code ?? err.message}`);
  }
}
