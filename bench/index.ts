/**
 * `npm run bench`: runs each benchmark module in turn (or those named on the command line:
 * `npm run bench -- interpreter urls`). Each module exports `bench(): Promise<void>` and prints its own
 * figures as ratios against peers measured in the same run, because the machines are noisy.
 */
import '../src/loader/node-host.js'; // the VM's host facts on Node (CPU count, V8 flags for large programs)

const suites = [
  'interpreter',
  'programs',
  'compile',
  'kernel',
  'packet',
  'urls',
  'hostile',
  'cbpf',
  'tc',
  'tracing',
  'pcap-filter',
  'verifier',
];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const chosen = wanted.length > 0 ? suites.filter((s) => wanted.includes(s)) : suites;
  for (const name of chosen) {
    let mod: { bench?: () => Promise<void> };
    try {
      mod = await import(`./${name}.js`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') continue;
      throw err;
    }
    if (typeof mod.bench !== 'function') continue;
    process.stdout.write(`\n== ${name} ==\n`);
    const started = Date.now();
    try {
      await mod.bench();
    } catch (err) {
      process.stdout.write(`bench ${name} failed: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
    process.stdout.write(`(${name}: ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  }
}

await main();
