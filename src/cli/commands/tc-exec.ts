/**
 * `bpfkit tc exec bpf imp|import UDS_FILE [run CMD ARGS… | -- CMD ARGS…]`: iproute2's `tc exec bpf imp`.
 * Waits at the socket file for a `filter add … export UDS_FILE` (from bpfkit or iproute2), then runs the
 * command (default /bin/sh) with the received map fds open from fd 3 on and BPF_NUM_MAPS / BPF_MAP<id>
 * naming them, as tc-bpf(8) describes. Exits with the command's status.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { BpfkitError, UsageError } from '../../util/errors.js';

const usage = 'usage: bpfkit tc exec bpf imp|import UDS_FILE [run CMD [ARGS...] | -- CMD [ARGS...]]';
/** Where the received fds start in the command: right after stdin, stdout and stderr. */
const FIRST_FD = 3;

/** Run `tc exec …` (the words after `exec`). */
export async function runTcExec(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  if (kind !== 'bpf') throw new UsageError(`exec: only 'bpf' is supported\n${usage}`);
  let socketPath: string | undefined;
  let command = ['/bin/sh'];
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (w === 'imp' || w === 'import') {
      socketPath = rest[++i];
      if (!socketPath) throw new UsageError(`'${w}' needs a socket path\n${usage}`);
    } else if (w === 'run' || w === '--') {
      command = rest.slice(i + 1);
      if (command.length === 0) throw new UsageError(`'${w}' needs a command\n${usage}`);
      break;
    } else throw new UsageError(`exec bpf: unknown word '${w}'\n${usage}`);
  }
  if (!socketPath) throw new UsageError(`exec bpf: no import parameter (imp UDS_FILE)\n${usage}`);

  const { receiveMaps } = await import('../../tc/index.js');
  const waiting = new AbortController();
  const stop = (sig: NodeJS.Signals) => () =>
    waiting.abort(new BpfkitError(`interrupted (${sig}) while waiting at ${socketPath}`, 128 + constants.signals[sig]));
  const onInt = stop('SIGINT');
  const onTerm = stop('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  let received;
  try {
    received = await receiveMaps(socketPath, { signal: waiting.signal });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }

  // The command owns the maps now; bpfkit only waits for it. A ^C reaches the command (same process group);
  // bpfkit stays to report its status.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  try {
    const child = spawn(command[0]!, command.slice(1), {
      stdio: ['inherit', 'inherit', 'inherit', ...received.maps.map((m) => m.fd)],
      env: { ...process.env, ...received.env(FIRST_FD) },
    });
    received.close(); // the child has its own copies
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(new UsageError(`exec bpf: cannot run '${command[0]}': ${err.code ?? err.message}`)),
      );
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  } finally {
    received.close();
    process.off('SIGINT', ignore);
  }
}
