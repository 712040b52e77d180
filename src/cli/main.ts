/**
 * The `bpfkit` command: dispatches to one module per subcommand (src/cli/commands/*.ts). Each module
 * exports `run(argv): Promise<number>` and a one-line `summary`. Errors become one line on stderr and an
 * exit status (see src/util/errors.ts) — never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { BpfkitError, describeError, exitCodeOf } from '../util/errors.js';
import { commands } from './commands/index.js';
import '../loader/node-host.js'; // the VM's host facts on Node (src/vm itself uses no Node API)

/** The version in package.json, which sits three levels above dist/src/cli/ in the repository and in an install. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: bpfkit <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'bpfkit <command> --help' for a command's options, 'bpfkit version' for the version.\n`;
}

/**
 * A reader that stops early (`bpfkit btf dump | head`) closes the pipe: that is the end of the job, as for
 * any Unix filter, not an error worth a stack trace.
 */
function endQuietlyOnClosedPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    process.stderr.write(`bpfkit: cannot write to standard output: ${err.message}\n`);
    process.exit(1);
  });
}

/** Run the command line `argv` (without node and the script) and return the exit status. */
export async function main(argv: string[]): Promise<number> {
  endQuietlyOnClosedPipe();
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`bpfkit ${packageVersion()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`bpfkit: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  try {
    const mod = await command.load();
    return await mod.run(rest);
  } catch (err) {
    process.stderr.write(`bpfkit ${name}: ${describeError(err)}\n`);
    if (!(err instanceof BpfkitError) && !process.env.BPFKIT_DEBUG) {
      process.stderr.write('bpfkit: this is a bug in bpfkit; rerun with BPFKIT_DEBUG=1 for details\n');
    }
    return exitCodeOf(err);
  }
}
