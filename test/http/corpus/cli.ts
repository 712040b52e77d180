/**
 * `node tools/corpus/generate.js OUTDIR [SCENARIOS] [HOSTS] [--rewrites] [--offload] [--name FILE.pcap]`
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCorpus, readTruth } from './generate.js';
import { writeVariants, writeMidConnection } from './variants.js';
import { describeError } from '../../../src/util/errors.js';

export async function runGenerator(argv: string[]): Promise<number> {
  const flags = new Set(argv.filter((a) => a.startsWith('--') && !a.startsWith('--name')));
  const nameArg = argv.find((a) => a.startsWith('--name='));
  const pos = argv.filter((a) => !a.startsWith('--'));
  const [dir, scenarios = 'basic', hosts = '127.0.0.1,::1'] = pos;
  if (!dir) {
    process.stderr.write(
      'usage: generate.js OUTDIR [SCENARIOS=basic] [HOSTS=127.0.0.1,::1] [--rewrites] [--offload] [--name=F.pcap]\n',
    );
    return 2;
  }
  try {
    const c = await generateCorpus({
      dir,
      scenarios: scenarios.split(','),
      hosts: hosts.split(','),
      offload: flags.has('--offload'),
      name: nameArg?.slice('--name='.length),
    });
    process.stdout.write(`${c.pcap}: ${readTruth(c.truth).length} requests in ${c.truth}\n`);
    if (flags.has('--rewrites')) {
      for (const f of writeVariants(c.pcap, c.truth, dir)) process.stdout.write(`${f}\n`);
      if (scenarios.includes('midconn')) {
        const f = writeMidConnection(c.pcap, dir, readTruth(c.truth), (kept) =>
          writeFileSync(join(dir, 'mid-connection.truth.jsonl'), kept.map((k) => JSON.stringify(k)).join('\n') + '\n'),
        );
        process.stdout.write(`${f}\n`);
      }
    }
    return 0;
  } catch (err) {
    process.stderr.write(`corpus: ${describeError(err)}\n`);
    return 1;
  }
}
