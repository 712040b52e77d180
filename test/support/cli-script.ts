/**
 * The `node -e` script the tests run the CLI through: `main(argv)`, then exit with its status once
 * stdout and stderr have been flushed. A bare `process.exit(status)` right after `main` drops what a
 * pipe has not taken yet: on a busy machine the parent had not read the last lines of a 75 KB
 * `run --pcap` output, and a test saw them missing.
 */
export function cliScript(mainJs: string): string {
  const exit = `process.stdout.write('', () => process.stderr.write('', () => process.exit(c)))`;
  return `import(${JSON.stringify(mainJs)}).then((m) => m.main(process.argv.slice(1))).then((c) => ${exit})`;
}
